// A function compiled per shape of event — its kind and its keys, in order — the first time the
// shape is seen: the recorder's record encoders (event-encoder.ts) and the writer's line functions
// (line-compiler.ts). The loop reports a handful of shapes, so a handful get compiled. (A generic
// walk over the fields — for-in and a key cache — cost ~40 % more per line.)
import type { TraceEvent } from '../trace/events.js';

/** compile(kind, keys, sample): keys are Object.keys of such an event, kind included; sample is
 *  the first event of the shape. */
export type ShapeCompile<F> = (kind: string, keys: string[], sample: TraceEvent) => F;

interface Compiled<F> {
  keys: string[];
  value: F;
}

/** A key that can be written as `e.key` in generated code. */
export const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export class ShapeTable<F> {
  private readonly byKind = new Map<string, Compiled<F>[]>();
  private readonly last = new Map<string, Compiled<F>>();

  constructor(private readonly compile: ShapeCompile<F>) {}

  /** The function of event's shape, compiled now if it is the first of its shape. */
  get(event: TraceEvent): F {
    // Most kinds have one shape: check the last one of the kind first, without allocating.
    const last = this.last.get(event.kind);
    if (last !== undefined && hasKeys(event, last.keys)) return last.value;
    const compiled = this.find(event);
    this.last.set(event.kind, compiled);
    return compiled.value;
  }

  private find(event: TraceEvent): Compiled<F> {
    const keys = Object.keys(event);
    let shapes = this.byKind.get(event.kind);
    if (shapes === undefined) {
      shapes = [];
      this.byKind.set(event.kind, shapes);
    }
    for (let i = 0; i < shapes.length; i++) {
      const shape = shapes[i]!;
      if (sameKeys(shape.keys, keys)) return shape;
    }
    const compiled = { keys, value: this.compile(event.kind, keys, event) };
    shapes.push(compiled);
    return compiled;
  }
}

/** Whether object's own keys are keys, in order (for-in: no array made). */
function hasKeys(object: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in object) {
    if (key !== keys[i++]) return false;
  }
  return i === keys.length;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Several sinks as one: `--trace` and `--record` together see every event, in the same order.
import type { TraceEvent, TraceSink } from './events.js';

export class TeeSink implements TraceSink {
  constructor(private readonly sinks: readonly TraceSink[]) {}

  event(event: TraceEvent): void {
    for (const sink of this.sinks) sink.event(event);
  }
}

/** The sinks given as one: null when there are none, the sink itself when there is one. */
export function combineSinks(...sinks: (TraceSink | null)[]): TraceSink | null {
  const present = sinks.filter((sink): sink is TraceSink => sink !== null);
  if (present.length === 0) return null;
  return present.length === 1 ? present[0]! : new TeeSink(present);
}

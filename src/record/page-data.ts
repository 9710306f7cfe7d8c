// The timeline page's data: a recording's rounds and events in a compact form the page decodes
// into typed arrays. Events and rounds are streams of variable-length integers (an echo round
// trip's recv and send take ~7 bytes each), gzipped (the browser's DecompressionStream undoes
// it) and in base64; strings, objects and fractions are interned once and referred to by number;
// times are deltas in tenths of a µs. Chromium scans the HTML of an embedded page at ~100-200 ns
// per byte here, so bytes are load time: 100,000 rounds as decimal JSON arrays made 8 MB, as
// plain varints 5.6 MB, gzipped well under 1 MB. Kinds are not special: an event is its kind
// and its fields.
import { gzipSync } from 'node:zlib';
import type { Timeline } from './read-recording.js';

/** Format version: the page refuses data it does not know. */
export const PAGE_DATA_VERSION = 1;

/** Times are stored in units of 0.1 µs. */
const TICKS_PER_US = 10;

export interface PageData {
  v: number;
  /** The recording's command, engine and version (null: not a selectchat recording). */
  info: { command: string; engine: string; version: string } | null;
  /** The file it came from (its name only). */
  file: string;
  /** The first time in the file, µs on its clock; every other time is relative to it. */
  t0: number;
  /** The last time, relative (µs). */
  span: number;
  /** [fd, name] of every named track; fd -1 is the loop's. */
  tracks: [number, string][];
  /** [kind, ...fields] per event shape. */
  shapes: string[][];
  /** Interned values (strings, arrays, objects): a field holding "n" (a string) means objects[n]. */
  objects: unknown[];
  /** Base64 of gzipped varints, per event: time since the previous event (0.1 µs), shape, then per
   *  field 2n for a whole number n >= 0, 4n+1 for -n (n > 0), 2i+3... see tagged(). */
  events: string;
  eventCount: number;
  /** How many varints events holds. */
  eventValues: number;
  /** Base64 of gzipped varints, per round: start since the previous round's start; woke, work end,
   *  yield to Node and end, each +1 since its start (0: not reached); its first event since the
   *  previous round's last; its event count. */
  rounds: string;
  roundCount: number;
  /** Per ready fd at a wake-up: round, fd, index in readyNames. */
  ready: number[];
  readyNames: string[];
  /** Counter name → flat [time (0.1 µs, relative), value, ...]. */
  counters: Record<string, number[]>;
}

/** The page's data for a timeline read from file. */
export function pageData(timeline: Timeline, file: string): PageData {
  const t0 = timeline.begin;
  const ticks = (ts: number): number => Math.round((ts - t0) * TICKS_PER_US);
  const shapes: string[][] = [];
  const shapeIndex = new Map<string, number>();
  const objects: unknown[] = [];
  const objectIndex = new Map<string, number>();
  const intern = (value: unknown): string => {
    const json = JSON.stringify(value) ?? 'null';
    let index = objectIndex.get(json);
    if (index === undefined) {
      index = objects.push(value ?? null) - 1;
      objectIndex.set(json, index);
    }
    return String(index);
  };

  const events = new VarintWriter();
  let last = 0;
  for (const { ts, event } of timeline.events) {
    const fields = Object.keys(event).filter((key) => key !== 'kind');
    const signature = `${event.kind}\0${fields.join('\0')}`;
    let shape = shapeIndex.get(signature);
    if (shape === undefined) {
      shape = shapes.push([event.kind, ...fields]) - 1;
      shapeIndex.set(signature, shape);
    }
    const t = ticks(ts);
    events.put(Math.max(0, t - last));
    events.put(shape);
    last = t;
    for (const key of fields) {
      const value = (event as unknown as Record<string, unknown>)[key];
      events.put(tagged(value, intern));
    }
  }

  const rounds = new VarintWriter();
  let previousStart = 0;
  let previousEnd = 0;
  for (const round of timeline.rounds) {
    const start = ticks(round.start);
    const since = (ts: number): number => (ts < 0 ? 0 : Math.max(0, ticks(ts) - start) + 1);
    rounds.put(Math.max(0, start - previousStart));
    rounds.put(since(round.woke));
    rounds.put(since(round.workEnd));
    rounds.put(since(round.nodeStart));
    rounds.put(since(round.end));
    rounds.put(round.firstEvent - previousEnd);
    rounds.put(round.eventCount);
    previousStart = start;
    previousEnd = round.firstEvent + round.eventCount;
  }

  const readyNames: string[] = [];
  const ready: number[] = [];
  for (const mark of timeline.ready) {
    let name = readyNames.indexOf(mark.events);
    if (name < 0) name = readyNames.push(mark.events) - 1;
    ready.push(mark.round, mark.fd, name);
  }

  const counters: Record<string, number[]> = {};
  for (const [name, samples] of timeline.counters) counters[name] = samples.flatMap(([ts, value]) => [ticks(ts), value]);

  return {
    v: PAGE_DATA_VERSION,
    info: timeline.info,
    file,
    t0,
    span: timeline.finish - t0,
    tracks: [...timeline.tracks],
    shapes,
    objects,
    events: events.base64(),
    eventCount: timeline.events.length,
    eventValues: events.count,
    rounds: rounds.base64(),
    roundCount: timeline.rounds.length,
    ready,
    readyNames,
    counters,
  };
}

/** A field's value as one non-negative integer: 2n for a whole number n >= 0, 4n - 1 for -n
 *  (n >= 1), 4i + 1 for anything else (interned as objects[i]). The page's untag() inverts it. */
function tagged(value: unknown, intern: (value: unknown) => string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) < 2 ** 50) {
    return value >= 0 ? 2 * value : 4 * -value - 1;
  }
  return 4 * Number(intern(value)) + 1;
}

/** Unsigned LEB128 varints (7 bits a byte), for numbers up to 2^53. */
class VarintWriter {
  private bytes = new Uint8Array(1 << 16);
  private length = 0;
  /** Numbers put. */
  count = 0;

  put(n: number): void {
    this.count++;
    if (this.length + 8 > this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    while (n >= 128) {
      this.bytes[this.length++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.bytes[this.length++] = n;
  }

  base64(): string {
    return gzipSync(Buffer.from(this.bytes.buffer, 0, this.length)).toString('base64');
  }
}

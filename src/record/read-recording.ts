// Reading a recording back: the trace file's lines, then the loop's rounds and the TraceEvents
// in them, as `selectchat timeline` and the tests need them. Any kind of event comes back as it
// was reported ({ kind: cat, ...args }), so kinds added later need nothing here.
import type { TraceEvent } from '../trace/events.js';
import {
  LOOP_TID, RECORDING_METADATA, SLICES, STRUCTURE_CAT, tidFd,
  type RecordingInfo, type TraceFileEvent,
} from './trace-format.js';

/** The lines of a trace file: the JSON Array Format (with or without its final "]", as a killed
 *  recorder leaves it, even cut inside a line) or the JSON Object Format ({ traceEvents }). */
export function parseTraceText(text: string): TraceFileEvent[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const object = JSON.parse(trimmed) as { traceEvents?: TraceFileEvent[] };
    if (!Array.isArray(object.traceEvents)) throw new Error('not a trace file: no traceEvents array');
    return object.traceEvents;
  }
  if (!trimmed.startsWith('[')) throw new Error('not a trace file: it starts with neither [ nor {');
  try {
    return JSON.parse(trimmed) as TraceFileEvent[];
  } catch {
    // Unfinished: drop a cut last line, then close the array.
    let body = trimmed;
    for (let tries = 0; tries < 3; tries++) {
      body = body.replace(/[\s,]+$/, '');
      try {
        return JSON.parse(`${body}]`) as TraceFileEvent[];
      } catch {
        const cut = body.lastIndexOf('\n');
        if (cut <= 0) break;
        body = body.slice(0, cut);
      }
    }
    throw new Error('not a trace file: its JSON does not parse, even as an unfinished array');
  }
}

/** The fds a wake-up reports ready and for what ("read", "write", or poll/epoll event names),
 *  whatever the backend: select's read/write sets, or poll's and epoll's [fd, ..., bits] lists. */
export function readyFds(result: unknown): [number, string][] {
  const out: [number, string][] = [];
  const r = result as { read?: unknown; write?: unknown; ready?: unknown };
  if (Array.isArray(r.read)) for (const fd of r.read) out.push([fd as number, 'read']);
  if (Array.isArray(r.write)) for (const fd of r.write) out.push([fd as number, 'write']);
  if (Array.isArray(r.ready)) {
    for (const entry of r.ready) {
      if (!Array.isArray(entry) || entry.length < 2) continue;
      out.push([entry[0] as number, bitNames(entry[entry.length - 1] as number)]);
    }
  }
  return out;
}

/** poll/epoll event bits as names (IN|OUT), as words.ts prints them. */
function bitNames(bits: number): string {
  const names = ['IN', 'OUT', 'PRI', 'HUP', 'ERR', 'NVAL'].filter((_, i) => bits & (1 << i));
  return names.length > 0 ? names.join('|') : '0';
}

/** One round of the loop, times in µs on the file's clock; -1 for a part it never reached. */
export interface Round {
  /** 1, 2, ... as the recorder numbered them. */
  number: number;
  /** The blocking call starts. */
  start: number;
  /** It returned (woke or EINTR). */
  woke: number;
  /** Work ended (round-end, or the yield, or the next round). */
  workEnd: number;
  /** The loop yielded to Node. */
  nodeStart: number;
  /** The next round starts (or the recording ended). */
  end: number;
  /** Index of its first event in Timeline.events, and how many it has. */
  firstEvent: number;
  eventCount: number;
}

/** A TraceEvent with its time and round (-1: outside any round). */
export interface RecordedEvent {
  ts: number;
  round: number;
  event: TraceEvent;
}

/** An fd the kernel said was ready when a round woke up. */
export interface ReadyMark {
  round: number;
  ts: number;
  fd: number;
  /** "read", "write", or poll/epoll event names (IN|OUT). */
  events: string;
}

export interface Timeline {
  info: RecordingInfo | null;
  /** Names of the tracks: the loop's (-1) and each fd's. */
  tracks: Map<number, string>;
  rounds: Round[];
  events: RecordedEvent[];
  ready: ReadyMark[];
  /** Counter name → [ts, value] samples (from round-end events). */
  counters: Map<string, [number, number][]>;
  /** First and last time in the file (µs). */
  begin: number;
  finish: number;
}

/** The loop's rounds and events in a recording's lines (only the recorder's pid is read, so a
 *  file merged with Node's own trace works too). */
export function readTimeline(lines: readonly TraceFileEvent[]): Timeline {
  const meta = lines.find((line) => line.ph === 'M' && line.name === RECORDING_METADATA);
  const pid = meta?.pid ?? lines.find((line) => line.tid >= LOOP_TID)?.pid;
  const timeline: Timeline = {
    info: meta ? (meta.args as unknown as RecordingInfo) : null,
    tracks: new Map(),
    rounds: [],
    events: [],
    ready: [],
    counters: new Map(),
    begin: Infinity,
    finish: -Infinity,
  };
  let round: Round | null = null;
  const close = (ts: number): void => {
    if (round === null) return;
    if (round.woke >= 0 && round.workEnd < 0) round.workEnd = ts;
    round.end = ts;
    round.eventCount = timeline.events.length - round.firstEvent;
    round = null;
  };
  for (const line of lines) {
    if (line.pid !== pid || line.tid < LOOP_TID) continue;
    const ts = line.ts;
    const args = line.args ?? {};
    if (line.ph === 'M') {
      if (line.name === 'thread_name') timeline.tracks.set(tidFd(line.tid), String(args.name));
      continue;
    }
    if (ts < timeline.begin) timeline.begin = ts;
    if (ts > timeline.finish) timeline.finish = ts;
    if (line.cat === STRUCTURE_CAT) {
      if (line.ph === 'B' && line.name === SLICES.round) {
        close(ts);
        round = {
          number: Number(args.round ?? timeline.rounds.length + 1), start: ts, woke: -1, workEnd: -1, nodeStart: -1, end: -1,
          firstEvent: timeline.events.length, eventCount: 0,
        };
        timeline.rounds.push(round);
      } else if (line.ph === 'E' && line.name === SLICES.round) {
        close(ts);
      } else if (line.ph === 'E' && line.name === SLICES.work && round !== null) {
        round.workEnd = ts;
      } else if (line.ph === 'C') {
        const name = line.name ?? 'counter';
        const series = timeline.counters.get(name) ?? [];
        series.push([ts, Number(Object.values(args)[0])]);
        timeline.counters.set(name, series);
      }
      continue;
    }
    if (line.cat === undefined || line.cat === '__metadata') continue;
    // A TraceEvent: its kind is the category, its fields the args.
    const event = { kind: line.cat, ...args } as unknown as TraceEvent;
    if (round !== null) {
      if (line.ph === 'E' && round.woke < 0) round.woke = ts;
      if (event.kind === 'woke') {
        for (const [fd, events] of readyFds((event as { result?: unknown }).result ?? {})) {
          timeline.ready.push({ round: timeline.rounds.length - 1, ts, fd, events });
        }
      }
      if (line.ph === 'B' && event.kind === 'yield') {
        if (round.woke >= 0 && round.workEnd < 0) round.workEnd = ts;
        round.nodeStart = ts;
      }
    }
    timeline.events.push({ ts, round: round ? timeline.rounds.length - 1 : -1, event });
  }
  close(timeline.finish);
  if (timeline.begin === Infinity) timeline.begin = timeline.finish = 0;
  return timeline;
}

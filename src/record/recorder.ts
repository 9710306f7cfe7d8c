// `--record FILE`: every TraceEvent written to FILE as it happens, in the Chrome Trace Event
// Format (JSON Array Format), so Perfetto, chrome://tracing and speedscope open it as it is and
// `selectchat timeline` turns it into a page. See trace-format.ts for the shape of the file.
//
// Cheap on purpose (the loop runs it for every action, at full load two lines per echoed
// message): each line is one concatenation compiled for its event's shape (line-compiler.ts),
// appended to a string that goes to the file in 64 KiB writes, and before the loop may block
// for long, so an idle server's file is complete up to now. Lines are separated by ",\n"
// and the file starts with "[": a server killed before close() still leaves a file that
// Perfetto and chrome://tracing load (they accept a missing final "]").
import { closeSync, openSync, writeSync } from 'node:fs';
import type { TraceEvent, TraceSink } from '../trace/events.js';
import { LineCompiler } from './line-compiler.js';
import { argsJson, instantHead, lineText, micros, pidTid } from './line-format.js';
import {
  COUNTERS, LOOP_TID, RECORDING_METADATA, SLICES, STRUCTURE_CAT, fdTid, waitSliceName,
  type Phase, type RecordingInfo,
} from './trace-format.js';

/** Write the buffer out once it holds this many characters. */
const FLUSH_CHARS = 64 * 1024;
/** ...or before a wait that may block this long (ms), or forever (-1). */
const LONG_WAIT_MS = 50;
/** ...or when the last write is older than this (ns of trace time). */
const FLUSH_AGE_NS = 500e6;
/** Without a loop to say when it blocks (libuv engine): write at most this long after an event. */
const FLUSH_TIMER_MS = 200;

/** Node's `--trace-events-enabled` stamps events with uv_hrtime() in µs (the monotonic clock),
 *  not with the wall clock: so do we, to lay both files on one time axis. performance.now() is
 *  hrtime since performance's origin; this is that origin on the hrtime clock, in ms. */
const HRTIME_ORIGIN_MS = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Now, in ns on the clock of Node's own trace events. */
function nowNs(): number {
  return Math.round((HRTIME_ORIGIN_MS + performance.now()) * 1e6);
}

export interface RecorderOptions extends RecordingInfo {
  /** Write on a timer too: for engines whose loop reports no `wait` (libuv's). */
  flushTimer: boolean;
  /** The loop track's name when the loop reports no rounds (libuv: its loop cannot be seen). */
  loopName?: string;
}

/** What the loop is doing, as far as the slices on its track go. */
type LoopPhase = 'none' | 'blocked' | 'work' | 'after-work' | 'node';

/** The fd an event belongs to, or -1 (the loop's track). */
function eventFd(event: TraceEvent): number {
  const fd = (event as { fd?: unknown }).fd;
  return typeof fd === 'number' && fd >= 0 ? fd : -1;
}

export class TraceRecorder implements TraceSink {
  private fd: number;
  private buffer = '';
  private first = true;
  private closed = false;
  private readonly pid = process.pid;
  private readonly instants: LineCompiler;
  private lastFlushNs: number;
  private flushTimer: NodeJS.Timeout | null = null;
  private phase: LoopPhase = 'none';
  private roundOpen = false;
  private round = 0;
  /** The open blocking call's slice name. */
  private waitName = '';
  /** Tracks already named (fd + 1; 0 is the loop). */
  private readonly named: boolean[] = [];
  private connections = -1;
  private queued = -1;

  constructor(readonly path: string, private readonly options: RecorderOptions) {
    this.fd = openSync(path, 'w');
    this.instants = new LineCompiler(instantHead, pidTid(this.pid));
    const ts = nowNs();
    this.lastFlushNs = ts;
    this.metadata('process_name', LOOP_TID, { name: `selectchat ${options.command} (${options.engine} engine)` }, ts);
    this.metadata(RECORDING_METADATA, LOOP_TID, {
      command: options.command, engine: options.engine, version: options.version,
      clock: 'µs of uv_hrtime(), as node --trace-events-enabled',
    }, ts);
    this.metadata('thread_sort_index', LOOP_TID, { sort_index: -1 }, ts);
    if (options.loopName !== undefined) this.nameTrack(-1, options.loopName, ts);
    this.flush();
  }

  event(event: TraceEvent): void {
    if (this.closed) return;
    const ts = nowNs();
    switch (event.kind) {
      case 'wait': {
        this.endRound(ts);
        if (!this.named[0]) this.nameTrack(-1, `${event.call.backend}() loop`, ts);
        this.round++;
        this.roundOpen = true;
        this.line('B', SLICES.round, STRUCTURE_CAT, ts, LOOP_TID, `{"round":${this.round}}`);
        this.waitName = waitSliceName(event.call.backend);
        this.line('B', this.waitName, 'wait', ts, LOOP_TID, argsJson(event));
        this.phase = 'blocked';
        const timeout = event.call.timeoutMs;
        if (timeout < 0 || timeout >= LONG_WAIT_MS) this.flush();
        return;
      }
      case 'woke':
      case 'eintr':
        if (this.phase !== 'blocked') break;
        this.line('E', this.waitName, event.kind, ts, LOOP_TID, argsJson(event));
        // The fds it reports ready are in its args (read-recording.ts's readyFds() reads them): a line per ready fd
        // cost a third more per message at full load.
        this.line('B', SLICES.work, STRUCTURE_CAT, ts, LOOP_TID, '{}');
        this.phase = 'work';
        return;
      case 'round-end':
        this.instant(event, ts, LOOP_TID);
        this.counters(event.connections, event.queuedBytes, ts);
        if (this.phase === 'work') {
          this.line('E', SLICES.work, STRUCTURE_CAT, ts, LOOP_TID, '{}');
          this.phase = 'after-work';
        }
        return;
      case 'yield':
        if (!this.roundOpen) break;
        if (this.phase === 'work') this.line('E', SLICES.work, STRUCTURE_CAT, ts, LOOP_TID, '{}');
        if (this.phase === 'node') this.line('E', SLICES.node, STRUCTURE_CAT, ts, LOOP_TID, '{}');
        this.line('B', SLICES.node, 'yield', ts, LOOP_TID, argsJson(event));
        this.phase = 'node';
        return;
      default:
        break;
    }
    const fd = eventFd(event);
    this.instant(event, ts, fd < 0 ? LOOP_TID : this.track(fd, ts, event));
    if (ts - this.lastFlushNs > FLUSH_AGE_NS) this.flush();
    else if (this.options.flushTimer && this.flushTimer === null) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, FLUSH_TIMER_MS);
      this.flushTimer.unref();
    }
  }

  /** Ends the open slices, writes the closing "]" and closes the file. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.endRound(nowNs());
    this.closed = true;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.buffer += this.first ? '[\n]\n' : '\n]\n';
    this.first = false;
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** Ends the round's open slices, then the round. */
  private endRound(ts: number): void {
    if (!this.roundOpen) return;
    if (this.phase === 'blocked') this.line('E', this.waitName, STRUCTURE_CAT, ts, LOOP_TID, '{}');
    if (this.phase === 'work') this.line('E', SLICES.work, STRUCTURE_CAT, ts, LOOP_TID, '{}');
    if (this.phase === 'node') this.line('E', SLICES.node, STRUCTURE_CAT, ts, LOOP_TID, '{}');
    this.line('E', SLICES.round, STRUCTURE_CAT, ts, LOOP_TID, '{}');
    this.roundOpen = false;
    this.phase = 'none';
  }

  /** An event as an instant on track tid. */
  private instant(event: TraceEvent, ts: number, tid: number): void {
    this.append(this.instants.line(event, micros(ts), tid));
  }

  private counters(connections: number, queued: number, ts: number): void {
    if (connections !== this.connections) {
      this.connections = connections;
      this.line('C', COUNTERS.connections, STRUCTURE_CAT, ts, LOOP_TID, `{"open":${connections}}`);
    }
    if (queued !== this.queued) {
      this.queued = queued;
      this.line('C', COUNTERS.queued, STRUCTURE_CAT, ts, LOOP_TID, `{"bytes":${queued}}`);
    }
  }

  /** fd's track, named the first time it is seen (after the role its first event gives it). */
  private track(fd: number, ts: number, first?: TraceEvent): number {
    if (!this.named[fd + 1]) {
      const role = first?.kind === 'listening' ? ' (listening socket)'
        : first?.kind === 'node-fd' ? " (Node's epoll fd)"
        : '';
      this.nameTrack(fd, `fd ${fd}${role}`, ts);
    }
    return fdTid(fd);
  }

  private nameTrack(fd: number, name: string, ts: number): void {
    const tid = fd < 0 ? LOOP_TID : fdTid(fd);
    this.named[fd + 1] = true;
    this.metadata('thread_name', tid, { name }, ts);
    if (fd >= 0) this.metadata('thread_sort_index', tid, { sort_index: fd }, ts);
  }

  private metadata(name: string, tid: number, args: Record<string, unknown>, ts: number): void {
    this.line('M', name, '__metadata', ts, tid, JSON.stringify(args));
  }

  private line(ph: Phase, name: string, cat: string, ts: number, tid: number, args: string): void {
    this.append(lineText(ph, name, cat, ts, this.pid, tid, args));
  }

  private append(line: string): void {
    if (this.first) {
      this.buffer += `[\n${line}`;
      this.first = false;
    } else {
      this.buffer += `,\n${line}`;
    }
    if (this.buffer.length >= FLUSH_CHARS) this.flush();
  }

  /** Writes the buffer out. A failed write (disk full, ...) stops the recording, not the server. */
  private flush(): void {
    this.lastFlushNs = nowNs();
    if (this.buffer.length === 0 || this.fd < 0) return;
    const text = this.buffer;
    this.buffer = '';
    try {
      writeSync(this.fd, text);
    } catch (error) {
      process.stderr.write(`selectchat: --record ${this.path}: ${(error as Error).message}; recording stopped\n`);
      this.closed = true;
      try {
        closeSync(this.fd);
      } catch {
        // Nothing more to lose.
      }
      this.fd = -1;
    }
  }
}

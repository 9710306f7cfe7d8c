// `--record FILE`: every TraceEvent written to FILE as it happens, in the Chrome Trace Event
// Format (JSON Array Format), so Perfetto, chrome://tracing and speedscope open it as it is and
// `selectchat timeline` turns it into a page. See trace-format.ts for the shape of the file.
//
// Cheap on purpose (the loop runs it for every action, at full load two per echoed message): on
// the loop's thread an action, a slice's begin or end, even a round's select() sets, are a few
// numbers stored in a shared ring (event-encoder.ts, json-tokens.ts, record-ring.ts); a writer
// thread (record-writer.ts) turns them into the file's lines. The loop never waits for the file
// (but when the ring is full, and at close): the file follows it within 0.1 s. Lines are
// separated by ",\n" and the file starts with "[": a server killed before close() still leaves a
// file that Perfetto and chrome://tracing load (they accept a missing final "]").
import { closeSync, openSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { PACKAGE_ROOT } from '../package.js';
import type { TraceEvent, TraceSink } from '../trace/events.js';
import { EventEncoder, type Marker } from './event-encoder.js';
import { LineCompiler } from './line-compiler.js';
import { argsJson, instantHead, lineHead, lineText, micros, pidTid } from './line-format.js';
import { RingWriter, ringMemory } from './record-ring.js';
import type { WriterData } from './record-writer.js';
import {
  COUNTERS, LOOP_TID, RECORDING_METADATA, SLICES, STRUCTURE_CAT, fdTid, waitSliceName,
  type Phase, type RecordingInfo,
} from './trace-format.js';

/** The writer thread's code (compiled: a worker runs JavaScript). */
const WRITER = `${PACKAGE_ROOT}dist/record/record-writer.js`;
/** Actions the writer cannot see yet become visible at most this long after (ms): the loop's
 *  lines publish them every round, but the libuv engine reports no rounds. */
const PUBLISH_MS = 50;

/** Node's `--trace-events-enabled` stamps events with uv_hrtime() in µs (the monotonic clock),
 *  not with the wall clock: so do we, to lay both files on one time axis. performance.now() is
 *  hrtime since performance's origin; this is that origin on the hrtime clock, in ms. */
const HRTIME_ORIGIN_MS = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Now, in ns on the clock of Node's own trace events. */
function nowNs(): number {
  return Math.round((HRTIME_ORIGIN_MS + performance.now()) * 1e6);
}

function metadataLine(name: string, ts: number, pid: number, tid: number, args: Record<string, unknown>): string {
  return lineText('M', name, '__metadata', ts, pid, tid, JSON.stringify(args));
}

export interface RecorderOptions extends RecordingInfo {
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
  /** The file: the head is written here, the rest by the writer thread; closed here. */
  private fd: number;
  private closed = false;
  private readonly pid = process.pid;
  private readonly ring: RingWriter;
  /** The writer thread; null when the file could not even take its head. */
  private readonly writer: Worker | null = null;
  private readonly records: EventEncoder;
  /** Events that cannot be records (a field of another type, a long string) are lines made
   *  here. */
  private readonly instants: LineCompiler;
  /** The slices that carry an event: the blocking call's begin (wait) and end (woke, eintr), by
   *  the call's name; the yield to Node's begin. */
  private readonly waits = new Map<string, { begin: EventEncoder; end: EventEncoder }>();
  private readonly yields: EventEncoder;
  /** The loop's lines without JSON args. */
  private readonly marks: Record<'roundBegin' | 'roundEnd' | 'workBegin' | 'workEnd' | 'nodeEnd' | 'connections' | 'queued', Marker>;
  private publishTimer: NodeJS.Timeout | null = null;
  private phase: LoopPhase = 'none';
  private roundOpen = false;
  private round = 0;
  /** The open blocking call's slice name. */
  private waitName = '';
  /** Tracks already named (fd + 1; 0 is the loop). */
  private readonly named: boolean[] = [];
  private connections = -1;
  private queued = -1;

  constructor(readonly path: string, options: RecorderOptions) {
    this.fd = openSync(path, 'w');
    // The file's head is written here, now: from the start it is a trace file (if unfinished).
    const ts = nowNs();
    const head = [
      metadataLine('process_name', ts, this.pid, LOOP_TID, { name: `selectchat ${options.command} (${options.engine} engine)` }),
      metadataLine(RECORDING_METADATA, ts, this.pid, LOOP_TID, {
        command: options.command, engine: options.engine, version: options.version,
        clock: 'µs of uv_hrtime(), as node --trace-events-enabled',
      }),
      metadataLine('thread_sort_index', ts, this.pid, LOOP_TID, { sort_index: -1 }),
    ];
    let headWritten = true;
    try {
      writeSync(this.fd, `[\n${head.join(',\n')}`);
    } catch (error) {
      headWritten = false;
      this.stopped((error as Error).message);
    }
    const memory = ringMemory();
    this.ring = new RingWriter(memory);
    this.records = new EventEncoder(this.ring, instantHead, (fd, ts, event) => this.track(fd, ts, event));
    this.yields = new EventEncoder(this.ring, (kind) => lineHead('B', SLICES.node, kind));
    const mark = (ph: Phase, name: string, key: string | null): Marker => this.records.marker(lineHead(ph, name, STRUCTURE_CAT), key);
    this.marks = {
      roundBegin: mark('B', SLICES.round, 'round'),
      roundEnd: mark('E', SLICES.round, null),
      workBegin: mark('B', SLICES.work, null),
      workEnd: mark('E', SLICES.work, null),
      nodeEnd: mark('E', SLICES.node, null),
      connections: mark('C', COUNTERS.connections, 'open'),
      queued: mark('C', COUNTERS.queued, 'bytes'),
    };
    this.instants = new LineCompiler(instantHead, pidTid(this.pid));
    if (headWritten) {
      const data: WriterData = { memory, fd: this.fd };
      this.writer = new Worker(WRITER, { workerData: data });
      // A failed write: the ring stops taking records (RingWriter sees the state); say why once.
      this.writer.on('message', (message: string) => this.stopped(message));
      this.writer.on('error', (error) => this.stopped(error.message));
      this.writer.unref();
    }
    if (options.loopName !== undefined) this.nameTrack(-1, options.loopName, ts);
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
        this.marks.roundBegin(ts, LOOP_TID, this.round);
        this.waitName = waitSliceName(event.call.backend);
        this.slice(this.waitSlices().begin, 'B', this.waitName, event, ts);
        this.phase = 'blocked';
        // The loop may block now: let the writer see the round (it looks at least every 50 ms).
        this.ring.publish();
        return;
      }
      case 'woke':
      case 'eintr':
        if (this.phase !== 'blocked') break;
        this.slice(this.waitSlices().end, 'E', this.waitName, event, ts);
        // The fds it reports ready are in its args (read-recording.ts's readyFds() reads them): a line per ready fd
        // cost a third more per message at full load.
        this.marks.workBegin(ts, LOOP_TID, 0);
        this.phase = 'work';
        return;
      case 'round-end':
        this.instant(event, ts);
        this.counters(event.connections, event.queuedBytes, ts);
        if (this.phase === 'work') {
          this.marks.workEnd(ts, LOOP_TID, 0);
          this.phase = 'after-work';
        }
        return;
      case 'yield':
        if (!this.roundOpen) break;
        if (this.phase === 'work') this.marks.workEnd(ts, LOOP_TID, 0);
        if (this.phase === 'node') this.marks.nodeEnd(ts, LOOP_TID, 0);
        this.slice(this.yields, 'B', SLICES.node, event, ts);
        this.phase = 'node';
        return;
      default:
        break;
    }
    this.instant(event, ts);
    if (this.publishTimer === null && this.ring.unpublished > 0) {
      this.publishTimer = setTimeout(() => {
        this.publishTimer = null;
        if (!this.closed) this.ring.publish();
      }, PUBLISH_MS);
      this.publishTimer.unref();
    }
  }

  /** Ends the open slices, writes the closing "]" and closes the file. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.endRound(nowNs());
    this.closed = true;
    if (this.publishTimer !== null) clearTimeout(this.publishTimer);
    // The writer ends the file. If it is late, it may still be writing: leave the fd open (the
    // process is ending).
    if (this.ring.close() !== 'late' && this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    void this.writer?.terminate();
  }

  /** Ends the round's open slices, then the round. */
  private endRound(ts: number): void {
    if (!this.roundOpen) return;
    // Cut short inside its blocking call (closing): rare, so a line made here.
    if (this.phase === 'blocked') this.line('E', this.waitName, STRUCTURE_CAT, ts, LOOP_TID, '{}');
    if (this.phase === 'work') this.marks.workEnd(ts, LOOP_TID, 0);
    if (this.phase === 'node') this.marks.nodeEnd(ts, LOOP_TID, 0);
    this.marks.roundEnd(ts, LOOP_TID, 0);
    this.roundOpen = false;
    this.phase = 'none';
  }

  /** The encoders of the blocking call's slices. */
  private waitSlices(): { begin: EventEncoder; end: EventEncoder } {
    let slices = this.waits.get(this.waitName);
    if (slices === undefined) {
      const name = this.waitName;
      slices = {
        begin: new EventEncoder(this.ring, (kind) => lineHead('B', name, kind)),
        end: new EventEncoder(this.ring, (kind) => lineHead('E', name, kind)),
      };
      this.waits.set(name, slices);
    }
    return slices;
  }

  /** A slice's begin or end on the loop's track that carries event (its kind is the category). */
  private slice(encoder: EventEncoder, ph: Phase, name: string, event: TraceEvent, ts: number): void {
    if (!encoder.encode(event, ts, LOOP_TID)) this.line(ph, name, event.kind, ts, LOOP_TID, argsJson(event));
  }

  /** An event as an instant: on its fd's track if it has one, on the loop's otherwise. */
  private instant(event: TraceEvent, ts: number): void {
    if (this.records.encode(event, ts, LOOP_TID)) return;
    const fd = eventFd(event);
    this.ring.line(this.instants.line(event, micros(ts), fd < 0 ? LOOP_TID : this.track(fd, ts, event)));
  }

  private counters(connections: number, queued: number, ts: number): void {
    if (connections !== this.connections) {
      this.connections = connections;
      this.marks.connections(ts, LOOP_TID, connections);
    }
    if (queued !== this.queued) {
      this.queued = queued;
      this.marks.queued(ts, LOOP_TID, queued);
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
    this.ring.line(metadataLine(name, ts, this.pid, tid, args));
  }

  private line(ph: Phase, name: string, cat: string, ts: number, tid: number, args: string): void {
    this.ring.line(lineText(ph, name, cat, ts, this.pid, tid, args));
  }

  /** A write failed (disk full, ...): the recording stops, not the server. */
  private stopped(why: string): void {
    if (this.closed) return;
    process.stderr.write(`selectchat: --record ${this.path}: ${why}; recording stopped\n`);
    this.closed = true;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

// How a selectchat recording uses the Chrome Trace Event Format (the JSON Array Format that
// `node --trace-events-enabled` and Chrome write): shared by the writer, the reader and the tests.
//
// - Every TraceEvent becomes one line whose `cat` is its kind and whose `args` are its fields
//   (kind excluded), so the reader rebuilds it as { kind: cat, ...args } whatever the kind.
// - The loop's structure is made of B/E slices on the loop's track: `round` holds the blocking
//   call's slice (named after the call: `select()`, `poll()`, `epoll_wait()`; B carries the
//   `wait` event, E the `woke` or `eintr` event), then `work`, then `yield to Node` (B carries
//   the `yield` event).
// - Every other event is an instant (`ph: 'i'`, `s: 't'`) on the track of its fd when it has a
//   numeric `fd`, on the loop's track otherwise.
// - Lines the loop did not report as such (`round`, `work`, the end of `yield to Node`, counters)
//   have `cat: 'loop'`; metadata has `ph: 'M'`. The fds a wake-up found ready are in the args of
//   the blocking call's E line (its `woke` event), not on their tracks: a line per ready fd cost a
//   third more per message at full load.

/** `ph` values used here. */
export type Phase = 'B' | 'E' | 'i' | 'C' | 'M';

/** One line of a trace file, as JSON.parse gives it back. */
export interface TraceFileEvent {
  ph: string;
  name?: string;
  cat?: string;
  ts: number;
  pid: number;
  tid: number;
  s?: string;
  args?: Record<string, unknown>;
}

/** The category of every line that is structure, not a TraceEvent. */
export const STRUCTURE_CAT = 'loop';

/** The loop's track. Above Linux's largest pid_max (2^22), so it never names a real thread of
 *  the process when the file is merged with Node's own trace (same pid, real tids). */
export const LOOP_TID = 1 << 22;

/** The track of fd. */
export function fdTid(fd: number): number {
  return LOOP_TID + 1 + fd;
}

/** The fd of a track (-1 for the loop's). */
export function tidFd(tid: number): number {
  return tid > LOOP_TID ? tid - LOOP_TID - 1 : -1;
}

/** Slice names on the loop's track. */
export const SLICES = {
  round: 'round',
  work: 'work',
  node: 'yield to Node',
} as const;

/** The name of the blocking call's slice: select(), poll(), epoll_wait(). */
export function waitSliceName(backend: string): string {
  return backend === 'epoll' ? 'epoll_wait()' : `${backend}()`;
}

/** Counter names (from round-end events). */
export const COUNTERS = {
  connections: 'connections open',
  queued: 'bytes queued',
} as const;

/** Metadata line that says what recorded the file: { command, engine, version, clock }. */
export const RECORDING_METADATA = 'selectchat';

/** What the recording's metadata says about itself. */
export interface RecordingInfo {
  command: string;
  engine: string;
  version: string;
}

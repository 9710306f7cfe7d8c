// The words of the trace: one line of text per event, as `--trace` prints it and the timeline
// page shows it on hover. Pure and import-free (types aside), so the page inlines this module.
import type { TraceEvent, WaitCall, WaitResult } from './events.js';

/** Events --trace leaves out: one per round or per change of interest, they would drown the
 *  actions; the select sets (or epoll_ctl lines) already show interest. A recording keeps them. */
export const QUIET_KINDS: ReadonlySet<TraceEvent['kind']> = new Set(['timers', 'yield', 'round-end', 'write-interest']);

/** "1 byte", "2 bytes". */
function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** A set of fds the way select() traces print them: {3,7,12}. */
function fdSet(fds: readonly number[]): string {
  return `{${fds.join(',')}}`;
}

/** Event bits by the names poll() and epoll use for them: IN|OUT. */
export function eventNames(bits: number): string {
  const names: string[] = [];
  if (bits & 1) names.push('IN');
  if (bits & 2) names.push('OUT');
  if (bits & 4) names.push('PRI');
  if (bits & 8) names.push('HUP');
  if (bits & 16) names.push('ERR');
  if (bits & 32) names.push('NVAL');
  return names.length > 0 ? names.join('|') : '0';
}

/** A timeout as the trace prints it: none (block), 0 ms, 2.5 ms, 10 ms. */
function timeout(ms: number): string {
  return ms < 0 ? 'none' : `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
}

/** The blocking call as the kernel gets it. */
function waitWords(call: WaitCall): string {
  switch (call.backend) {
    case 'select':
      return `select(nfds=${call.nfds}, read=${fdSet(call.read)}, write=${fdSet(call.write)}, timeout=${timeout(call.timeoutMs)})`;
    case 'poll':
      return `poll(nfds=${call.fds.length}, fds=[${call.fds.map(([fd, events]) => `${fd}:${eventNames(events)}`).join(', ')}], timeout=${timeout(call.timeoutMs)})`;
    case 'epoll':
      return `epoll_wait(epfd=${call.epfd}, maxevents=${call.maxEvents}, timeout=${timeout(call.timeoutMs)})`;
  }
}

/** What the blocking call gave back. */
function resultWords(result: WaitResult, ready: number): string {
  if (ready === 0) return 'timed out, nothing ready';
  switch (result.backend) {
    case 'select':
      return `${ready} ready: read=${fdSet(result.read)}, write=${fdSet(result.write)}`;
    case 'poll':
      return `${ready} ready: [${result.ready.map(([fd, events, revents]) => `${fd}:${eventNames(events)}→${eventNames(revents)}`).join(', ')}]`;
    case 'epoll':
      return `${ready} ready: [${result.ready.map(([fd, events]) => `${fd}:${eventNames(events)}`).join(', ')}]`;
  }
}

/** The trace line for one event. */
export function words(event: TraceEvent): string {
  switch (event.kind) {
    case 'node-fd':
      return `fd ${event.fd} is Node's own event loop (libuv's epoll fd): readable = Node has work`;
    case 'libuv-loop':
      return `libuv's epoll loop runs inside Node and cannot be traced from JavaScript; see it with: strace -f -e trace=epoll_wait,epoll_pwait -p ${event.pid}`;
    case 'listening':
      return `fd ${event.fd} is the listening socket on ${event.address}:${event.port}`;
    case 'shutdown':
      return `shutdown: close the listening socket, say goodbye, flush for at most ${event.flushMs} ms`;
    case 'wait':
      return waitWords(event.call);
    case 'woke':
      return `  → after ${event.blockedMs.toFixed(3)} ms, ${resultWords(event.result, event.count)}`;
    case 'eintr':
      return '  → interrupted by a signal (EINTR): yield to Node so its handler runs';
    case 'ctl':
      return `epoll_ctl(${event.op}, ${event.fd}, ${event.op === 'DEL' ? '-' : eventNames(event.events)})`;
    case 'timers':
      return `${count(event.fired, 'timer')} fired`;
    case 'yield':
      return `yield to Node: ${YIELD_WORDS[event.why]}`;
    case 'round-end':
      return `round end: ${count(event.connections, 'connection')} open, ${count(event.queuedBytes, 'byte')} queued`;
    case 'accept':
      return `accepted fd ${event.fd} from ${event.remote}`;
    case 'refuse': {
      const why = event.why === 'max-clients'
        ? `--max-clients ${event.limit} reached`
        : `fd ${event.fd} >= FD_SETSIZE, select() cannot watch it`;
      return `accepted fd ${event.fd} from ${event.remote}: refused (${why}): "${event.said}"`;
    }
    case 'accept-error':
      return event.action === 'paused'
        ? `accept ${event.code}: pausing accepts for ${event.pauseMs} ms`
        : `accept ${event.code}: skipped`;
    case 'recv':
      return `fd ${event.fd} readable: recv ${count(event.bytes, 'byte')} → ${count(event.lines, 'line')}, ${count(event.kept, 'byte')} kept`;
    case 'recv-eagain':
      return `fd ${event.fd} readable: recv → EAGAIN, nothing to read`;
    case 'recv-eof':
      return `fd ${event.fd} readable: recv → 0 bytes: EOF, the peer closed${flushing(event.queued)}`;
    case 'data':
      return `fd ${event.fd} read ${count(event.bytes, 'byte')} → ${count(event.lines, 'line')}, ${count(event.kept, 'byte')} kept`;
    case 'data-end':
      return `fd ${event.fd} EOF, the peer closed${flushing(event.queued)}`;
    case 'send':
      return `fd ${event.fd} ${event.why}: sent ${event.sent} of ${event.queued} queued`;
    case 'write-interest':
      return `fd ${event.fd} write interest ${event.on ? 'on' : 'off'}`;
    case 'write':
      return `fd ${event.fd} ${event.why}: wrote ${count(event.bytes, 'byte')} (${count(event.frames, 'frame')}), ` +
        `${event.libuvQueued} left in libuv's write queue${event.full ? `; write() returned false, waiting for 'drain'` : ''}`;
    case 'paused':
      return `fd ${event.fd}: ${event.waiting} bytes of its output unsent > ${event.highWater}: stop reading it (backpressure)`;
    case 'resumed':
      return `fd ${event.fd}: its output is down to ${event.waiting} unsent bytes: reading it again`;
    case 'too-slow':
      return event.rule === 'hard'
        ? `fd ${event.fd}: ${event.unsent} bytes unsent > --max-queue ${event.limit}: too slow`
        : `fd ${event.fd}: ${event.unsent} bytes unsent, over --soft-queue ${event.limit} for ${event.seconds} s: too slow`;
    case 'stalled':
      return `fd ${event.fd}: the peer took none of ${count(event.unsent, 'unsent byte')} for ${event.seconds} s: too slow`;
    case 'error':
      return `fd ${event.fd} ${event.code}`;
    case 'failure':
      return `fd ${event.fd}: ${event.message}`;
    case 'closed':
      return `fd ${event.fd} closed (${event.reason})${event.dropped > 0 ? `, ${event.dropped} bytes of an unfinished line dropped` : ''}`;
  }
}

const YIELD_WORDS = {
  node: "Node's fd was ready",
  timeout: 'nothing was ready',
  interval: '10 ms since the last yield',
  signal: 'a signal interrupted the wait',
} as const;

/** The end of an EOF line when output is still queued: half-close loses no reply. */
function flushing(queued: number): string {
  return queued > 0 ? `; flushing ${count(queued, 'queued byte')}, then closing` : '';
}

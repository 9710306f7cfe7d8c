// A synthetic recording of many rounds, written by the real recorder: a chat room of three
// clients where every round one of them says a line that goes to the other two, a yield to Node
// every tenth round. (The test of the page's speed needs 100,000 rounds: minutes of real load.)
import { TraceRecorder } from '../../src/record/recorder.js';
import type { TraceEvent } from '../../src/trace/events.js';

export function writeSyntheticRecording(path: string, rounds: number): void {
  const recorder = new TraceRecorder(path, { command: 'serve', engine: 'select', version: 'synthetic' });
  const clients = [19, 20, 21];
  const events: TraceEvent[] = [
    { kind: 'listening', fd: 18, address: '127.0.0.1', port: 7070 },
    { kind: 'node-fd', fd: 14 },
    ...clients.map((fd): TraceEvent => ({ kind: 'accept', fd, remote: `127.0.0.1:${40000 + fd}` })),
  ];
  for (const event of events) recorder.event(event);
  const read = [14, 18, ...clients];
  for (let r = 0; r < rounds; r++) {
    const from = clients[r % 3]!;
    recorder.event({ kind: 'wait', call: { backend: 'select', nfds: 22, read, write: [], timeoutMs: 10 } });
    recorder.event({ kind: 'woke', result: { backend: 'select', read: [from], write: [] }, count: 1, blockedMs: 0.05 });
    recorder.event({ kind: 'recv', fd: from, bytes: 12, lines: 1, kept: 0 });
    for (const to of clients) if (to !== from) recorder.event({ kind: 'send', fd: to, why: 'round end', sent: 19, queued: 19 });
    if (r % 10 === 9) recorder.event({ kind: 'yield', why: 'interval' });
  }
  recorder.close();
}

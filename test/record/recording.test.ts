// --record FILE: the file is a Chrome trace that the viewers accept (every line has ph, ts, pid,
// tid; slices nest), killed or closed; a session of known traffic gives the rounds and actions it
// must; any kind of event, even one the loop does not report yet, lands on its track intact.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseTraceText, readTimeline, type RecordedEvent, type Timeline } from '../../src/record/read-recording.js';
import { TraceRecorder } from '../../src/record/recorder.js';
import { LOOP_TID, fdTid, type TraceFileEvent } from '../../src/record/trace-format.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { CLI, killLeftovers, startServer } from '../helpers/server.js';
import { openSlices, traceProblems } from './trace-check.js';

/** Longest a test waits for the recording to show an action (the writer thread follows the
 *  loop within 0.1 s). */
const FILE_LIMIT_MS = 3_000;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'selectchat-record-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  destroyAllClients();
  await killLeftovers();
});

function lines(path: string): TraceFileEvent[] {
  return parseTraceText(readFileSync(path, 'utf8'));
}

/** Polls the file until test() holds on its timeline. */
async function fileShows(path: string, test: (timeline: Timeline) => boolean, what: string): Promise<Timeline> {
  const deadline = performance.now() + FILE_LIMIT_MS;
  for (;;) {
    const timeline = readTimeline(lines(path));
    if (test(timeline)) return timeline;
    if (performance.now() > deadline) throw new Error(`the recording never showed ${what}`);
    await delay(20);
  }
}

const kinds = (events: readonly RecordedEvent[]): string[] => events.map((e) => e.event.kind);
const has = (timeline: Timeline, kind: string, fields: Record<string, unknown> = {}): boolean =>
  timeline.events.some((e) => e.event.kind === kind && Object.entries(fields).every(([k, v]) => (e.event as never)[k] === v));

describe('TraceRecorder on a scripted session', () => {
  const session: TraceEvent[] = [
    { kind: 'listening', fd: 18, address: '127.0.0.1', port: 7070 },
    { kind: 'node-fd', fd: 14 },
    { kind: 'wait', call: { backend: 'select', nfds: 19, read: [14, 18], write: [], timeoutMs: -1 } },
    { kind: 'woke', result: { backend: 'select', read: [18], write: [] }, count: 1, blockedMs: 12.5 },
    { kind: 'accept', fd: 19, remote: '127.0.0.1:5000' },
    { kind: 'send', fd: 19, why: 'round end', sent: 53, queued: 53 },
    { kind: 'round-end', connections: 1, queuedBytes: 0 },
    { kind: 'yield', why: 'node' },
    { kind: 'wait', call: { backend: 'poll', fds: [[14, 1], [18, 1], [19, 3]], timeoutMs: 10 } },
    { kind: 'woke', result: { backend: 'poll', ready: [[19, 3, 2]] }, count: 1, blockedMs: 0.01 },
    { kind: 'write-interest', fd: 19, on: false },
    { kind: 'timers', fired: 2 },
    // A kind the loop does not have yet: it must land on fd 19's track as it is.
    { kind: 'frobnicated', fd: 19, widgets: 3, note: 'a "quoted" word' } as unknown as TraceEvent,
    { kind: 'wait', call: { backend: 'epoll', epfd: 21, maxEvents: 64, timeoutMs: -1 } },
    { kind: 'eintr' },
    { kind: 'yield', why: 'signal' },
    { kind: 'shutdown', flushMs: 2000 },
    { kind: 'wait', call: { backend: 'select', nfds: 19, read: [14, 18], write: [], timeoutMs: -1 } },
  ];

  function record(name: string, close: boolean): string {
    const path = join(dir, name);
    const recorder = new TraceRecorder(path, { command: 'serve', engine: 'select', version: '0' });
    for (const event of session) recorder.event(event);
    if (close) recorder.close();
    return path;
  }

  it('writes lines that all have ph, ts, pid and tid, with slices that nest and close', () => {
    const all = lines(record('closed.json', true));
    expect(traceProblems(all)).toEqual([]);
    expect(openSlices(all)).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'closed.json'), 'utf8'))).toHaveLength(all.length);
  });

  it('lays rounds on the loop track: round > the blocking call, then work, then yield to Node', () => {
    const all = lines(record('slices.json', true)).filter((l) => l.tid === LOOP_TID && (l.ph === 'B' || l.ph === 'E'));
    const shape = all.map((l) => `${l.ph} ${l.name}`);
    expect(shape.slice(0, 8)).toEqual([
      'B round', 'B select()', 'E select()', 'B work', 'E work', 'B yield to Node', 'E yield to Node', 'E round',
    ]);
    expect(shape.slice(8, 13)).toEqual(['B round', 'B poll()', 'E poll()', 'B work', 'E work']);
    expect(shape).toContain('B epoll_wait()');
  });

  it('puts each fd action on the fd\'s track and the rest on the loop\'s', () => {
    const all = lines(record('tracks.json', true));
    const on = (name: string): TraceFileEvent[] => all.filter((l) => l.name === name);
    expect(on('accept')[0]).toMatchObject({ ph: 'i', s: 't', tid: fdTid(19), args: { fd: 19, remote: '127.0.0.1:5000' } });
    expect(on('frobnicated')[0]).toMatchObject({ ph: 'i', tid: fdTid(19), args: { widgets: 3, note: 'a "quoted" word' } });
    expect(on('timers')[0]).toMatchObject({ ph: 'i', tid: LOOP_TID, args: { fired: 2 } });
    expect(on('select()').find((l) => l.ph === 'E')).toMatchObject({ cat: 'woke', args: { result: { read: [18] } } });
    expect(on('connections open')[0]).toMatchObject({ ph: 'C', args: { open: 1 } });
    expect(on('bytes queued')[0]).toMatchObject({ ph: 'C', args: { bytes: 0 } });
    const names = all.filter((l) => l.ph === 'M' && l.name === 'thread_name').map((l) => l.args!.name);
    expect(names).toEqual(expect.arrayContaining(['select() loop', 'fd 18 (listening socket)', "fd 14 (Node's epoll fd)", 'fd 19']));
  });

  it('gives back every event as it was reported, in order, in its round', () => {
    const timeline = readTimeline(lines(record('back.json', true)));
    expect(timeline.events.map((e) => e.event)).toEqual(session);
    expect(timeline.rounds).toHaveLength(4);
    expect(timeline.events.map((e) => e.round)).toEqual([-1, -1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
    const [first] = timeline.rounds;
    expect(first!.start).toBeLessThanOrEqual(first!.woke);
    expect(first!.woke).toBeLessThanOrEqual(first!.workEnd);
    expect(first!.workEnd).toBeLessThanOrEqual(first!.nodeStart);
    expect(first!.nodeStart).toBeLessThanOrEqual(first!.end);
    expect(timeline.ready.map((r) => [r.round, r.fd, r.events])).toEqual([[0, 18, 'read'], [1, 19, 'OUT']]);
    expect(timeline.info).toMatchObject({ command: 'serve', engine: 'select' });
  });

  it('writes a call too big for a record (200,000 fds) as a line, whole, between the records around it', () => {
    const path = join(dir, 'big.json');
    const read = Array.from({ length: 200_000 }, (_, i) => i);
    const recorder = new TraceRecorder(path, { command: 'serve', engine: 'poll', version: '0' });
    const events: TraceEvent[] = [
      { kind: 'listening', fd: 3, address: '::1', port: 1 },
      { kind: 'wait', call: { backend: 'select', nfds: 200_000, read, write: [], timeoutMs: -1 } },
      { kind: 'woke', result: { backend: 'select', read: [3], write: [] }, count: 1, blockedMs: 1 },
      { kind: 'accept', fd: 4, remote: 'x'.repeat(5000) },
    ];
    for (const event of events) recorder.event(event);
    recorder.close();
    expect(readTimeline(lines(path)).events.map((e) => e.event)).toEqual(events);
  });

  it('leaves a loadable file when the process dies before close(), even cut inside a line', async () => {
    const path = record('killed.json', false);
    // The last wait ends a round (its line publishes the records): the writer follows.
    await fileShows(path, (t) => t.events.length === session.length, 'every event');
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith('[\n{')).toBe(true);
    expect(text.trimEnd().endsWith(']')).toBe(false);
    const all = lines(path);
    expect(traceProblems(all)).toEqual([]);
    expect(readTimeline(all).events).toHaveLength(session.length);
    truncateSync(path, statSync(path).size - 25);
    expect(readTimeline(lines(path)).events.length).toBeGreaterThan(session.length - 3);
  });
});

describe('serve --record (engine select): a session of known traffic', () => {
  it('records the rounds and actions the traffic caused, and closes the file on SIGTERM', async () => {
    const path = join(dir, 'select-echo.json');
    const server = await startServer('select', ['--mode', 'echo', '--record', path]);
    // Idle: the writer thread catches up.
    let timeline = await fileShows(path, (t) => t.rounds.length > 0, 'a first round');
    const listenFd = (timeline.events.find((e) => e.event.kind === 'listening')!.event as { fd: number }).fd;

    const client = await LineClient.connect(server.host, server.port);
    timeline = await fileShows(path, (t) => has(t, 'accept'), 'the accept');
    const acceptRound = timeline.events.find((e) => e.event.kind === 'accept')!;
    const fd = (acceptRound.event as { fd: number }).fd;
    expect(timeline.ready.some((r) => r.round === acceptRound.round && r.fd === listenFd && r.events === 'read')).toBe(true);

    await client.send('one\ntwo\n');
    await client.expectLine('one');
    await client.expectLine('two');
    timeline = await fileShows(path, (t) => has(t, 'send', { fd }), 'the echo');
    const recv = timeline.events.find((e) => e.event.kind === 'recv')!;
    expect(recv.event).toEqual({ kind: 'recv', fd, bytes: 8, lines: 2, kept: 0 });
    const round = timeline.rounds[recv.round]!;
    const inRound = timeline.events.slice(round.firstEvent, round.firstEvent + round.eventCount);
    expect(kinds(inRound).filter((k) => k !== 'yield')).toEqual(['wait', 'woke', 'recv', 'send', 'round-end']);
    expect(inRound[0]!.event).toMatchObject({ call: { backend: 'select', read: expect.arrayContaining([listenFd, fd]), write: [] } });
    expect(inRound[1]!.event).toMatchObject({ result: { read: [fd], write: [] }, count: 1 });
    expect(inRound.find((e) => e.event.kind === 'send')!.event).toEqual({ kind: 'send', fd, why: 'round end', sent: 8, queued: 8 });
    expect(timeline.ready.filter((r) => r.round === recv.round).map((r) => [r.fd, r.events])).toEqual([[fd, 'read']]);

    client.end();
    await client.closed();
    timeline = await fileShows(path, (t) => has(t, 'closed', { fd }), 'the close');
    expect(has(timeline, 'recv-eof', { fd })).toBe(true);
    expect(timeline.events.find((e) => e.event.kind === 'closed')!.event).toEqual({ kind: 'closed', fd, reason: 'closed', dropped: 0 });

    expect((await server.stop('SIGTERM')).code).toBe(0);
    const text = readFileSync(path, 'utf8');
    expect(JSON.parse(text)).toBeInstanceOf(Array);
    const all = parseTraceText(text);
    expect(traceProblems(all)).toEqual([]);
    expect(openSlices(all)).toEqual([]);
    timeline = readTimeline(all);
    expect(has(timeline, 'shutdown')).toBe(true);
    expect(has(timeline, 'eintr') || has(timeline, 'yield', { why: 'signal' })).toBe(true);
    // Every round starts with the blocking call; blocked, work and Node's turn tile it in order.
    for (const r of timeline.rounds) {
      expect(timeline.events[r.firstEvent]!.event.kind).toBe('wait');
      if (r.woke >= 0) expect(r.start <= r.woke && r.woke <= r.workEnd && r.workEnd <= r.end).toBe(true);
    }
  });
});

describe('serve --record to a disk that is full', () => {
  it('says once that the recording stopped, and serves on', async () => {
    const server = await startServer('select', ['--mode', 'echo', '--record', '/dev/full']);
    const client = await LineClient.connect(server.host, server.port);
    await client.send('still here\n');
    await client.expectLine('still here');
    expect(server.stderr.match(/--record \/dev\/full: .*recording stopped/g)).toHaveLength(1);
    expect((await server.stop('SIGTERM')).code).toBe(0);
  });
});

describe('serve --record (engine libuv)', () => {
  it('records the connection events libuv\'s engine reports, each on its fd\'s track, and no rounds', async () => {
    const path = join(dir, 'libuv-echo.json');
    const server = await startServer('libuv', ['--mode', 'echo', '--record', path]);
    const client = await LineClient.connect(server.host, server.port);
    await client.send('one\n');
    await client.expectLine('one');
    client.end();
    await client.closed();
    await fileShows(path, (t) => has(t, 'closed'), 'the close');
    expect((await server.stop('SIGTERM')).code).toBe(0);
    const all = lines(path);
    expect(traceProblems(all)).toEqual([]);
    const timeline = readTimeline(all);
    expect(timeline.rounds).toEqual([]);
    expect(kinds(timeline.events)).toEqual(expect.arrayContaining(['libuv-loop', 'listening', 'accept', 'data', 'write', 'data-end', 'closed']));
    const data = all.find((l) => l.name === 'data')!;
    expect(data.tid).toBe(fdTid(data.args!.fd as number));
    expect(timeline.tracks.get(-1)).toMatch(/not visible to JavaScript/);
  });
});

describe('connect --record', () => {
  it('records the client loop\'s rounds: select() on the socket and Node\'s fd', async () => {
    const path = join(dir, 'client.json');
    const server = await startServer('select', ['--mode', 'echo']);
    const child = spawn(process.execPath, [CLI, 'connect', '--port', String(server.port), '--linger', '50', '--record', path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
    child.stdin.end('hello\n');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(out).toContain('hello');
    const all = lines(path);
    expect(traceProblems(all)).toEqual([]);
    expect(openSlices(all)).toEqual([]);
    const timeline = readTimeline(all);
    expect(timeline.info).toMatchObject({ command: 'connect', engine: 'select' });
    expect(timeline.rounds.length).toBeGreaterThan(1);
    const waits = timeline.events.filter((e) => e.event.kind === 'wait').map((e) => e.event as Extract<TraceEvent, { kind: 'wait' }>);
    expect(waits.some((w) => w.call.backend === 'select' && w.call.read.length >= 2)).toBe(true);
  });
});

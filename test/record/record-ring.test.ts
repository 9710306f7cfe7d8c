// The ring between the loop's thread and the writer thread, made small so that 100,000 records
// go round it hundreds of times: nothing lost, nothing reordered, the loop held back (not the
// memory grown) while the writer catches up, and the file ended and complete at close.
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { EventEncoder } from '../../src/record/event-encoder.js';
import { instantHead } from '../../src/record/line-format.js';
import { RingWriter, ringMemory } from '../../src/record/record-ring.js';
import { parseTraceText } from '../../src/record/read-recording.js';
import { PACKAGE_ROOT } from '../../src/package.js';
import type { TraceEvent } from '../../src/trace/events.js';

const dir = mkdtempSync(join(tmpdir(), 'selectchat-ring-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the recording ring', () => {
  it('carries 100,000 records through a 64 KiB ring in order, and ends the file at close', async () => {
    const path = join(dir, 'ring.json');
    const fd = openSync(path, 'w');
    const memory = ringMemory(64 * 1024);
    const ring = new RingWriter(memory);
    const worker = new Worker(`${PACKAGE_ROOT}dist/record/record-writer.js`, { workerData: { memory, fd } });
    const encoder = new EventEncoder(ring, instantHead);
    const whys = ['round end', 'writable'] as const;
    const count = 100_000;
    for (let i = 0; i < count; i++) {
      const event: TraceEvent = i % 3 === 0
        ? { kind: 'recv', fd: i % 1000, bytes: i, lines: 1, kept: 0 }
        : { kind: 'send', fd: i % 1000, why: whys[i % 2]!, sent: i, queued: 2 * i };
      expect(encoder.encode(event, 1e12 + i, 7)).toBe(true);
      // Now and then a line of text between the records, as the loop's metadata is.
      if (i % 10_000 === 0) ring.line(`{"ph":"M","name":"thread_name","ts":0,"pid":1,"tid":${i},"args":{"name":"n${i}"}}`);
    }
    expect(ring.close()).toBe('done');
    closeSync(fd);
    await worker.terminate();
    expect(ring.stopped).toBeNull();
    // The writer does not write the file's head ("[" and the first lines): this test does.
    const lines = parseTraceText(`[{"ph":"M","name":"head","ts":0,"pid":1,"tid":0}${readFileSync(path, 'utf8')}`);
    const instants = lines.filter((l) => l.ph === 'i');
    expect(instants).toHaveLength(count);
    const outOfPlace = instants.filter((line, i) => line.ts !== 1e9 + i / 1000 || (line.args!.sent ?? line.args!.bytes) !== i);
    expect(outOfPlace).toEqual([]);
    expect(instants[1]).toMatchObject({ name: 'send', tid: 7, args: { fd: 1, why: 'writable', sent: 1, queued: 2 } });
    expect(lines.filter((l) => l.ph === 'M')).toHaveLength(1 + count / 10_000);
  });

  it('stops the ring, not the loop, when the writer cannot write (disk full)', async () => {
    const fd = openSync('/dev/full', 'w');
    const memory = ringMemory(64 * 1024);
    const ring = new RingWriter(memory);
    const worker = new Worker(`${PACKAGE_ROOT}dist/record/record-writer.js`, { workerData: { memory, fd } });
    const said = new Promise<string>((resolve) => worker.once('message', resolve));
    const encoder = new EventEncoder(ring, instantHead);
    // More than the ring holds: once the writer has failed, appending turns into nothing.
    for (let i = 0; i < 20_000; i++) encoder.encode({ kind: 'recv', fd: 5, bytes: i, lines: 1, kept: 0 }, 1e12 + i, 7);
    ring.publish();
    expect(await said).toMatch(/ENOSPC|no space/i);
    for (let i = 0; i < 20_000; i++) encoder.encode({ kind: 'recv', fd: 5, bytes: i, lines: 1, kept: 0 }, 1e12 + i, 7);
    expect(ring.stopped).toMatch(/stopped/);
    expect(ring.close()).toBe('failed');
    closeSync(fd);
    await worker.terminate();
  });
});

// A server connection's output as ranges of the round's log, without sockets: a frame stored
// once for every queue, ranges that merge, what the kernel took, and the copy of what it
// refused before the log is reused — the order of the bytes never changes.
import { describe, expect, it } from 'vitest';
import { OutputQueue } from '../../src/loop/output-queue.js';
import { RoundLog } from '../../src/loop/round-log.js';
import { Producer } from '../helpers/producer.js';

/** The bytes the queue would send now, in order. */
function unsent(queue: OutputQueue, log: RoundLog): string {
  let text = '';
  for (let i = queue.rangeHead; i < queue.rangeCount; i++) {
    const at = queue.rangeOffset(i);
    text += log.buffer.toString('latin1', at, at + queue.rangeLength(i));
  }
  const kept = queue.kept;
  if (kept.buffer !== null) text += kept.buffer.toString('latin1', kept.offset, kept.offset + kept.bytes);
  return text;
}

const frame = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('OutputQueue over a RoundLog', () => {
  it('a broadcast frame is stored once however many queues it goes to', () => {
    const log = new RoundLog();
    const queues = [0, 1, 2].map(() => new OutputQueue(log, null));
    const hello = frame('hello\n');
    for (const queue of queues) queue.push(hello, null);
    expect(queues.map((q) => q.rangeOffset(0))).toEqual([0, 0, 0]);
    const bye = frame('bye\n');
    for (const queue of queues) queue.push(bye, null);
    // Each queue's two frames are contiguous in the log: one range of 10 bytes.
    expect(queues.map((q) => [q.rangeCount, q.rangeLength(0)])).toEqual([[1, 10], [1, 10], [1, 10]]);
    expect(queues.map((q) => unsent(q, log))).toEqual(['hello\nbye\n', 'hello\nbye\n', 'hello\nbye\n']);
  });

  it('a sender\'s own line is skipped by its own queue: its output is two ranges around it', () => {
    const log = new RoundLog();
    const [alice, bob] = [new OutputQueue(log, null), new OutputQueue(log, null)];
    const one = frame('[bob] one\n');
    alice.push(one, null);
    bob.push(one, null);
    const two = frame('[alice] two\n');
    bob.push(two, null);
    const three = frame('[bob] three\n');
    alice.push(three, null);
    bob.push(three, null);
    expect(alice.rangeCount).toBe(2);
    expect(unsent(alice, log)).toBe('[bob] one\n[bob] three\n');
    expect(unsent(bob, log)).toBe('[bob] one\n[alice] two\n[bob] three\n');
  });

  it('pushLine copies the line and a newline into the log', () => {
    const log = new RoundLog();
    const queue = new OutputQueue(log, null);
    const input = frame('xxhi there\r\nyy');
    queue.pushLine(input, 2, 10, null);
    input.fill(0x21);
    expect(unsent(queue, log)).toBe('hi there\n');
  });

  it('consume() drops what the kernel took, across ranges', () => {
    const log = new RoundLog();
    const [queue, other] = [new OutputQueue(log, null), new OutputQueue(log, null)];
    queue.push(frame('aaaa'), null);
    other.push(frame('bbbb'), null);
    queue.push(frame('cccc'), null);
    queue.consume(6);
    expect(unsent(queue, log)).toBe('cc');
    expect(queue.bytes).toBe(2);
    queue.consume(2);
    expect(queue.empty).toBe(true);
    expect(queue.ranges).toBe(false);
  });

  it('before the log is reused, what the kernel refused is copied out, and later output follows it', () => {
    const log = new RoundLog();
    const queue = new OutputQueue(log, null);
    queue.push(frame('first\n'), null);
    queue.push(frame('second\n'), null);
    queue.consume(3);
    log.reset();
    expect(queue.ranges).toBe(false);
    expect(unsent(queue, log)).toBe('st\nsecond\n');
    // Next round: the log is overwritten by others' output; this queue's order holds.
    const other = new OutputQueue(log, null);
    other.push(frame('XXXXXXXXXXXXXXXXXXXX'), null);
    queue.push(frame('third\n'), null);
    expect(unsent(queue, log)).toBe('st\nsecond\nthird\n');
    queue.consume(queue.bytes);
    // Drained: the next output is ranges of the log again.
    queue.push(frame('fourth\n'), null);
    expect(queue.ranges).toBe(true);
  });

  it('when a round outgrows the log, output spills into copies in order, and the next log is larger', () => {
    const log = new RoundLog();
    const size = log.buffer.length;
    const queue = new OutputQueue(log, null);
    const big = Buffer.alloc(size / 2 + 1, 0x61);
    queue.push(big, null);
    queue.push(frame('b'.repeat(size / 2 + 1)), null);
    queue.push(frame('c'), null);
    expect(queue.ranges).toBe(false);
    expect(unsent(queue, log)).toBe('a'.repeat(size / 2 + 1) + 'b'.repeat(size / 2 + 1) + 'c');
    log.reset();
    expect(log.buffer.length).toBe(2 * size);
  });

  it('charges producers and counts foreign bytes, whichever form the output takes', () => {
    const log = new RoundLog();
    const self = new Producer();
    const alice = new Producer();
    const queue = new OutputQueue(log, self);
    queue.push(frame('0123456789'), alice);
    queue.push(frame('own\n'), self);
    expect([alice.waiting, self.waiting, queue.foreignBytes]).toEqual([10, 4, 10]);
    queue.consume(5);
    log.reset();
    queue.push(frame('more'), alice);
    expect([alice.waiting, self.waiting, queue.foreignBytes]).toEqual([9, 4, 9]);
    queue.clear();
    expect([alice.waiting, self.waiting, queue.foreignBytes, queue.bytes]).toEqual([0, 0, 0, 0]);
  });
});

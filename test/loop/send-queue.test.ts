// The send queue and owner runs, without sockets: what is queued, what the kernel took, how the
// buffer moves and grows, and whose bytes are waiting.
import { describe, expect, it } from 'vitest';
import { OwnerRuns } from '../../src/loop/owner-runs.js';
import { SendQueue } from '../../src/loop/send-queue.js';
import { Producer } from '../helpers/producer.js';

/** What the queue would hand to send() now. */
function unsent(queue: SendQueue): string {
  const buffer = queue.buffer;
  return buffer === null ? '' : buffer.toString('latin1', queue.offset, queue.offset + queue.bytes);
}

describe('SendQueue', () => {
  it('keeps frames in order as one run of bytes; consume() drops what the kernel took', () => {
    const queue = new SendQueue();
    queue.push(Buffer.from('one\n'));
    queue.push(Buffer.from('two\n'));
    expect(unsent(queue)).toBe('one\ntwo\n');
    queue.consume(2);
    expect(unsent(queue)).toBe('e\ntwo\n');
    queue.consume(6);
    expect(queue.empty).toBe(true);
    expect(queue.buffer).toBeNull();
  });

  it('copies each frame: the caller may reuse it (one frame goes to many queues)', () => {
    const frame = Buffer.from('abc\n');
    const queue = new SendQueue();
    queue.push(frame);
    frame.fill(0x21);
    expect(unsent(queue)).toBe('abc\n');
  });

  it('near its cap, 1000 pushes of 100 B between partial sends cost O(bytes): a handful of buffers, not one per frame', () => {
    const cap = 1024 * 1024;
    const queue = new SendQueue();
    queue.push(Buffer.alloc(cap - 4096, 0x61));
    const frame = Buffer.alloc(100, 0x62);
    const buffers = new Set<Buffer>([queue.buffer!]);
    let moved = 0;
    for (let i = 0; i < 1000; i++) {
      // The kernel takes a little, the room queues a little more: the queue hovers near the cap.
      queue.consume(100);
      const before = queue.buffer;
      const offset = queue.offset;
      queue.push(frame);
      if (queue.buffer !== before) buffers.add(queue.buffer!);
      else if (queue.offset !== offset) moved++;
      expect(queue.bytes).toBe(cap - 4096);
    }
    expect(buffers.size).toBeLessThanOrEqual(2);
    // In-place moves happen only once the sent front outweighs what is left: rarely.
    expect(moved).toBeLessThanOrEqual(2);
    expect(queue.capacity).toBeLessThanOrEqual(4 * cap);
  });

  it('lets go of a large buffer once it empties, so an idle connection stays small', () => {
    const queue = new SendQueue();
    queue.push(Buffer.alloc(256 * 1024));
    queue.consume(256 * 1024);
    expect(queue.capacity).toBe(0);
    queue.push(Buffer.from('x'));
    expect(queue.capacity).toBeLessThanOrEqual(4096);
  });
});

describe('owner runs: whose output is waiting', () => {
  it('charges each producer for its bytes and credits it as the kernel takes them, oldest first', () => {
    const self = new Producer();
    const alice = new Producer();
    const bob = new Producer();
    const runs = new OwnerRuns(self);
    runs.add(alice, 10);
    runs.add(alice, 5);
    runs.add(bob, 20);
    runs.add(self, 7);
    expect([alice.waiting, bob.waiting, self.waiting]).toEqual([15, 20, 7]);
    expect(runs.foreign).toBe(35);
    runs.consume(18);
    expect([alice.waiting, bob.waiting, self.waiting]).toEqual([0, 17, 7]);
    expect(runs.foreign).toBe(17);
    runs.consume(24);
    expect([alice.waiting, bob.waiting, self.waiting]).toEqual([0, 0, 0]);
    expect(runs.foreign).toBe(0);
  });

  it('the server\'s own output (no owner) is foreign but charged to nobody; clear() credits everyone', () => {
    const alice = new Producer();
    const runs = new OwnerRuns(new Producer());
    runs.add(null, 30);
    runs.add(alice, 12);
    expect(runs.foreign).toBe(42);
    runs.clear();
    expect(alice.waiting).toBe(0);
    expect(runs.foreign).toBe(0);
  });
});

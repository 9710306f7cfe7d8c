// Whose bytes wait in an output queue. A queue's bytes are kept as runs — consecutive bytes one
// producer (the connection whose line caused them) queued — so that when the kernel takes n
// bytes, each producer learns how much of its output is no longer waiting. That is what
// backpressure needs: a sender is not read while the output its own lines produced waits, in any
// queue, above a high-water mark (as Node pauses a readable stream whose destination is full).

/** A producer of output: its waiting count grows when its bytes are queued anywhere, and it is
 *  credited when they leave. */
export interface OutputOwner {
  /** Bytes it produced that are still queued, anywhere. */
  waiting: number;
  credit(bytes: number): void;
}

/** The runs of one queue, oldest first: runs [head, tail) of two parallel arrays, which are
 *  reused from round to round rather than shrunk and grown again. One run per change of
 *  producer, not per frame: a round of fan-out adds about one run per sender to each queue. */
export class OwnerRuns {
  private readonly owners: (OutputOwner | null)[] = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private tail = 0;
  /** Bytes waiting here that another producer than `self` queued. */
  foreign = 0;

  /** self: the queue's own connection (its replies are not foreign); null for none. */
  constructor(private readonly self: OutputOwner | null = null) {}

  /** bytes more, queued by owner (null: the server itself, charged to nobody). */
  add(owner: OutputOwner | null, bytes: number): void {
    const tail = this.tail;
    if (tail > this.head && this.owners[tail - 1] === owner) {
      this.sizes[tail - 1] += bytes;
    } else {
      this.owners[tail] = owner;
      this.sizes[tail] = bytes;
      this.tail = tail + 1;
    }
    if (owner !== null) owner.waiting += bytes;
    if (owner !== this.self) this.foreign += bytes;
  }

  /** The oldest n bytes left the queue (the kernel took them): credit their producers. */
  consume(n: number): void {
    const owners = this.owners;
    const sizes = this.sizes;
    while (n > 0 && this.head < this.tail) {
      const size = sizes[this.head]!;
      const taken = Math.min(size, n);
      const owner = owners[this.head]!;
      owner?.credit(taken);
      if (owner !== this.self) this.foreign -= taken;
      n -= taken;
      // A consumed run lets go of its producer (a closed connection must not stay reachable).
      if (taken === size) owners[this.head++] = null;
      else sizes[this.head] = size - taken;
    }
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** Everything left the queue unsent (the connection is gone): credit every producer. */
  clear(): void {
    for (let i = this.head; i < this.tail; i++) {
      this.owners[i]?.credit(this.sizes[i]!);
      this.owners[i] = null;
    }
    this.head = this.tail = 0;
    this.foreign = 0;
  }
}

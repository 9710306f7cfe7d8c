// Whose bytes wait in an output queue. A queue's bytes are kept as runs — consecutive bytes one
// producer (the connection whose line caused them) queued — so that when the kernel takes n
// bytes, each producer learns how much of its output is no longer waiting. That is what
// backpressure needs: a sender is not read while the output its own lines produced waits, in any
// queue, above a high-water mark (as Node pauses a readable stream whose destination is full).

/** A producer of output: charged when its bytes are queued anywhere, credited when they leave. */
export interface OutputOwner {
  charge(bytes: number): void;
  credit(bytes: number): void;
}

/** The runs of one queue, oldest first. One run per change of producer, not per frame: a round
 *  of fan-out adds about one run per sender to each receiver's queue. */
export class OwnerRuns {
  private owners: (OutputOwner | null)[] = [];
  private sizes: number[] = [];
  private head = 0;
  /** Bytes waiting here that another producer than `self` queued. */
  foreign = 0;

  /** self: the queue's own connection (its replies are not foreign); null for none. */
  constructor(private readonly self: OutputOwner | null = null) {}

  /** bytes more, queued by owner (null: the server itself, charged to nobody). */
  add(owner: OutputOwner | null, bytes: number): void {
    const last = this.owners.length - 1;
    if (last >= this.head && this.owners[last] === owner) this.sizes[last] += bytes;
    else {
      this.owners.push(owner);
      this.sizes.push(bytes);
    }
    owner?.charge(bytes);
    if (owner !== this.self) this.foreign += bytes;
  }

  /** The oldest n bytes left the queue (the kernel took them): credit their producers. */
  consume(n: number): void {
    const owners = this.owners;
    const sizes = this.sizes;
    while (n > 0 && this.head < owners.length) {
      const size = sizes[this.head]!;
      const taken = Math.min(size, n);
      const owner = owners[this.head]!;
      owner?.credit(taken);
      if (owner !== this.self) this.foreign -= taken;
      n -= taken;
      if (taken === size) owners[this.head++] = null;
      else sizes[this.head] = size - taken;
    }
    if (this.head === owners.length) this.reset();
  }

  /** Everything left the queue unsent (the connection is gone): credit every producer. */
  clear(): void {
    for (let i = this.head; i < this.owners.length; i++) this.owners[i]?.credit(this.sizes[i]!);
    this.reset();
    this.foreign = 0;
  }

  private reset(): void {
    this.owners.length = 0;
    this.sizes.length = 0;
    this.head = 0;
  }
}

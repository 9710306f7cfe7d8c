// A producer of output that keeps count, as a server connection does (for queue tests).
import type { OutputOwner } from '../../src/loop/owner-runs.js';

export class Producer implements OutputOwner {
  waiting = 0;
  credit(bytes: number): void {
    this.waiting -= bytes;
  }
}

// A real TCP client on node:net that reads the server's newline-delimited lines, with bounded
// waits for the next line; afterEach destroys whatever a test left open.
import { connect, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** Longest a client waits for a line or a close unless told: loopback answers in microseconds. */
export const LINE_LIMIT_MS = 3_000;
/** How long expectNoLine() watches unless told. */
export const QUIET_MS = 150;

const NEWLINE = 0x0a;

/** Every client not yet closed, so destroyAllClients() can end them after a test. */
const live = new Set<LineClient>();

/** How a connection ended. */
export interface Closed {
  hadError: boolean;
  error: NodeJS.ErrnoException | null;
}

/** One connection to the server: lines are collected as they arrive and taken in order. */
export class LineClient {
  /** Complete lines received and not yet taken, without their '\n'. */
  readonly #lines: string[] = [];
  /** Bytes of an unfinished line. */
  #partial: Buffer[] = [];
  /** Waiters to wake at the next data, end or close. */
  readonly #waiters = new Set<() => void>();
  #error: NodeJS.ErrnoException | null = null;
  #ended = false;
  readonly #closed: Promise<Closed>;

  private constructor(readonly socket: Socket) {
    live.add(this);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (this.#error = error));
    socket.on('end', () => {
      this.#ended = true;
      this.#notify();
    });
    this.#closed = new Promise((resolve) =>
      socket.once('close', (hadError) => {
        live.delete(this);
        this.#ended = true;
        this.#notify();
        resolve({ hadError, error: this.#error });
      }),
    );
  }

  /** Connects to host:port; resolves once the TCP handshake is done. */
  static connect(host: string, port: number): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  /** Connects and takes the welcome line, so the server has surely admitted this client. */
  static async join(host: string, port: number): Promise<LineClient> {
    const client = await LineClient.connect(host, port);
    await client.expectLine(/^\* welcome /);
    return client;
  }

  /** The local port: what the server's trace shows as this client's address. */
  get localPort(): number {
    return this.socket.localPort!;
  }

  /** Splits a chunk into lines at '\n' bytes; decodes each whole line, so split characters survive. */
  #receive(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.#partial.push(chunk.subarray(start, nl));
      this.#lines.push(Buffer.concat(this.#partial).toString('utf8'));
      this.#partial = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.#partial.push(chunk.subarray(start));
    this.#notify();
  }

  /** Wakes everyone waiting for news from this connection. */
  #notify(): void {
    for (const wake of this.#waiters) wake();
    this.#waiters.clear();
  }

  /** Resolves at the next data, end or close, or after ms. */
  #changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        resolve();
      }, ms);
      this.#waiters.add(wake);
    });
  }

  /** Lines received but not taken yet (for failure messages). */
  get pending(): readonly string[] {
    return this.#lines;
  }

  /** The next line; fails after timeoutMs, or when the server closed with no line left. */
  async nextLine(timeoutMs = LINE_LIMIT_MS): Promise<string> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const line = this.#lines.shift();
      if (line !== undefined) return line;
      if (this.#ended) throw new Error(`the connection ended with no line left${this.#describeEnd()}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no line within ${timeoutMs} ms${this.#describePartial()}`);
      await this.#changed(left);
    }
  }

  /** The next line, which must be expected (exactly, or matching a RegExp). */
  async expectLine(expected: string | RegExp, timeoutMs = LINE_LIMIT_MS): Promise<string> {
    const line = await this.nextLine(timeoutMs);
    const ok = typeof expected === 'string' ? line === expected : expected.test(line);
    if (!ok) throw new Error(`expected ${typeof expected === 'string' ? JSON.stringify(expected) : expected}, got ${JSON.stringify(line)}`);
    return line;
  }

  /** Watches for ms: no line may arrive (nor be waiting). */
  async expectNoLine(ms = QUIET_MS): Promise<void> {
    const deadline = performance.now() + ms;
    for (;;) {
      if (this.#lines.length > 0) throw new Error(`expected no line, got ${JSON.stringify(this.#lines[0])}`);
      const left = deadline - performance.now();
      if (left <= 0 || this.#ended) return;
      await this.#changed(left);
    }
  }

  /** Takes lines until one matches, within timeoutMs; returns the lines skipped before it. */
  async skipUntil(expected: string | RegExp, timeoutMs = LINE_LIMIT_MS): Promise<string[]> {
    const deadline = performance.now() + timeoutMs;
    const skipped: string[] = [];
    for (;;) {
      const line = await this.nextLine(Math.max(1, deadline - performance.now())).catch((error: Error) => {
        throw new Error(`${error.message}; waited for ${expected} after ${skipped.length} other lines`);
      });
      if (typeof expected === 'string' ? line === expected : expected.test(line)) return skipped;
      skipped.push(line);
    }
  }

  /** Writes raw text or bytes; resolves when handed to the kernel. */
  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** Writes bytes chunkSize at a time, delayMs apart, so each chunk is its own segment. */
  async sendSlowly(data: string | Buffer, chunkSize: number, delayMs: number): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; at += chunkSize) {
      if (at > 0) await delay(delayMs);
      await this.send(bytes.subarray(at, at + chunkSize));
    }
  }

  /** Stops reading: the kernel's receive buffer fills and the server's sends back up. */
  stopReading(): void {
    this.socket.pause();
  }

  /** Half-closes (FIN): the server sees EOF. */
  end(): void {
    this.socket.end();
  }

  /** Aborts with RST (SO_LINGER 0): the server sees ECONNRESET. */
  destroyWithReset(): void {
    this.socket.resetAndDestroy();
  }

  /** Resolves when the socket is fully closed, at most timeoutMs from now. */
  async closed(timeoutMs = LINE_LIMIT_MS): Promise<Closed> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still open ${timeoutMs} ms later${this.#describePartial()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.#closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when the server's FIN (or a reset) arrived, at most timeoutMs from now. */
  async ended(timeoutMs = LINE_LIMIT_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.#ended) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no end of stream within ${timeoutMs} ms${this.#describePartial()}`);
      await this.#changed(left);
    }
  }

  /** What was received but not taken, for failure messages. */
  #describePartial(): string {
    const lines = this.#lines.length > 0 ? `; waiting lines: ${JSON.stringify(this.#lines.slice(0, 5))}` : '';
    const partial = this.#partial.length > 0 ? `; unfinished line: ${JSON.stringify(Buffer.concat(this.#partial).toString('utf8').slice(0, 200))}` : '';
    return lines + partial;
  }

  /** How the connection ended, for failure messages. */
  #describeEnd(): string {
    return (this.#error ? ` (${this.#error.code ?? this.#error.message})` : '') + this.#describePartial();
  }
}

/** Destroys every client a test left open: afterEach of every suite. */
export function destroyAllClients(): void {
  for (const client of live) client.socket.destroy();
  live.clear();
}

/** n members joined in order, each having seen every later one join: a settled chat room. */
export async function joinRoom(host: string, port: number, n: number): Promise<LineClient[]> {
  const clients: LineClient[] = [];
  for (let i = 1; i <= n; i++) {
    const client = await LineClient.join(host, port);
    for (const earlier of clients) await earlier.expectLine(`* guest-${i} joined`);
    clients.push(client);
  }
  return clients;
}

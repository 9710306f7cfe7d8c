// Many cheap members for load tests: each reads as fast as Node lets it and only counts lines
// (or checks them with a callback), so one test process can hold a large room without parsing
// a million strings. Every connection is closed by closeCrowd() in afterEach.
import { connect, type Socket } from 'node:net';

const NEWLINE = 0x0a;

/** Every crowd socket not yet destroyed. */
const live = new Set<Socket>();

/** One member that reads everything; lines it receives go to onLine (when given) as raw bytes. */
export class CrowdMember {
  lines = 0;
  ended = false;
  private partial: Buffer | null = null;

  private constructor(
    readonly socket: Socket,
    private readonly onLine: ((line: Buffer) => void) | null,
  ) {
    live.add(socket);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      live.delete(socket);
    });
  }

  /** Connects and resolves once the server's first line (its welcome) arrived. */
  static join(host: string, port: number, onLine: ((line: Buffer) => void) | null = null): Promise<CrowdMember> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, noDelay: true });
      socket.once('error', reject);
      let member: CrowdMember;
      const welcomed = (line: Buffer): void => {
        if (member.lines === 1) {
          socket.off('error', reject);
          resolve(member);
        }
        onLine?.(line);
      };
      member = new CrowdMember(socket, welcomed);
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  private receive(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.lines++;
      if (this.onLine) {
        const piece = chunk.subarray(start, nl);
        this.onLine(this.partial ? Buffer.concat([this.partial, piece]) : piece);
      }
      this.partial = null;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partial = this.partial ? Buffer.concat([this.partial, rest]) : Buffer.from(rest);
    }
  }
}

/** n members joined in batches (connects in flight at once), each first sending hello(i). */
export async function joinCrowd(host: string, port: number, n: number, hello: (i: number) => string, batch = 100): Promise<CrowdMember[]> {
  const members: CrowdMember[] = [];
  for (let from = 0; from < n; from += batch) {
    const joined = await Promise.all(
      Array.from({ length: Math.min(batch, n - from) }, async (_, k) => {
        const member = await CrowdMember.join(host, port);
        member.send(hello(from + k));
        return member;
      }),
    );
    members.push(...joined);
  }
  return members;
}

/** Destroys every crowd socket: afterEach. */
export function closeCrowd(): void {
  for (const socket of live) socket.destroy();
  live.clear();
}

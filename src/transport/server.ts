// What every transport offers the CLI: the same options in, the same server out.
import type { SocketAddress } from '../binding/native.js';
import { BACKENDS } from '../loop/backend.js';
import type { TraceSink } from '../trace/events.js';
import type { Service } from '../room/service.js';
import type { ServerLimits } from './limits.js';

/** Our loop on one of its backends, or Node's own (libuv). */
export const ENGINES = [...BACKENDS, 'libuv'] as const;
export type Engine = (typeof ENGINES)[number];

export interface ServerOptions {
  /** A numeric IPv4 or IPv6 address. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  service: Service;
  limits: ServerLimits;
  /** Where trace events go (--trace); null when tracing is off. */
  trace: TraceSink | null;
  /** Where failures the server survives are logged, one message at a time (stderr). */
  log: (message: string) => void;
  /** Listen with SO_REUSEPORT, sharing the port with other processes (`serve --workers`). */
  reusePort?: boolean;
}

export interface ChatServer {
  readonly engine: Engine;
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: SocketAddress;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting, lets the service say goodbye, flushes for at most SHUTDOWN_FLUSH_MS,
   *  closes every socket. Resolves when all are closed. */
  shutdown(): Promise<void>;
}

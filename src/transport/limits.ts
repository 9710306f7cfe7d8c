// The limits both transports enforce, with their defaults (the serve command's flags).

export interface ServerLimits {
  /** Longest line accepted, in bytes (the `\n` and a `\r` before it do not count). */
  maxLineBytes: number;
  /** Unsent output one client may have queued before it is dropped as `too slow`. */
  maxQueueBytes: number;
  /** Connections served at once; the select engine is also bounded by FD_SETSIZE. */
  maxClients: number;
  /** Drop a client that sent nothing for this long (ms); 0 = never. */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxLineBytes: 65536,
  maxQueueBytes: 1024 * 1024,
  maxClients: 1000,
  idleTimeoutMs: 0,
};

/** How long a shutting-down server keeps flushing before it closes every socket anyway. */
export const SHUTDOWN_FLUSH_MS = 2000;

/** How often the idle sweep looks for clients past the idle timeout (at most). */
export const IDLE_SWEEP_MS = 1000;

/** Kernel queue of not-yet-accepted connections (listen(2)'s backlog). */
export const LISTEN_BACKLOG = 511;

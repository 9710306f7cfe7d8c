// The limits every engine enforces, with their defaults (the serve command's flags).

export interface ServerLimits {
  /** Longest line accepted, in bytes (the `\n` and a `\r` before it do not count). */
  maxLineBytes: number;
  /** Hard cap: unsent output one client may have queued (after a write attempt) before it is
   *  dropped as `too slow`. Its senders are paused at half of it (backpressure). */
  maxQueueBytes: number;
  /** Soft cap: output others produced for a client may stay above this for at most softSeconds. */
  softQueueBytes: number;
  /** How long a client may stay over the soft cap, or take none of its output, before it is
   *  dropped as `too slow` (s). */
  softSeconds: number;
  /** Connections served at once; the select engine is also bounded by FD_SETSIZE. */
  maxClients: number;
  /** Drop a client that sent nothing for this long (ms); 0 = never. */
  idleTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxLineBytes: 65536,
  maxQueueBytes: 1024 * 1024,
  softQueueBytes: 256 * 1024,
  softSeconds: 2,
  maxClients: 1000,
  idleTimeoutMs: 0,
};

/** The shortest --idle-timeout: below it the sweep would run so often the loop never sleeps. */
export const MIN_IDLE_TIMEOUT_MS = 100;

/** How long a shutting-down server keeps flushing before it closes every socket anyway. */
export const SHUTDOWN_FLUSH_MS = 2000;

/** Kernel queue of not-yet-accepted connections (listen(2)'s backlog; Linux caps it at
 *  net.core.somaxconn, 4096 by default). A burst of thousands of connects overflows a shorter
 *  queue, and with SYN cookies a dropped handshake is never retried: the client believes it is
 *  connected and the server never hears of it. */
export const LISTEN_BACKLOG = 4096;

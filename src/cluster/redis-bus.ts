// The cluster's bus on Redis: one connection publishes and runs the scripts (Redis keeps one
// connection's commands, and so one node's events, in order), one subscribes. A heartbeat key with
// a short TTL says the node lives; a periodic scan reaps nodes whose heartbeat expired.
//
// Both connections live on Node's event loop: a select() server keeps libuv's epoll fd in its read
// set, so it wakes when Redis answers, and output queued from here is flushed by the transport
// (requestRound() on the select engine, setImmediate on libuv).
import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';
import type { ClusterHandler, ClusterLink, MemberInfo, Renamed, RoomEvent } from '../room/cluster-link.js';
import { scrubPassword, type RedisEndpoint } from './redis-url.js';
import { ALL_SCRIPTS, DEPART, HEARTBEAT, JOIN, KEY_PREFIX, LEAVE, REAP, REGISTER, RENAME, SCAN, type Script } from './scripts.js';

/** How often a node renews its heartbeat. */
export const HEARTBEAT_MS = 1000;
/** A heartbeat key lives this long: a node silent this long is lost (3 missed beats and some). */
export const ALIVE_TTL_MS = 3500;
/** How often a node looks for lost nodes. Kill -9 → reported within ALIVE_TTL_MS + SCAN_MS + HEARTBEAT_MS. */
export const SCAN_MS = 1000;
/** After (re)connecting, wait this long before judging other nodes: after a Redis restart they
 *  need a moment to reconnect and register again. */
export const GRACE_MS = ALIVE_TTL_MS;
/** Heard nothing back this long — no heartbeat answered, or its echo never came down the
 *  subscription — and Redis counts as unreachable even though no connection failed (a hung Redis,
 *  a connection that died without a FIN or RST): the node says so and connects again. */
export const SILENCE_LIMIT_MS = 3 * HEARTBEAT_MS;
/** First connection: give up after this long, so a wrong --redis fails at once. */
const CONNECT_TIMEOUT_MS = 3000;
/** Reconnecting after a loss: 50 ms, doubling, at most RETRY_MAX_MS apart. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 500;

/** A member as the wire carries it: [id, nick, seq]. Lua's cjson writes an empty list as {}. */
type WireMember = [number, string, number];

function members(wire: unknown): MemberInfo[] {
  if (!Array.isArray(wire)) return [];
  return (wire as WireMember[]).map(([id, nick, seq]) => ({ id, nick, seq }));
}

export interface RedisBusOptions {
  endpoint: RedisEndpoint;
  /** Nodes known to be dead (a restarted worker's predecessor): reaped at the first registration. */
  reap?: readonly string[];
  /** Where connection news goes (stderr). */
  log: (line: string) => void;
  /** Called whenever a command is queued: node-redis writes it from a setImmediate, so a select()
   *  loop must yield to Node soon rather than at its next quiet round (EventLoop.requestYield). */
  queued?: () => void;
  /** Runs fn every ms until the returned function is called (default: Node's setInterval). A
   *  select() server passes its loop's timers: a pending Node timer would cap every select() at
   *  10 ms, waking an idle server 100 times a second. */
  every?: (ms: number, fn: () => void) => () => void;
}

function nodeEvery(ms: number, fn: () => void): () => void {
  const timer = setInterval(fn, ms);
  return () => clearInterval(timer);
}

export class RedisBus implements ClusterLink {
  /** New for every process: a restarted worker is a new node. */
  readonly node = randomBytes(4).toString('hex');
  private readonly prefix = KEY_PREFIX;
  private readonly channel: string;
  private readonly privateChannel: string;
  private handler: ClusterHandler | null = null;
  /** Both connections ready. */
  private connected = false;
  /** Registered on this connection: heartbeats and scans may run. */
  private registered = false;
  private connectedAt = 0;
  private everConnected = false;
  private wasLost = false;
  /** When a heartbeat was last answered, and when its echo last came down the subscription. */
  private lastAnswer = 0;
  private lastEcho = 0;
  private stopTimers: (() => void)[] = [];
  private toReap: readonly string[];
  private departing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    private readonly pub: RedisClientType,
    private readonly sub: RedisClientType,
    private readonly options: RedisBusOptions,
  ) {
    this.channel = `${this.prefix}room`;
    this.privateChannel = `${this.prefix}node:${this.node}`;
    this.toReap = options.reap ?? [];
  }

  /** Connects both clients; rejects with a printable message (no password) when Redis is out of reach. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const { endpoint } = options;
    let bus: RedisBus | null = null;
    // Retry for ever once connected; fail the first connection at once.
    const reconnectStrategy = (retries: number, cause: Error): number | Error =>
      bus?.everConnected ? Math.min(RETRY_FIRST_MS * 2 ** retries, RETRY_MAX_MS) : cause;
    const socket = endpoint.path !== undefined
      ? { path: endpoint.path, connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy }
      : { host: endpoint.host!, port: endpoint.port!, connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy };
    const config = {
      socket,
      ...(endpoint.username === undefined ? {} : { username: endpoint.username }),
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      ...(endpoint.database === undefined ? {} : { database: endpoint.database }),
      // While Redis is away, commands fail at once: the room serves its own members meanwhile.
      disableOfflineQueue: true,
    };
    const pub = createClient(config) as RedisClientType;
    const sub = createClient(config) as RedisClientType;
    bus = new RedisBus(pub, sub, options);
    // Attached once and never removed: removing a client's last listener detaches later ones from
    // the events node-redis emits. Errors arrive as events while reconnecting, too.
    for (const client of [pub, sub]) {
      client.on('error', (error: unknown) => bus.lost(error));
      client.on('ready', () => bus.maybeConnected());
    }
    try {
      await pub.connect();
      await sub.connect();
    } catch (error) {
      for (const client of [pub, sub]) if (client.isOpen) client.destroy();
      throw new Error(`cannot reach Redis at ${endpoint.shown}: ${scrubPassword(describe(error), endpoint)}`);
    }
    bus.everConnected = true;
    return bus;
  }

  /** Subscribes, registers through the handler and starts the heartbeat and the scans. */
  async start(handler: ClusterHandler): Promise<void> {
    this.handler = handler;
    await this.sub.subscribe([this.channel, this.privateChannel], (message, channel) => this.received(message, channel));
    const every = this.options.every ?? nodeEvery;
    this.stopTimers.push(every(HEARTBEAT_MS, () => this.beat()), every(SCAN_MS, () => this.scan()));
    this.maybeConnected();
  }

  join(id: number): Promise<{ nick: string; seq: number }> {
    return this.run(JOIN, String(id)).then((reply) => {
      const [seq, nick] = reply as [number, string];
      return { nick, seq };
    });
  }

  rename(id: number, nick: string): Promise<boolean> {
    return this.run(RENAME, String(id), nick).then((reply) => reply === 1);
  }

  leave(id: number, reason: string): void {
    if (this.connected) this.run(LEAVE, String(id), reason).catch(() => {});
  }

  publish(event: Extract<RoomEvent, { k: 'say' | 'act' }>): void {
    if (!this.connected) return;
    this.pub.publish(this.channel, JSON.stringify(event)).catch(() => {});
    this.options.queued?.();
  }

  async register(list: MemberInfo[], highestSeq: number): Promise<Renamed[]> {
    const wire = JSON.stringify(list.map((m): WireMember => [m.id, m.nick, m.seq]));
    const reply = await this.run(REGISTER, String(ALIVE_TTL_MS), String(highestSeq), wire);
    this.registered = true;
    this.lastAnswer = this.lastEcho = performance.now();
    for (const dead of this.toReap) this.run(REAP, dead).catch(() => {});
    this.toReap = [];
    const renamed = JSON.parse(reply as string) as unknown;
    return Array.isArray(renamed) ? (renamed as [number, string, string][]).map(([id, from, to]) => ({ id, from, to })) : [];
  }

  depart(reason: string): Promise<void> {
    this.departing ??= this.connected ? this.run(DEPART, reason).then(() => {}, () => {}) : Promise.resolve();
    this.registered = false;
    return this.departing;
  }

  /** Stops the timers, waits for a departure in flight, and closes both connections. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stopTimers) stop();
    await this.departing;
    for (const client of [this.pub, this.sub]) if (client.isOpen) client.destroy();
  }

  /** Runs a script by its SHA1, sending it whole only if Redis does not know it (it restarted). */
  private async run(script: Script, ...args: string[]): Promise<unknown> {
    const argv = [this.prefix, this.node, ...args];
    this.options.queued?.();
    try {
      return await this.pub.sendCommand(['EVALSHA', script.sha, '0', ...argv]);
    } catch (error) {
      if (describe(error).startsWith('NOSCRIPT')) return this.pub.sendCommand(['EVAL', script.source, '0', ...argv]);
      // This node was reaped (its heartbeat lapsed) while it still ran: register again.
      if (describe(error).startsWith('NOTREGISTERED') && this.connected) this.reconnected();
      throw error;
    }
  }

  /** A message from the subscription: another node's event, or this node's snapshot. */
  private received(message: string, channel: string): void {
    let data: { k: string; node?: string; members?: unknown; nodes?: Record<string, unknown> };
    try {
      data = JSON.parse(message);
    } catch {
      return; // Not ours: anyone may publish on a channel.
    }
    if (channel === this.privateChannel) {
      if (data.k === 'beat') this.lastEcho = performance.now();
      if (data.k !== 'snapshot') return;
      const nodes = new Map<string, MemberInfo[]>();
      for (const [node, list] of Object.entries(data.nodes ?? {})) nodes.set(node, members(list));
      this.handler?.snapshot(nodes);
      return;
    }
    if (data.k === 'sync') data.members = members(data.members);
    this.handler?.event(data as RoomEvent);
  }

  /** Both clients are ready: load the scripts and have the room register. */
  private maybeConnected(): void {
    if (this.handler === null || this.connected || this.closed || !this.pub.isReady || !this.sub.isReady) return;
    if (this.wasLost) this.options.log(`Redis is back at ${this.options.endpoint.shown}: registering this server's members again`);
    this.connected = true;
    this.connectedAt = performance.now();
    // Loaded first, so no EVALSHA falls back to EVAL (which would reorder it behind later commands).
    for (const script of ALL_SCRIPTS) this.pub.sendCommand(['SCRIPT', 'LOAD', script.source]).catch(() => {});
    this.reconnected();
  }

  private reconnected(): void {
    this.registered = false;
    this.handler?.connected();
  }

  /** A connection failed: the cluster is unreachable until both are ready again. */
  private lost(error: unknown): void {
    if (!this.connected || this.closed) return;
    this.connected = false;
    this.registered = false;
    this.wasLost = true;
    this.options.log(`lost Redis at ${this.options.endpoint.shown} (${scrubPassword(describe(error), this.options.endpoint)}): serving this server's members only, reconnecting`);
    this.handler?.disconnected();
  }

  private beat(): void {
    if (!this.registered) return;
    if (performance.now() - Math.min(this.lastAnswer, this.lastEcho) > SILENCE_LIMIT_MS) return this.silent();
    this.run(HEARTBEAT, String(ALIVE_TTL_MS)).then((reply) => {
      this.lastAnswer = performance.now();
      // Reaped while alive (a stall longer than the TTL): register again, as after an outage.
      if (reply === 0 && this.registered) this.reconnected();
    }, () => {});
  }

  /** Redis stopped answering though no connection failed: unreachable; start both connections
   *  again (node-redis keeps the subscription and renews it on connecting). */
  private silent(): void {
    this.lost(new Error(`no answer for ${SILENCE_LIMIT_MS} ms`));
    for (const client of [this.pub, this.sub]) {
      if (client.isOpen) client.destroy();
      client.connect().catch(() => {});
    }
  }

  private scan(): void {
    if (!this.registered || performance.now() - this.connectedAt < GRACE_MS) return;
    this.run(SCAN).then((reply) => {
      if (this.registered) this.handler?.alive(new Set(reply as string[]));
    }, () => {});
  }
}

/** An error's message, or the thing itself as text. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error && cause.message !== error.message ? `${error.message}: ${cause.message}` : error.message;
  }
  return String(error);
}

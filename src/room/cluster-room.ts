// The chat room of one node of a cluster (`serve --redis`): the same protocol as ChatRoom, but the
// room spans every node. Local delivery is immediate; other nodes' events arrive from the bus in
// one stream. Each node keeps a mirror of the whole cluster's members, so /who and the welcome's
// count are answered here, in cluster join order. Only what must be atomic goes through the bus
// and back: claiming a nick (join, rename). A member whose join or rename awaits the bus keeps
// its later lines waiting, in order, so nothing it says overtakes it.
import type { FrameError } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import type { ClusterHandler, ClusterLink, MemberInfo, RoomEvent } from './cluster-link.js';
import { dispatch, quitReason, type LineHandlers } from './commands.js';
import * as line from './protocol.js';
import { Rejections } from './rejections.js';
import type { CloseReason, Peer, Service, Session } from './service.js';

/** Lines a member may send while its join or rename awaits the cluster (normally well under 1 ms). */
const MAX_WAITING_LINES = 100;
/** ...and at most this many characters of them. */
const MAX_WAITING_CHARS = 256 * 1024;
/** Why this node's members leave when it shuts down (the transport's own reason). */
const SHUTDOWN_REASON: CloseReason = 'server shutting down';

/** A member of the cluster as this node's mirror holds it. */
interface Entry extends MemberInfo {
  readonly node: string;
}

/** One of this node's own connections. */
class LocalMember implements Session, Entry {
  state: 'joining' | 'in' | 'gone' = 'joining';
  nick = '';
  seq = 0;
  /** A join or rename awaits the cluster: lines (and rejection answers) wait here, in order. */
  busy = true;
  readonly waiting: (string | Buffer)[] = [];
  waitingChars = 0;
  /** Why it left while its join was still in flight. */
  leftWhileJoining = '';

  constructor(
    private readonly room: ClusterRoom,
    readonly peer: Peer,
    readonly node: string,
    readonly id: number,
  ) {}

  line(text: string): void {
    if (this.state !== 'gone') this.room.line(this, text);
  }

  reject(code: FrameError): void {
    if (this.state !== 'gone') this.room.rejectLine(this, code);
  }

  closed(reason: CloseReason): void {
    this.room.leave(this, reason);
  }
}

const byJoinOrder = (a: Entry, b: Entry): number => a.seq - b.seq || (a.node < b.node ? -1 : a.node > b.node ? 1 : a.id - b.id);

export class ClusterRoom implements Service, ClusterHandler {
  readonly mode = 'chat' as const;
  readonly linesAsBytes = false;
  /** Resolves once this node has registered and seen the cluster's members: then it may listen. */
  readonly ready: Promise<void>;
  private readonly node: string;
  /** This node's connections, joining or in. */
  private readonly local = new Set<LocalMember>();
  /** The mirror: node → member id → entry, this node's own members included. */
  private readonly nodes = new Map<string, Map<number, Entry>>();
  /** Lower-cased nick → entry, for provisional guest nicks while the cluster is unreachable. */
  private readonly byNick = new Map<string, Entry>();
  private count = 0;
  private nextId = 1;
  private highestSeq = 0;
  private state: 'down' | 'registering' | 'up' = 'down';
  /** Bumped on every (dis)connection: a registration from an older one is stale. */
  private generation = 0;
  /** This node's membership changed while a registration ran: register again. */
  private changed = false;
  /** This node's members were told the cluster is unreachable, and not yet that it is back. */
  private apart = false;
  private shuttingDown = false;
  private registeredOnce = false;
  private snapshotSeen = false;
  private markReady!: () => void;
  private readonly rejections: Rejections;
  private readonly helpFrame = encodeLine(line.HELP);
  private readonly handlers: LineHandlers<LocalMember> = {
    say: (member, text) => this.say(member, 'say', line.message(member.nick, text), text),
    act: (member, action) => this.say(member, 'act', line.action(member.nick, action), action),
    rename: (member, nick) => this.rename(member, nick),
    who: (member) => this.reply(member, line.users(this.entries().map((entry) => entry.nick))),
    quit: (member, reason) => this.quit(member, reason),
    help: (member) => member.peer.send(this.helpFrame),
    reply: (member, text) => this.reply(member, text),
  };

  constructor(
    options: { maxLineBytes: number },
    private readonly link: ClusterLink,
  ) {
    this.node = link.node;
    this.rejections = new Rejections(options.maxLineBytes);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  open(peer: Peer): Session {
    const member = new LocalMember(this, peer, this.node, this.nextId++);
    this.local.add(member);
    if (this.state === 'up') {
      this.link.join(member.id).then(
        ({ nick, seq }) => this.admit(member, nick, seq, true),
        () => this.joinHere(member),
      );
    } else {
      this.joinHere(member);
    }
    return member;
  }

  shutdown(): void {
    this.shuttingDown = true;
    const frame = encodeLine(line.SHUTTING_DOWN);
    for (const member of this.local) if (member.state === 'in') member.peer.send(frame);
    // Every other node's members see each of ours leave (server shutting down).
    void this.link.depart(SHUTDOWN_REASON);
  }

  /** A complete line from a member: handled now, or queued behind its join or rename. */
  line(member: LocalMember, text: string): void {
    if (member.busy) this.wait(member, text, text.length);
    else dispatch(this.handlers, member, text);
  }

  rejectLine(member: LocalMember, code: FrameError): void {
    const frame = this.rejections.frameFor(code);
    if (member.busy) this.wait(member, frame, 0);
    else member.peer.send(frame);
  }

  /** The member's connection ended: it leaves (unless /quit already took it out). */
  leave(member: LocalMember, reason: CloseReason): void {
    if (member.state === 'gone') return;
    if (member.state === 'joining') {
      // Its join is in flight: admit() announces the leave right after it.
      member.state = 'gone';
      member.leftWhileJoining = reason;
      this.local.delete(member);
      return;
    }
    this.remove(member);
    if (this.shuttingDown) return;
    this.broadcast(member, line.left(member.nick, reason));
    this.link.leave(member.id, reason);
  }

  // --- what the bus says (on Node's loop, outside any select() round) ---

  connected(): void {
    void this.register();
  }

  disconnected(): void {
    this.generation++;
    this.state = 'down';
    if (this.apart || !this.registeredOnce) return;
    this.apart = true;
    this.tellLocal(line.CLUSTER_UNREACHABLE);
  }

  event(event: RoomEvent): void {
    if (event.node === this.node) return;
    switch (event.k) {
      case 'say':
        return this.tellLocal(line.message(event.nick, event.text));
      case 'act':
        return this.tellLocal(line.action(event.nick, event.text));
      case 'join':
        if (this.find(event.node, event.id) !== undefined) return;
        this.add({ node: event.node, id: event.id, nick: event.nick, seq: event.seq });
        return this.tellLocal(line.joined(event.nick));
      case 'leave': {
        const entry = this.find(event.node, event.id);
        if (entry === undefined) return;
        this.forget(entry);
        return this.tellLocal(line.left(entry.nick, event.reason));
      }
      case 'rename': {
        const entry = this.find(event.node, event.id);
        if (entry === undefined || entry.nick === event.to) return;
        this.setNick(entry, event.to);
        return this.tellLocal(line.renamed(event.from, event.to));
      }
      case 'sync':
        return this.replaceNode(event.node, event.members);
      case 'down':
        return this.dropNode(event.node, event.reason);
      case 'lost':
        return this.dropNode(event.node, line.NODE_LOST);
    }
  }

  snapshot(nodes: Map<string, MemberInfo[]>): void {
    // The snapshot comes from this node's registration: Redis holds it, so the cluster is back.
    this.tellBack();
    for (const [node, members] of nodes) if (node !== this.node) this.replaceNode(node, members);
    this.snapshotSeen = true;
    if (this.registeredOnce) this.markReady();
  }

  alive(nodes: ReadonlySet<string>): void {
    for (const node of [...this.nodes.keys()]) {
      if (node !== this.node && !nodes.has(node)) this.dropNode(node, line.NODE_LOST);
    }
  }

  // --- joining, registering ---

  /** Registers this node's members (again), until no member came or went meanwhile. */
  private async register(): Promise<void> {
    const generation = ++this.generation;
    this.state = 'registering';
    do {
      this.changed = false;
      const members = [...this.local].filter((m) => m.state === 'in').map(({ id, nick, seq }) => ({ id, nick, seq }));
      let renamed;
      try {
        renamed = await this.link.register(members, this.highestSeq);
      } catch {
        return; // Unreachable again: the next connection registers.
      }
      if (generation !== this.generation) return;
      for (const { id, from, to } of renamed) {
        const member = this.find(this.node, id);
        if (member instanceof LocalMember && member.state === 'in' && member.nick === from) this.renameLocal(member, to);
      }
    } while (this.changed);
    this.state = 'up';
    this.registeredOnce = true;
    if (this.snapshotSeen) this.markReady();
    this.tellBack();
  }

  /** Once per outage, as soon as this node is registered again. */
  private tellBack(): void {
    if (!this.apart) return;
    this.apart = false;
    this.tellLocal(line.CLUSTER_BACK);
  }

  /** Without the cluster (unreachable, or registering): a guest nick no known member holds; the
   *  next registration claims it for real (or renames it, if another node took it meanwhile). */
  private joinHere(member: LocalMember): void {
    let seq: number;
    do seq = ++this.highestSeq;
    while (this.byNick.has(`guest-${seq}`));
    this.changed = true;
    this.admit(member, `guest-${seq}`, seq, false);
  }

  private admit(member: LocalMember, nick: string, seq: number, claimed: boolean): void {
    if (member.state === 'gone') {
      if (claimed) this.link.leave(member.id, member.leftWhileJoining);
      return;
    }
    member.state = 'in';
    member.nick = nick;
    member.seq = seq;
    this.add(member);
    member.peer.send(encodeLine(line.welcome(nick, this.count)));
    this.broadcast(member, line.joined(nick));
    if (this.apart) member.peer.send(encodeLine(line.CLUSTER_UNREACHABLE));
    this.resume(member);
  }

  // --- lines ---

  private wait(member: LocalMember, item: string | Buffer, chars: number): void {
    if (member.waiting.length >= MAX_WAITING_LINES || member.waitingChars + chars > MAX_WAITING_CHARS) {
      member.peer.send(encodeLine(line.TOO_MANY_WAITING));
      return;
    }
    member.waiting.push(item);
    member.waitingChars += chars;
  }

  /** The member's join or rename is done: handle what waited, until one awaits the cluster again. */
  private resume(member: LocalMember): void {
    member.busy = false;
    while (!member.busy && member.state === 'in' && member.waiting.length > 0) {
      const item = member.waiting.shift()!;
      if (typeof item === 'string') {
        member.waitingChars -= item.length;
        dispatch(this.handlers, member, item);
      } else {
        member.peer.send(item);
      }
    }
  }

  private say(member: LocalMember, kind: 'say' | 'act', text: string, words: string): void {
    this.broadcast(member, text);
    if (this.state === 'up') this.link.publish({ k: kind, node: this.node, nick: member.nick, text: words });
  }

  private rename(member: LocalMember, nick: string): void {
    if (nick === member.nick) return;
    // Uniqueness is cluster-wide and atomic: without the cluster no nick can be promised.
    if (this.state !== 'up') return this.reply(member, line.NICK_NEEDS_CLUSTER);
    member.busy = true;
    this.link.rename(member.id, nick).then(
      (claimed) => {
        if (member.state !== 'in') return;
        if (claimed) this.renameLocal(member, nick);
        else this.reply(member, line.NICK_TAKEN);
        this.resume(member);
      },
      () => {
        if (member.state !== 'in') return;
        this.reply(member, line.NICK_NEEDS_CLUSTER);
        this.resume(member);
      },
    );
  }

  /** Leaves at once — the nick is free here and /who no longer lists it — then flushes and closes. */
  private quit(member: LocalMember, reason: string): void {
    this.remove(member);
    this.broadcast(member, line.left(member.nick, quitReason(reason)));
    this.link.leave(member.id, quitReason(reason));
    member.peer.end();
  }

  private renameLocal(member: LocalMember, nick: string): void {
    const from = member.nick;
    this.setNick(member, nick);
    const frame = encodeLine(line.renamed(from, nick));
    for (const m of this.local) if (m.state === 'in') m.peer.send(frame);
  }

  private remove(member: LocalMember): void {
    member.state = 'gone';
    this.local.delete(member);
    this.forget(member);
    // A leave while the cluster is out of reach is not announced: the next registration is.
    if (this.state !== 'up') this.changed = true;
  }

  /** To every local member in the room but `from`. */
  private broadcast(from: LocalMember, text: string): void {
    const frame = encodeLine(text);
    for (const m of this.local) if (m !== from && m.state === 'in') m.peer.send(frame);
  }

  /** To every local member in the room: another node's event, or news of the cluster. */
  private tellLocal(text: string): void {
    const frame = encodeLine(text);
    for (const m of this.local) if (m.state === 'in') m.peer.send(frame);
  }

  private reply(member: LocalMember, text: string): void {
    member.peer.send(encodeLine(text));
  }

  // --- the mirror ---

  /** Every member of the cluster, in join order. */
  private entries(): Entry[] {
    const all: Entry[] = [];
    for (const members of this.nodes.values()) for (const entry of members.values()) all.push(entry);
    return all.sort(byJoinOrder);
  }

  private find(node: string, id: number): Entry | undefined {
    return this.nodes.get(node)?.get(id);
  }

  private add(entry: Entry): void {
    let members = this.nodes.get(entry.node);
    if (members === undefined) this.nodes.set(entry.node, (members = new Map()));
    members.set(entry.id, entry);
    this.byNick.set(entry.nick.toLowerCase(), entry);
    if (entry.seq > this.highestSeq) this.highestSeq = entry.seq;
    this.count++;
  }

  private forget(entry: Entry): void {
    const members = this.nodes.get(entry.node);
    if (members === undefined || !members.delete(entry.id)) return;
    if (members.size === 0) this.nodes.delete(entry.node);
    const key = entry.nick.toLowerCase();
    if (this.byNick.get(key) === entry) this.byNick.delete(key);
    this.count--;
  }

  private setNick(entry: Entry & { nick: string }, nick: string): void {
    const key = entry.nick.toLowerCase();
    if (this.byNick.get(key) === entry) this.byNick.delete(key);
    entry.nick = nick;
    this.byNick.set(nick.toLowerCase(), entry);
  }

  /** What another node registered replaces what this node knew of it; local members hear the
   *  difference: who left, came or was renamed while the two could not hear each other. */
  private replaceNode(node: string, members: MemberInfo[]): void {
    const known = this.nodes.get(node) ?? new Map<number, Entry>();
    const now = new Set(members.map((m) => m.id));
    for (const entry of [...known.values()].sort(byJoinOrder)) {
      if (now.has(entry.id)) continue;
      this.forget(entry);
      this.tellLocal(line.left(entry.nick, line.LEFT_WHILE_APART));
    }
    for (const m of [...members].sort((a, b) => a.seq - b.seq)) {
      const entry = known.get(m.id);
      if (entry === undefined) {
        this.add({ node, ...m });
        this.tellLocal(line.joined(m.nick));
      } else if (entry.nick !== m.nick) {
        const from = entry.nick;
        this.setNick(entry, m.nick);
        this.tellLocal(line.renamed(from, m.nick));
      }
    }
  }

  /** A node is gone: each of its members leaves, in join order. */
  private dropNode(node: string, reason: string): void {
    const members = this.nodes.get(node);
    if (members === undefined || node === this.node) return;
    for (const entry of [...members.values()].sort(byJoinOrder)) {
      this.forget(entry);
      this.tellLocal(line.left(entry.nick, reason));
    }
  }
}

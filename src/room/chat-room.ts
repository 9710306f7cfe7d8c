// The chat room: members, nicks, commands and broadcast. It knows nothing of sockets.
import type { FrameError } from '../framing/line-decoder.js';
import { encodeLine } from '../framing/line-encoder.js';
import { dispatch, quitReason, type LineHandlers } from './commands.js';
import * as line from './protocol.js';
import { Rejections } from './rejections.js';
import type { CloseReason, Peer, Service, Session } from './service.js';

/** One connection's place in the room. */
class Member implements Session {
  /** Set once the member has left (by /quit or by closing); later lines are ignored. */
  gone = false;

  constructor(
    private readonly room: ChatRoom,
    readonly peer: Peer,
    public nick: string,
  ) {}

  line(text: string): void {
    if (!this.gone) this.room.handle(this, text);
  }

  reject(code: FrameError): void {
    if (!this.gone) this.room.rejectLine(this, code);
  }

  closed(reason: CloseReason): void {
    this.room.leave(this, reason);
  }
}

export class ChatRoom implements Service {
  readonly mode = 'chat' as const;
  readonly linesAsBytes = false;
  /** Members in join order (Set keeps insertion order): /who lists them so. */
  private readonly members = new Set<Member>();
  /** Lower-cased nick → member: nicks are unique ignoring case. */
  private readonly byNick = new Map<string, Member>();
  private readonly rejections: Rejections;
  private readonly helpFrame = encodeLine(line.HELP);
  /** What each kind of line does here. */
  private readonly handlers: LineHandlers<Member> = {
    say: (member, text) => this.broadcast(member, line.message(member.nick, text)),
    act: (member, action) => this.broadcast(member, line.action(member.nick, action)),
    rename: (member, nick) => this.rename(member, nick),
    who: (member) => this.reply(member, line.users([...this.members].map((m) => m.nick))),
    quit: (member, reason) => this.quit(member, reason),
    help: (member) => member.peer.send(this.helpFrame),
    reply: (member, text) => this.reply(member, text),
  };
  private nextGuest = 1;
  private shuttingDown = false;

  constructor(options: { maxLineBytes: number }) {
    this.rejections = new Rejections(options.maxLineBytes);
  }

  /** How many members are in the room. */
  get size(): number {
    return this.members.size;
  }

  open(peer: Peer): Session {
    let nick: string;
    do nick = `guest-${this.nextGuest++}`;
    while (this.byNick.has(nick));
    const member = new Member(this, peer, nick);
    this.members.add(member);
    this.byNick.set(nick.toLowerCase(), member);
    peer.send(encodeLine(line.welcome(nick, this.members.size)));
    this.broadcast(member, line.joined(nick));
    return member;
  }

  shutdown(): void {
    this.shuttingDown = true;
    const frame = encodeLine(line.SHUTTING_DOWN);
    for (const member of this.members) member.peer.send(frame);
  }

  /** One complete line from a member: a message, or a command if it starts with '/'. */
  handle(member: Member, text: string): void {
    dispatch(this.handlers, member, text);
  }

  /** Answers a line the decoder rejected (too long, invalid UTF-8). */
  rejectLine(member: Member, code: FrameError): void {
    member.peer.send(this.rejections.frameFor(code));
  }

  /** The member's session is over (its input ended or its connection failed): it leaves,
   *  unless /quit already took it out. */
  leave(member: Member, reason: CloseReason): void {
    if (member.gone) return;
    this.remove(member);
    if (!this.shuttingDown) this.broadcast(member, line.left(member.nick, reason));
  }

  /** NICK is well formed and not reserved (dispatch checked). */
  private rename(member: Member, nick: string): void {
    const key = nick.toLowerCase();
    const holder = this.byNick.get(key);
    if (holder !== undefined && holder !== member) return this.reply(member, line.NICK_TAKEN);
    if (nick === member.nick) return;
    const old = member.nick;
    this.byNick.delete(old.toLowerCase());
    this.byNick.set(key, member);
    member.nick = nick;
    const frame = encodeLine(line.renamed(old, nick));
    for (const m of this.members) m.peer.send(frame);
  }

  /** Leaves at once — the nick and the place in /who are free before the connection has even
   *  flushed — then asks the transport to flush and close. */
  private quit(member: Member, reason: string): void {
    this.remove(member);
    this.broadcast(member, line.left(member.nick, quitReason(reason)));
    member.peer.end();
  }

  private remove(member: Member): void {
    member.gone = true;
    this.members.delete(member);
    this.byNick.delete(member.nick.toLowerCase());
  }

  /** Encodes text once and queues the same bytes for every member but `from`. */
  private broadcast(from: Member, text: string): void {
    const frame = encodeLine(text);
    for (const m of this.members) if (m !== from) m.peer.send(frame);
  }

  private reply(member: Member, text: string): void {
    member.peer.send(encodeLine(text));
  }
}

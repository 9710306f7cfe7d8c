// The chat room without sockets: in-memory peers, every line of PROTOCOL.md's chat section, and
// the promise that one broadcast is encoded once.
import { describe, expect, it } from 'vitest';
import { ERR_INVALID_UTF8, ERR_LINE_TOO_LONG } from '../../src/framing/line-decoder.js';
import { ChatRoom } from '../../src/room/chat-room.js';
import type { CloseReason } from '../../src/room/service.js';
import { type Client, connect } from './memory-peer.js';

/** Not the default (65536), so the too-long answer is seen to quote the room's own limit. */
const MAX_LINE_BYTES = 1000;
const HELP = '* commands: /nick NAME, /who, /me ACTION, /quit [REASON], /help';
const SHUTTING_DOWN = '* server shutting down';
const CONTROL_REFUSED = '! control characters are not allowed, line dropped';
/** Every leave reason a transport can give (the compiler keeps this list complete). */
const CLOSE_REASONS = Object.keys({
  closed: true,
  'connection reset': true,
  'too slow': true,
  'idle timeout': true,
  'server shutting down': true,
  'server error': true,
} satisfies Record<CloseReason, true>) as CloseReason[];

interface Member extends Client {
  /** Sends one line, as the transport does once its '\n' has arrived. */
  say(text: string): void;
}

function newRoom(): ChatRoom {
  return new ChatRoom({ maxLineBytes: MAX_LINE_BYTES });
}

function join(room: ChatRoom): Member {
  const client = connect(room);
  return { ...client, say: (text) => client.session.line(text) };
}

/** n members (guest-1 … guest-n) who have read their welcomes and joins. */
function members(room: ChatRoom, n: number): Member[] {
  const joined = Array.from({ length: n }, () => join(room));
  for (const member of joined) member.peer.take();
  return joined;
}

/** What each member received since the last look. */
const heard = (...who: Member[]): string[][] => who.map((member) => member.peer.take());

/** The answer to /who, asked by member (whose own output is then consumed). */
function who(member: Member): string {
  member.peer.take();
  member.say('/who');
  const [answer, ...more] = member.peer.take();
  expect(more).toEqual([]);
  return answer!;
}

describe('ChatRoom: joining', () => {
  it('welcomes a newcomer with its guest nick and the count, and tells everyone else', () => {
    const room = newRoom();
    const a = join(room);
    expect(a.peer.take()).toEqual(['* welcome guest-1, 1 users online; /help for commands']);
    const b = join(room);
    expect(heard(a, b)).toEqual([['* guest-2 joined'], ['* welcome guest-2, 2 users online; /help for commands']]);
    const c = join(room);
    expect(heard(a, b, c)).toEqual([
      ['* guest-3 joined'],
      ['* guest-3 joined'],
      ['* welcome guest-3, 3 users online; /help for commands'],
    ]);
    expect(room.size).toBe(3);
  });

  it('counts who is there now; guest numbers are never given out again', () => {
    const room = newRoom();
    const [a] = members(room, 2);
    a!.session.closed('closed');
    const c = join(room);
    expect(c.peer.take()).toEqual(['* welcome guest-3, 2 users online; /help for commands']);
  });

  it('skips a guest nick a member has taken, whatever its case', () => {
    const room = newRoom();
    const [a] = members(room, 1);
    a!.say('/nick GUEST-2');
    expect(join(room).peer.take()).toEqual(['* welcome guest-3, 2 users online; /help for commands']);
  });
});

describe('ChatRoom: messages and actions', () => {
  it('sends a message to everyone else as [NICK] text, never back to the sender', () => {
    const [a, b, c] = members(newRoom(), 3);
    a!.say('hello there');
    expect(heard(a!, b!, c!)).toEqual([[], ['[guest-1] hello there'], ['[guest-1] hello there']]);
  });

  it('prefixes every line a member causes, so none reads as a server event or error', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('* guest-9 joined');
    a!.say('! nick taken');
    a!.say(' \tleading blanks kept');
    expect(heard(b!)).toEqual([['[guest-1] * guest-9 joined', '[guest-1] ! nick taken', '[guest-1]  \tleading blanks kept']]);
  });

  it('ignores an empty line', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('');
    expect(heard(a!, b!)).toEqual([[], []]);
  });

  it('shows /me ACTION to everyone else as [NICK] *ACTION*; command names ignore case', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/me waves');
    a!.say('/ME  stretches  ');
    expect(heard(a!, b!)).toEqual([[], ['[guest-1] *waves*', '[guest-1] *stretches*']]);
  });

  it('answers /me with nothing after it with its usage, to the sender only', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/me');
    a!.say('/me   ');
    expect(heard(a!, b!)).toEqual([['! usage: /me ACTION', '! usage: /me ACTION'], []]);
  });
});

describe('ChatRoom: /nick', () => {
  it('renames: everyone hears it, the renamed member too, and later lines carry the new nick', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/nick alice');
    expect(heard(a!, b!)).toEqual([['* guest-1 is now alice'], ['* guest-1 is now alice']]);
    a!.say('hi');
    a!.say('/me smiles');
    expect(heard(b!)).toEqual([['[alice] hi', '[alice] *smiles*']]);
    expect(who(b!)).toBe('* users: alice, guest-2');
  });

  it('takes 1–24 of A-Z a-z 0-9 _ -', () => {
    const [a, b] = members(newRoom(), 2);
    const longest = 'Az09_-'.repeat(4);
    a!.say(`/nick ${longest}`);
    a!.say('/nick x');
    expect(heard(b!)).toEqual([[`* guest-1 is now ${longest}`, `* ${longest} is now x`]]);
  });

  it('refuses a nick someone else has, ignoring case, to the asker only', () => {
    const [a, b, c] = members(newRoom(), 3);
    a!.say('/nick alice');
    heard(a!, b!, c!);
    b!.say('/nick ALICE');
    expect(heard(a!, b!, c!)).toEqual([[], ['! nick taken'], []]);
    expect(who(c!)).toBe('* users: alice, guest-2, guest-3');
  });

  it('lets a member change the case of its own nick, and ignores a change to the same nick', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/nick alice');
    a!.say('/nick alice');
    a!.say('/nick ALICE');
    expect(heard(a!, b!)).toEqual([
      ['* guest-1 is now alice', '* alice is now ALICE'],
      ['* guest-1 is now alice', '* alice is now ALICE'],
    ]);
  });

  it('frees the old nick', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/nick alice');
    b!.say('/nick guest-1');
    expect(heard(a!)).toEqual([['* guest-1 is now alice', '* guest-2 is now guest-1']]);
  });

  it('refuses a malformed nick (empty, too long, other characters) to the asker only', () => {
    const [a, b] = members(newRoom(), 2);
    const malformed = ['/nick', '/nick  ', `/nick ${'a'.repeat(25)}`, '/nick bad!', '/nick two words', '/nick café', '/nick a.b'];
    for (const line of malformed) a!.say(line);
    expect(heard(a!, b!)).toEqual([malformed.map(() => '! invalid nick'), []]);
    expect(who(b!)).toBe('* users: guest-1, guest-2');
  });

  it('refuses server and selectchat, in any case: they would read as the server speaking', () => {
    const [a, b] = members(newRoom(), 2);
    const reserved = ['server', 'SERVER', 'selectchat', 'SelectChat'];
    for (const nick of reserved) a!.say(`/nick ${nick}`);
    expect(heard(a!, b!)).toEqual([reserved.map(() => '! nick reserved'), []]);
  });
});

describe('ChatRoom: /who, /help, unknown commands', () => {
  it('lists members in join order, not by nick, to the asker only', () => {
    const [a, b, c] = members(newRoom(), 3);
    a!.say('/nick zed');
    c!.say('/nick abe');
    heard(a!, b!, c!);
    b!.say('/WHO');
    expect(heard(a!, b!, c!)).toEqual([[], ['* users: zed, guest-2, abe'], []]);
    b!.session.closed('closed');
    expect(who(a!)).toBe('* users: zed, abe');
  });

  it('answers /help with the command list, to the asker only', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/help');
    a!.say('/Help me');
    expect(heard(a!, b!)).toEqual([[HELP, HELP], []]);
  });

  it('answers any other command with its name as typed, to the sender only', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/foo bar baz');
    a!.say('/');
    a!.say('/Nicks alice');
    a!.say('//who');
    expect(heard(a!, b!)).toEqual([
      [
        '! unknown command /foo (try /help)',
        '! unknown command / (try /help)',
        '! unknown command /Nicks (try /help)',
        '! unknown command //who (try /help)',
      ],
      [],
    ]);
  });
});

describe('ChatRoom: /quit', () => {
  it('leaves at once: everyone else hears it, the nick and the place in /who are free, end() is called', () => {
    const room = newRoom();
    const [a, b, c] = members(room, 3);
    a!.say('/quit');
    expect(heard(a!, b!, c!)).toEqual([[], ['* guest-1 left (quit)'], ['* guest-1 left (quit)']]);
    expect(a!.peer.ended).toBe(true);
    expect(b!.peer.ended || c!.peer.ended).toBe(false);
    expect(room.size).toBe(2);
    expect(who(b!)).toBe('* users: guest-2, guest-3');
    b!.say('/nick guest-1');
    expect(heard(c!)).toEqual([['* guest-2 is now guest-1']]);
  });

  it('ignores what the quitter sends afterwards, and its closing: it has left once', () => {
    const [a, b] = members(newRoom(), 2);
    a!.say('/quit');
    heard(a!, b!);
    a!.say('still here');
    a!.say('/who');
    a!.say('/nick late');
    a!.session.reject(ERR_LINE_TOO_LONG);
    a!.session.closed('closed');
    expect(heard(a!, b!)).toEqual([[], []]);
  });

  it('gives a reason as quit: REASON', () => {
    const [a, b, c] = members(newRoom(), 3);
    a!.say('/quit going home');
    b!.say('/QUIT   see you  ');
    expect(heard(c!)).toEqual([['* guest-1 left (quit: going home)', '* guest-2 left (quit: see you)']]);
  });
});

describe('ChatRoom: control characters', () => {
  /** C0 but TAB (LF included: no line holds one, but the room does not rely on that), DEL, C1,
   *  the bidi embeddings/overrides U+202A–U+202E and isolates U+2066–U+2069. */
  const refused = [
    '\x00', '\x07', '\x08', '\x0a', '\x0b', '\r', '\x1b', '\x1f', '\x7f', '\x80', '\x85', '\x9b', '\x9f',
    '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069',
  ];
  /** Their neighbours, and TAB, pass. */
  const allowed = ['\t', ' ', '~', '\xa0', '\u2029', '\u202f', '\u2065', '\u206a', 'é', '😀'];
  const name = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

  it.each(refused.map((c) => [name(c), c]))('refuses a line holding %s whole, to the sender only', (_, c) => {
    const [a, b] = members(newRoom(), 2);
    for (const line of [`red${c}alert`, `/me ${c}[2J`, `/quit bye${c}`, `/nick x${c}`]) a!.say(line);
    expect(heard(a!, b!)).toEqual([Array(4).fill(CONTROL_REFUSED), []]);
    // The refused /quit did not happen.
    expect(a!.peer.ended).toBe(false);
    expect(who(b!)).toBe('* users: guest-1, guest-2');
  });

  it('passes TAB and the characters next to the refused ranges', () => {
    const [a, b] = members(newRoom(), 2);
    for (const c of allowed) a!.say(`x${c}y`);
    a!.say(`/me x${allowed.join('')}y`);
    expect(heard(a!, b!)).toEqual([[], [...allowed.map((c) => `[guest-1] x${c}y`), `[guest-1] *x${allowed.join('')}y*`]]);
  });
});

describe('ChatRoom: leaving, rejected lines, shutdown', () => {
  it.each(CLOSE_REASONS)('shows a member whose session closed as left (%s), once', (reason) => {
    const room = newRoom();
    const [a, b, c] = members(room, 3);
    a!.session.closed(reason);
    a!.session.closed(reason);
    expect(heard(a!, b!, c!)).toEqual([[], [`* guest-1 left (${reason})`], [`* guest-1 left (${reason})`]]);
    expect(room.size).toBe(2);
    expect(who(b!)).toBe('* users: guest-2, guest-3');
    // A closed member's session hears no more lines (the transport should not send any).
    a!.say('ghost');
    expect(heard(b!, c!)).toEqual([[], []]);
    // Its end is the transport's business: the room did not ask for one.
    expect(a!.peer.ended).toBe(false);
  });

  it('answers a rejected line (too long, invalid UTF-8) to its sender only', () => {
    const [a, b] = members(newRoom(), 2);
    a!.session.reject(ERR_LINE_TOO_LONG);
    a!.session.reject(ERR_INVALID_UTF8);
    expect(heard(a!, b!)).toEqual([[`! line too long (max ${MAX_LINE_BYTES} bytes)`, '! invalid UTF-8, line dropped'], []]);
  });

  it('says goodbye to everyone on shutdown, and no leave lines follow as sessions close', () => {
    const room = newRoom();
    const all = members(room, 3);
    room.shutdown();
    expect(heard(...all)).toEqual(all.map(() => [SHUTTING_DOWN]));
    for (const member of all) member.session.closed('server shutting down');
    expect(heard(...all)).toEqual(all.map(() => []));
    expect(room.size).toBe(0);
  });
});

describe('ChatRoom: one broadcast is encoded once', () => {
  /** Each event, caused by the first of four members; which members receive it. */
  const events: [string, (room: ChatRoom, m: Member[]) => void, 'others' | 'all'][] = [
    ['a message', (_, m) => m[0]!.say('hello'), 'others'],
    ['an action', (_, m) => m[0]!.say('/me waves'), 'others'],
    ['a rename', (_, m) => m[0]!.say('/nick alice'), 'all'],
    ['a /quit', (_, m) => m[0]!.say('/quit'), 'others'],
    ['a close', (_, m) => m[0]!.session.closed('connection reset'), 'others'],
    ['the shutdown', (room) => room.shutdown(), 'all'],
  ];

  it.each(events)('%s: every recipient gets the same Buffer', (_, cause, whom) => {
    const room = newRoom();
    const all = members(room, 4);
    cause(room, all);
    const recipients = whom === 'all' ? all : all.slice(1);
    const frames = recipients.map((member) => member.peer.frames);
    expect(frames.map((f) => f.length)).toEqual(recipients.map(() => 1));
    for (const [frame] of frames) expect(frame).toBe(frames[0]![0]);
  });

  it('a join: every member already there gets the same Buffer', () => {
    const room = newRoom();
    const all = members(room, 3);
    join(room);
    const frames = all.map((member) => member.peer.frames);
    for (const f of frames) expect(f).toEqual([frames[0]![0]]);
    for (const [frame] of frames) expect(frame).toBe(frames[0]![0]);
  });
});

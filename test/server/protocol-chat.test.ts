// Chat mode over real sockets: every line of the protocol, as each client sees it.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { destroyAllClients, joinRoom, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

const HELP = '* commands: /nick NAME, /who, /me ACTION, /quit [REASON], /help';

describe.each(ENGINES)('chat protocol (engine %s)', (engine) => {
  let server: ServerProcess;

  // One server per test: guest numbers and counts start from 1 every time.
  beforeEach(async () => {
    server = await startServer(engine, ['--mode', 'chat']);
  });
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  const join = (): Promise<LineClient> => LineClient.join(server.host, server.port);
  const connect = (): Promise<LineClient> => LineClient.connect(server.host, server.port);

  /** n clients, each having seen the others join, in join order. */
  const room = (n: number): Promise<LineClient[]> => joinRoom(server.host, server.port, n);

  it('prints the ready line with host, port, engine and mode', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.port).toBeGreaterThan(0);
    expect(server.engine).toBe(engine);
    expect(server.mode).toBe('chat');
  });

  it('welcomes with the nick and the count: "1 users online", then "2 users online"', async () => {
    const a = await connect();
    await a.expectLine('* welcome guest-1, 1 users online; /help for commands');
    const b = await connect();
    await b.expectLine('* welcome guest-2, 2 users online; /help for commands');
    const c = await connect();
    await c.expectLine('* welcome guest-3, 3 users online; /help for commands');
  });

  it('tells the others "* NICK joined", and not the newcomer', async () => {
    const [a] = await room(1);
    const b = await join();
    await a!.expectLine('* guest-2 joined');
    await b.expectNoLine();
  });

  it('says a message to everyone else as "[nick] text", never back to the sender', async () => {
    const [a, b, c] = await room(3);
    await a!.send('hello there\n');
    await b!.expectLine('[guest-1] hello there');
    await c!.expectLine('[guest-1] hello there');
    await a!.expectNoLine();
  });

  it('ignores empty lines', async () => {
    const [a, b] = await room(2);
    await a!.send('\n\n\r\n');
    await a!.send('after\n');
    await b!.expectLine('[guest-1] after');
    await a!.expectNoLine();
    await b!.expectNoLine();
  });

  it('/nick renames and tells everyone including the renamer: "* OLD is now NEW"', async () => {
    const [a, b] = await room(2);
    await a!.send('/nick alice\n');
    await a!.expectLine('* guest-1 is now alice');
    await b!.expectLine('* guest-1 is now alice');
    await a!.send('hi\n');
    await b!.expectLine('[alice] hi');
  });

  it('/nick refuses a nick taken, ignoring case: "! nick taken" to the asker only', async () => {
    const [a, b] = await room(2);
    await a!.send('/nick Alice\n');
    await a!.expectLine('* guest-1 is now Alice');
    await b!.expectLine('* guest-1 is now Alice');
    await b!.send('/nick aLiCe\n');
    await b!.expectLine('! nick taken');
    await a!.expectNoLine();
    // guest-1 was freed by the rename.
    await b!.send('/nick GUEST-1\n');
    await b!.expectLine('* guest-2 is now GUEST-1');
    await a!.expectLine('* guest-2 is now GUEST-1');
  });

  it('/nick accepts 24 characters of A-Z a-z 0-9 _ -', async () => {
    const [a] = await room(1);
    const nick = 'Az09_-'.repeat(4);
    await a!.send(`/nick ${nick}\n`);
    await a!.expectLine(`* guest-1 is now ${nick}`);
  });

  it.each([
    ['too long (25 chars)', 'a'.repeat(25)],
    ['bad characters', 'bad!nick'],
    ['a space inside', 'two words'],
    ['non-ASCII letters', 'héllo'],
    ['empty', ''],
  ])('/nick refuses an invalid nick: %s → "! invalid nick"', async (_, nick) => {
    const [a, b] = await room(2);
    await a!.send(`/nick ${nick}\n`);
    await a!.expectLine('! invalid nick');
    await b!.expectNoLine();
    await a!.send('still guest-1\n');
    await b!.expectLine('[guest-1] still guest-1');
  });

  it('/who lists users in join order: "* users: a, b, c"', async () => {
    const [a, b, c] = await room(3);
    await b!.send('/nick bob\n');
    for (const client of [a, b, c]) await client!.expectLine('* guest-2 is now bob');
    await c!.send('/who\n');
    await c!.expectLine('* users: guest-1, bob, guest-3');
    await a!.expectNoLine();
    a!.end();
    await b!.expectLine('* guest-1 left (closed)');
    await c!.expectLine('* guest-1 left (closed)');
    await b!.send('/who\n');
    await b!.expectLine('* users: bob, guest-3');
  });

  it('/me ACTION shows "[NICK] *ACTION*" to everyone else', async () => {
    const [a, b] = await room(2);
    await a!.send('/me waves at everyone\n');
    await b!.expectLine('[guest-1] *waves at everyone*');
    await a!.expectNoLine();
  });

  it.each([
    ['the shutdown notice', ['/nick servr', '/me shutting down'], '* servr shutting down'],
    ['a rename', ['/nick carl', '/me is now bob'], '* carl is now bob'],
    ['a welcome', ['/nick welcome', '/me bob, 5 users online; /help for commands'], '* welcome bob, 5 users online; /help for commands'],
    ['a leave', ['/nick bob', '/me left (quit)'], '* bob left (quit)'],
  ])('no member can forge a server event: /me cannot fake %s', async (_, lines, forged) => {
    const [a, b] = await room(2);
    await a!.send(`${lines.join('\n')}\n`);
    // Everything b sees up to the action: the rename event, then the action in a member's form.
    const before = await b!.skipUntil(/^\[[\w-]+\] \*.*\*$/);
    expect(before).toEqual([expect.stringMatching(/^\* guest-1 is now \w+$/)]);
    expect(before).not.toContain(forged);
    await b!.expectNoLine();
  });

  it.each(['server', 'SERVER', 'selectchat'])('/nick %s is reserved: "! nick reserved"', async (nick) => {
    const [a, b] = await room(2);
    await a!.send(`/nick ${nick}\n`);
    await a!.expectLine('! nick reserved');
    await b!.expectNoLine();
  });

  it.each([
    ['a carriage return that would rewrite the line', 'hi\r* alice left (quit)'],
    ['an ESC sequence (window title)', 'x\x1b]0;pwned\x07'],
    ['a bell', 'ding\x07'],
    ['DEL', 'a\x7fb'],
    ['a C1 control (NEL)', 'a\u0085b'],
    ['a bidi override (RLO)', 'abc\u202edef'],
    ['a bidi isolate (LRI)', 'abc\u2066def'],
  ])('a line with %s is refused with "! control characters are not allowed, line dropped"; nobody sees it', async (_, text) => {
    const [a, b] = await room(2);
    await a!.send(`${text}\n`);
    await a!.expectLine('! control characters are not allowed, line dropped');
    await a!.send(`/me ${text}\n/quit ${text}\n`);
    await a!.expectLine('! control characters are not allowed, line dropped');
    await a!.expectLine('! control characters are not allowed, line dropped');
    await a!.send('clean\tline\n');
    await b!.expectLine('[guest-1] clean\tline');
  });

  it('/me with nothing after it answers "! usage: /me ACTION" to the sender only', async () => {
    const [a, b] = await room(2);
    await a!.send('/me\n');
    await a!.expectLine('! usage: /me ACTION');
    await b!.expectNoLine();
  });

  it('/help lists the commands', async () => {
    const [a, b] = await room(2);
    await a!.send('/help\n');
    await a!.expectLine(HELP);
    await b!.expectNoLine();
  });

  it('an unknown command answers "! unknown command /x (try /help)" to the sender only', async () => {
    const [a, b] = await room(2);
    await a!.send('/dance wildly\n');
    await a!.expectLine('! unknown command /dance (try /help)');
    await a!.send('/x\n');
    await a!.expectLine('! unknown command /x (try /help)');
    await b!.expectNoLine();
  });

  it('/quit: the others see "* NICK left (quit)" and the server closes the connection', async () => {
    const [a, b] = await room(2);
    await a!.send('/quit\n');
    await b!.expectLine('* guest-1 left (quit)');
    await a!.ended();
    await a!.closed();
    await b!.expectNoLine();
  });

  it('/quit REASON: the others see "* NICK left (quit: REASON)"', async () => {
    const [a, b] = await room(2);
    await a!.send('/nick ann\n/quit gone fishing\n');
    await b!.expectLine('* guest-1 is now ann');
    await b!.expectLine('* ann left (quit: gone fishing)');
    await a!.expectLine('* guest-1 is now ann');
    await a!.ended();
  });

  it('/quit leaves at once: the nick is free and /who no longer lists it, even if the quitter never reads', async () => {
    const [a, b] = await room(2);
    await a!.send('/nick quitter\n');
    await b!.expectLine('* guest-1 is now quitter');
    a!.stopReading();
    await a!.send('/quit\n');
    await b!.expectLine('* quitter left (quit)');
    await b!.send('/who\n');
    await b!.expectLine('* users: guest-2');
    await b!.send('/nick quitter\n');
    await b!.expectLine('* guest-2 is now quitter');
  });

  it('lines after /quit in the same write are ignored', async () => {
    const [a, b] = await room(2);
    await a!.send('/quit\nnot said\n');
    await b!.expectLine('* guest-1 left (quit)');
    await b!.expectNoLine();
  });

  it('a client closing (FIN): the others see "* NICK left (closed)"', async () => {
    const [a, b] = await room(2);
    a!.end();
    await b!.expectLine('* guest-1 left (closed)');
    await a!.closed();
  });

  it('a client resetting (RST): the others see "* NICK left (connection reset)"', async () => {
    const [a, b] = await room(2);
    a!.destroyWithReset();
    await b!.expectLine('* guest-1 left (connection reset)');
  });

  it('a freed nick can be taken again and guest numbers are never reused', async () => {
    const [a, b] = await room(2);
    await a!.send('/nick zed\n');
    await b!.expectLine('* guest-1 is now zed');
    a!.end();
    await b!.expectLine('* zed left (closed)');
    await b!.send('/nick ZED\n');
    await b!.expectLine('* guest-2 is now ZED');
    const c = await connect();
    await c.expectLine('* welcome guest-3, 2 users online; /help for commands');
  });
});

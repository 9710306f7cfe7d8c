// Framing as TCP really delivers it: lines merged into one write, split over many, CRLF, lone CR.
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { ENGINES, killLeftovers, startServer, type ServerProcess } from '../helpers/server.js';

/** Pause between single-byte writes: long enough for each to leave as its own segment. */
const BYTE_GAP_MS = 3;

describe.each(ENGINES)('framing over the wire (engine %s)', (engine) => {
  afterEach(async () => {
    destroyAllClients();
    await killLeftovers();
  });
  afterAll(killLeftovers);

  describe('echo mode', () => {
    let server: ServerProcess;
    beforeEach(async () => {
      server = await startServer(engine, ['--mode', 'echo', '--max-line', '1024']);
    });
    const connect = (): Promise<LineClient> => LineClient.connect(server.host, server.port);

    it('splits lines merged into one write', async () => {
      const a = await connect();
      await a.send('one\ntwo\nthree\n');
      await a.expectLine('one');
      await a.expectLine('two');
      await a.expectLine('three');
      await a.expectNoLine();
    });

    it('joins a line split over several writes', async () => {
      const a = await connect();
      await a.sendSlowly('split into pieces\nand', 4, BYTE_GAP_MS);
      await a.expectLine('split into pieces');
      await a.send(' the rest\n');
      await a.expectLine('and the rest');
    });

    it('strips CRLF endings (nc -C style)', async () => {
      const a = await connect();
      await a.send('hello\r\nworld\r\n');
      await a.expectLine('hello');
      await a.expectLine('world');
    });

    it('strips a CR that arrives in one write and its LF in the next', async () => {
      const a = await connect();
      await a.send('abc\r');
      await a.expectNoLine(50);
      await a.send('\n');
      await a.expectLine('abc');
    });

    it('keeps a lone CR inside a line, and strips only the one CR before LF', async () => {
      const a = await connect();
      await a.send('a\rb\nab\r\r\n\rlead\n');
      await a.expectLine('a\rb');
      await a.expectLine('ab\r');
      await a.expectLine('\rlead');
    });

    it('does not count the CR of CRLF towards --max-line', async () => {
      const a = await connect();
      const full = 'z'.repeat(1024);
      await a.send(`${full}\r\n`);
      await a.expectLine(full);
    });

    it('a multibyte line written one byte per write comes back intact', async () => {
      const a = await connect();
      await a.sendSlowly('héllo 🌍 wörld\n', 1, BYTE_GAP_MS);
      await a.expectLine('héllo 🌍 wörld');
    });
  });

  describe('chat mode', () => {
    let server: ServerProcess;
    beforeEach(async () => {
      server = await startServer(engine, ['--mode', 'chat']);
    });

    /** Two members, a having seen b join. */
    async function pair(): Promise<[LineClient, LineClient]> {
      const a = await LineClient.join(server.host, server.port);
      const b = await LineClient.join(server.host, server.port);
      await a.expectLine('* guest-2 joined');
      return [a, b];
    }

    it('merged lines in one write arrive as separate messages, in order', async () => {
      const [a, b] = await pair();
      await a.send('first\nsecond\n/me third\n');
      await b.expectLine('[guest-1] first');
      await b.expectLine('[guest-1] second');
      await b.expectLine('[guest-1] *third*');
    });

    it('a multibyte message ("héllo 🌍 wörld") written one byte per send arrives intact', async () => {
      const [a, b] = await pair();
      await a.sendSlowly('héllo 🌍 wörld\n', 1, BYTE_GAP_MS);
      await b.expectLine('[guest-1] héllo 🌍 wörld');
    });

    it('commands work with CRLF endings', async () => {
      const [a, b] = await pair();
      await a.send('/nick crlf\r\nhi\r\n');
      await b.expectLine('* guest-1 is now crlf');
      await b.expectLine('[crlf] hi');
    });

    it('an unfinished line at close is dropped: the others only see the leave', async () => {
      const [a, b] = await pair();
      await a.send('never finished');
      a.end();
      await b.expectLine('* guest-1 left (closed)');
      await b.expectNoLine();
    });
  });
});

// `selectchat connect` in interactive mode, driven through a real pseudo-terminal (node-pty):
// what the person at the keyboard sees, read off a screen model rather than the raw bytes.
import { createServer, type AddressInfo } from 'node:net';
import { spawn as spawnPty, type IPty } from 'node-pty';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, CLIENT_ENGINES, Peer, ENGINE_PAIRS, WAIT_MS, startServer, within, type ServerChild } from './chat-processes.js';
import { Screen } from './screen.js';

const COLUMNS = 80;
const ROWS = 24;
const ESC = '\x1b';
const CTRL_C = '\x03';
const CTRL_U = '\x15';
const ARROW_UP = `${ESC}[A`;

/** The client on a pty, its output applied to a Screen as it arrives. */
class PtyClient {
  readonly screen: Screen;
  raw = '';
  readonly exit: Promise<number>;
  private readonly pty: IPty;
  private failure: Error | null = null;
  private waiters: (() => void)[] = [];

  constructor(args: string[], columns = COLUMNS) {
    this.screen = new Screen(columns, ROWS);
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
    // Colours on, as on a person's terminal, whatever the test runner's environment says.
    delete env.NO_COLOR;
    delete env.NODE_DISABLE_COLORS;
    delete env.FORCE_COLOR;
    // Node turns colours off when CI is set (tty.getColorDepth), as CI runs this suite.
    delete env.CI;
    this.pty = spawnPty(process.execPath, [CLI, 'connect', ...args], { name: 'xterm-256color', cols: columns, rows: ROWS, env });
    this.pty.onData((data) => {
      this.raw += data;
      try {
        this.screen.write(data);
      } catch (error) {
        this.failure ??= error as Error;
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.exit = new Promise((resolve) => this.pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  type(keys: string): void {
    this.pty.write(keys);
  }

  /** Waits until the screen satisfies check (bounded); fails at once on output the screen rejects. */
  until(check: (screen: Screen) => boolean, what: string): Promise<void> {
    const reached = new Promise<void>((resolve, reject) => {
      const test = (): void => {
        if (this.failure) reject(this.failure);
        else if (check(this.screen)) resolve();
        else this.waiters.push(test);
      };
      test();
    });
    return within(reached, `${what}; the screen shows:\n${this.screen.text().join('\n')}`, WAIT_MS);
  }

  /** The rows from the first non-empty one to the cursor's. */
  visible(): string[] {
    const rows = this.screen.text().slice(0, this.screen.row + 1);
    return rows.slice(rows.findIndex((row) => row !== ''));
  }

  kill(): void {
    try {
      this.pty.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** A shell command on a pty, its raw output collected: for a client whose stdout alone is a terminal. */
class PtyShell {
  raw = '';
  readonly exit: Promise<number>;
  private readonly pty: IPty;

  constructor(command: string) {
    this.pty = spawnPty('/bin/sh', ['-c', command], { name: 'xterm-256color', cols: COLUMNS, rows: ROWS, env: process.env });
    this.pty.onData((data) => void (this.raw += data));
    this.exit = new Promise((resolve) => this.pty.onExit(({ exitCode }) => resolve(exitCode)));
  }

  kill(): void {
    try {
      this.pty.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A hostile server on a free port: greets, then sends lines a real server would refuse to relay. */
async function hostileServer(lines: string[]): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.end(`* welcome bob, 1 users online; /help for commands\n${lines.map((line) => `${line}\n`).join('')}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

describe.each(CLIENT_ENGINES)('client engine %s, a hostile server', (clientEngine) => {
  const evil = `[mallory] evil ${ESC}[2J\x07 text \u202egnp.exe`;

  it('interactive: control characters and bidi overrides are shown inert, never obeyed', async () => {
    const port = await hostileServer([evil]);
    const bob = new PtyClient(['--port', String(port), '--engine', clientEngine]);
    cleanups.push(() => bob.kill());
    await bob.until((s) => s.text().some((row) => row.includes('[mallory] evil ^[[2J^G text <U+202E>gnp.exe')), 'the line, made inert');
    expect(bob.raw).not.toContain(`${ESC}[2J`);
    expect(bob.raw).not.toContain('\u202e');
  });

  it('scripted with stdout on a terminal (stdin a pipe): the same line is made inert too', async () => {
    const port = await hostileServer([evil]);
    // The shell's pipe gives the client a pipe for stdin while stdout stays the pty.
    const shell = new PtyShell(`printf '' | '${process.execPath}' '${CLI}' connect --port ${port} --engine ${clientEngine}`);
    cleanups.push(() => shell.kill());
    expect(await within(shell.exit, 'the client to exit')).toBe(1);
    expect(shell.raw).toContain('[mallory] evil ^[[2J^G text <U+202E>gnp.exe');
    expect(shell.raw).not.toContain(`${ESC}[2J`);
  });
});

describe.each(ENGINE_PAIRS)('server engine %s, client engine %s', (serverEngine, clientEngine) => {
  /** A server, alice in it on a socket, and bob at the pty (named, prompt drawn). */
  async function room(columns = COLUMNS, extra: string[] = []): Promise<{ at: ServerChild; alice: Peer; bob: PtyClient }> {
    const at = await startServer(serverEngine);
    cleanups.push(() => at.stop());
    const alice = await Peer.join(at, 'alice');
    cleanups.push(() => alice.close());
    const bob = new PtyClient(['--port', String(at.port), '--engine', clientEngine, '--nick', 'bob', ...extra], columns);
    cleanups.push(() => bob.kill());
    await alice.waitFor((line) => / is now bob$/.test(line), 'bob to take his nick');
    await bob.until((s) => s.text().some((row) => / is now bob$/.test(row)) && s.cursorLine() === '>', 'the prompt under the rename');
    return { at, alice, bob };
  }

  it('an incoming line is printed above the prompt; the half-typed input survives and is sent intact', async () => {
    const { alice, bob } = await room();
    bob.type('half typ');
    await bob.until((s) => s.cursorLine() === '> half typ', 'the typed text');
    alice.send('hello bob, are you there?');
    await bob.until((s) => s.text().includes('[alice] hello bob, are you there?') && s.cursorLine() === '> half typ', "alice's line, then the prompt");
    const rows = bob.visible();
    expect(rows.slice(-2)).toEqual(['[alice] hello bob, are you there?', '> half typ']);
    expect(bob.screen.col).toBe('> half typ'.length);
    expect(rows.filter((row) => row.includes('half typ'))).toHaveLength(1);
    bob.type('ed\r');
    await alice.waitFor((line) => line === '[bob] half typed', "bob's finished line");
    await bob.until((s) => s.cursorLine() === '>', 'a fresh prompt');
    // Shown once: the line as typed stays, nothing echoes it a second time.
    expect(bob.visible().slice(-3)).toEqual(['[alice] hello bob, are you there?', '> half typed', '>']);
    bob.type(CTRL_C);
    expect(await within(bob.exit, 'bob to exit after Ctrl-C')).toBe(0);
    await alice.waitFor((line) => line === '* bob left (quit)', 'bob to leave');
  });

  it('input wrapped over two rows (pasted at once) survives an incoming line without gaps or garbage', async () => {
    const { alice, bob } = await room(40);
    const pasted = 'a long line that is pasted in one go, wider than the 40 columns';
    bob.type(pasted);
    await bob.until((s) => s.text().join('').includes(pasted.slice(-20)), 'the pasted text');
    alice.send('interruption');
    await bob.until((s) => s.text().includes('[alice] interruption') && s.cursorLine() === pasted.slice(38), "alice's line, then the input");
    // Right below alice's line, the input's two rows (untrimmed: a row may end in a space).
    const at = bob.screen.text().indexOf('[alice] interruption');
    expect(bob.screen.row).toBe(at + 2);
    expect(bob.screen.text(false).slice(at + 1, at + 3).join('').trimEnd()).toBe(`> ${pasted}`);
    expect(bob.screen.col).toBe(`> ${pasted}`.length - 40);
    expect(bob.visible().filter((row) => row.includes('a long line'))).toHaveLength(1);
    bob.type('\r');
    await alice.waitFor((line) => line === `[bob] ${pasted}`, 'the pasted line, intact');
  });

  it('events dimmed, errors red, control characters inert; too-long lines refused locally; /quit leaves', async () => {
    const { alice, bob } = await room(COLUMNS, ['--max-line', '10']);
    expect(bob.raw).toMatch(/\x1b\[2m\* guest-\d+ is now bob\x1b\[22m/);
    bob.type(`${'x'.repeat(11)}\r`);
    await bob.until((s) => s.text().includes('! line too long (11 bytes, max 10): not sent; arrow up to edit it'), 'the refusal');
    expect(bob.raw).toContain(`${ESC}[31m! line too long`);
    bob.type(ARROW_UP);
    await bob.until((s) => s.cursorLine() === `> ${'x'.repeat(11)}`, 'the refused line back from history');
    bob.type(`${CTRL_U}/nick !!\r`);
    await bob.until((s) => s.text().includes('! invalid nick'), "the server's error");
    expect(bob.raw).toContain(`${ESC}[31m! invalid nick${ESC}[39m`);
    // The server refuses a line with control characters; bob never sees it.
    alice.send(`evil ${ESC}[2J\x07 text`);
    await alice.waitFor((line) => line === '! control characters are not allowed, line dropped', 'the refusal');
    alice.send('/me waves');
    await bob.until((s) => s.text().includes('[alice] *waves*'), 'the action');
    expect(bob.raw).toContain(`${ESC}[3m[alice] *waves*${ESC}[23m`);
    expect(bob.raw).not.toContain('evil');
    bob.type('/quit\r');
    expect(await within(bob.exit, 'bob to exit after /quit')).toBe(0);
    await alice.waitFor((line) => line === '* bob left (quit)', 'bob to leave');
    expect(alice.lines.filter((line) => line.startsWith('[bob]'))).toEqual([]);
  });

  it('server killed: the prompt is cleared, "connection closed by server", exit 1', async () => {
    const { at, bob } = await room();
    bob.type('unsent');
    await bob.until((s) => s.cursorLine() === '> unsent', 'the typed text');
    at.child.kill('SIGKILL');
    await bob.until((s) => s.text().some((row) => /^selectchat: connection (closed|reset) by server$/.test(row)), 'the message');
    expect(await within(bob.exit, 'bob to exit')).toBe(1);
    expect(bob.screen.text().filter((row) => row.startsWith('>'))).toEqual([]);
    expect(bob.raw).not.toMatch(/\n\s+at /);
  });
});

// A new user's first minutes on a fresh checkout (`npm ci` done, as CI does it): the README's
// `./selectchat connect --nick ann` and `... --nick bob`, started at once, are each in the room
// within 2 s — no npm cache, no rebuild, no spinner.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package.js';
import { killLeftovers, startServer } from '../helpers/server.js';

/** The README's promise for a client start on a fresh clone. */
const START_LIMIT_MS = 2000;

/** Runs `./selectchat ARGS` from the checkout; resolves with the ms until its first stdout line. */
function firstLine(args: string[]): Promise<{ ms: number; line: string; stop: () => void }> {
  const started = performance.now();
  const child = spawn('./selectchat', args, { cwd: PACKAGE_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no line within 10 s; stderr: ${stderr}`));
    }, 10_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const end = out.indexOf('\n');
      if (end < 0) return;
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, line: out.slice(0, end), stop: () => child.stdin.end() });
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before a line; stderr: ${stderr}`)));
  });
}

describe('first contact on a fresh checkout', () => {
  afterEach(killLeftovers);
  afterAll(killLeftovers);

  it('./selectchat --version answers at once', async () => {
    const { ms, line } = await firstLine(['--version']);
    expect(line).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ms).toBeLessThan(START_LIMIT_MS);
  });

  it(`two clients started at once (the README's ann and bob) are both in the room within ${START_LIMIT_MS} ms`, async () => {
    const server = await startServer('select');
    const port = String(server.port);
    const [ann, bob] = await Promise.all([
      firstLine(['connect', '--port', port, '--nick', 'ann']),
      firstLine(['connect', '--port', port, '--nick', 'bob']),
    ]);
    for (const client of [ann, bob]) {
      expect(client.line).toMatch(/^\* welcome guest-\d, \d users online; \/help for commands$/);
      expect(client.ms).toBeLessThan(START_LIMIT_MS);
      client.stop();
    }
  });
});

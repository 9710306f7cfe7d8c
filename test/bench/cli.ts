// `selectchat` run as a child for the bench suites: never throws, so a failed exit can be inspected.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI } from '../helpers/server.js';

const run = promisify(execFile);

/** What a finished CLI run left behind. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with args, killed after limitMs; env replaces the environment when given. */
export async function cli(args: string[], limitMs: number, env?: NodeJS.ProcessEnv): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { timeout: limitMs, env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as CliResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

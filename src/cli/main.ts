#!/usr/bin/env node
// The selectchat command line: parses the subcommand and hands over to its module.
import { packageVersion } from '../package.js';
import { connect } from './connect.js';
import { UsageError } from './options.js';
import { send } from './send.js';
import { serve } from './serve.js';

const USAGE = `usage: selectchat <command> [options]

commands:
  serve      run the chat/echo server
  connect    chat client (interactive, or scripted from a pipe)
  send       test peer for experiments: raw bytes in chunks, floods, many connections
  timeline   make an HTML page of a recording (serve --record FILE)
  bench      benchmark select vs libuv vs C

options:
  -h, --help     show this help
  -v, --version  print the version
`;

/** Runs one subcommand and returns its exit code. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case '-v':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case 'serve':
      return serve(rest);
    case 'connect':
      return connect(rest);
    case 'send':
      return send(rest);
    case 'timeline':
      // Loaded on demand, like bench: serve must not pay for it.
      return (await import('./timeline.js')).timeline(rest);
    case 'bench':
      // Loaded on demand: the bench pulls in vega, which `serve` must not pay for.
      return (await import('./bench.js')).bench(rest);
    default:
      throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // Usage errors exit 2; a system error (EADDRINUSE, ...) gets one clear line and exit 1.
  const usage = error instanceof UsageError;
  process.stderr.write(`selectchat: ${(error as Error).message}\n`);
  process.exitCode = usage ? 2 : 1;
}

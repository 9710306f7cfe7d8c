#!/usr/bin/env node
// The selectchat command line: parses the subcommand and hands over to its module.
import { readFileSync } from 'node:fs';

const USAGE = `usage: selectchat <command> [options]

commands:
  serve      run the chat/echo server
  connect    chat client
  bench      benchmark select vs libuv vs C

options:
  -h, --help     show this help
  -v, --version  print the version
`;

/** The package version, read from package.json next to dist/. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return String(pkg.version);
}

const [command] = process.argv.slice(2);
if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
  process.stdout.write(USAGE);
} else if (command === '-v' || command === '--version') {
  process.stdout.write(`${version()}\n`);
} else {
  process.stderr.write(`selectchat: unknown command '${command}'\n${USAGE}`);
  process.exitCode = 2;
}

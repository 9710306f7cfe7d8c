// The command line that starts each engine's server under load; ServerProcess runs it.
import { BUILD_DIR, PACKAGE_ROOT } from '../package.js';
import { serveCommand } from '../process/server-process.js';
import { BENCH_MAX_CLIENTS, type BenchEngine } from './scenarios.js';

/** The hand-tuned `net` reference server (src/bench/net-ref.ts), compiled by `npm run build`. */
export const NET_REF_ENTRY = `${PACKAGE_ROOT}dist/bench/net-ref.js`;

/** The command line that starts an engine's server in a mode on a free loopback port. */
export function serverCommand(engine: BenchEngine, mode: 'echo' | 'chat'): { command: string; args: string[] } {
  const flags = ['--mode', mode, '--host', '127.0.0.1', '--port', '0'];
  if (engine === 'c-ref') return { command: `${BUILD_DIR}selectchat-cref`, args: flags };
  if (engine === 'net-ref') return { command: process.execPath, args: [NET_REF_ENTRY, ...flags] };
  return serveCommand(engine, [...flags, '--max-clients', String(BENCH_MAX_CLIENTS)]);
}

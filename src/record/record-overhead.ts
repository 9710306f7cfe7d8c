// What --record costs under full load: the echo ping-pong of the C load generator against the
// select engine, with and without --record, interleaved run by run (so a drifting machine hits
// both alike); prints every run and the median of the per-pair ratios.
//   node dist/record/record-overhead.js [--runs 5] [--connections 100] [--duration 5] [--warmup 1]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOADGEN, runLoadgen } from '../bench/run-loadgen.js';
import { ServerProcess, serveCommand } from '../process/server-process.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    connections: { type: 'string', default: '100' },
    duration: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    depth: { type: 'string', default: '1' },
  },
});
const runs = Number(values.runs);
const dir = mkdtempSync(join(tmpdir(), 'selectchat-record-overhead-'));

/** One run: a fresh server, the generator's echo load, the server stopped. Messages/s. */
async function run(record: boolean, index: number): Promise<{ rate: number; fileBytes: number }> {
  const file = join(dir, `run-${index}.json`);
  const flags = ['--mode', 'echo', '--port', '0', '--max-clients', '2000', ...(record ? ['--record', file] : [])];
  const { command, args } = serveCommand('select', flags);
  const server = await ServerProcess.start(command, args);
  const loadArgs = ['--host', server.host, '--port', String(server.port), '--workload', 'echo',
    '--connections', values.connections!, '--depth', values.depth!, '--warmup', values.warmup!, '--duration', values.duration!];
  const result = await runLoadgen(loadArgs, (Number(values.warmup) + Number(values.duration)) * 1000);
  server.child.kill('SIGTERM');
  await server.exited;
  if (result.report === null) throw new Error(`${LOADGEN} failed: ${result.stderr}`);
  const fileBytes = record ? statSync(file).size : 0;
  rmSync(file, { force: true });
  return { rate: result.report.messages_per_s, fileBytes };
}

const ratios: number[] = [];
try {
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const rates: Record<string, number> = {};
    for (const record of order) {
      const { rate, fileBytes } = await run(record, i);
      rates[String(record)] = rate;
      process.stdout.write(`run ${i + 1} ${record ? 'with --record   ' : 'without --record'} ${Math.round(rate)} msgs/s` +
        `${record ? `, ${(fileBytes / 1e6).toFixed(1)} MB written` : ''}\n`);
    }
    ratios.push(rates.true! / rates.false!);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const sorted = [...ratios].sort((a, b) => a - b);
const median = sorted[Math.floor(sorted.length / 2)]!;
process.stdout.write(`ratios (with / without): ${ratios.map((r) => r.toFixed(3)).join(', ')}\n`);
process.stdout.write(`median ratio ${median.toFixed(3)}: --record costs ${((1 - median) * 100).toFixed(1)} % of throughput\n`);

// What --record costs under full load: the echo ping-pong of the C load generator against the
// select engine, with and without --record, interleaved run by run (so a drifting machine hits
// both alike); prints every run, the median of the per-pair throughput ratios, and the server's
// CPU per message (all its threads, the writer's included) over the measured window — steadier
// than throughput on a shared machine.
//   node dist/record/record-overhead.js [--runs 5] [--connections 100] [--duration 5] [--warmup 1]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LOADGEN, runLoadgen } from '../bench/run-loadgen.js';
import { processCpuSeconds } from '../process/proc.js';
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

interface Run {
  rate: number;
  /** Server CPU µs per message in the measured window. */
  cpuUs: number;
  fileBytes: number;
}

/** One run: a fresh server, the generator's echo load, the server stopped. */
async function run(record: boolean, index: number): Promise<Run> {
  const file = join(dir, `run-${index}.json`);
  const flags = ['--mode', 'echo', '--port', '0', '--max-clients', '2000', ...(record ? ['--record', file] : [])];
  const { command, args } = serveCommand('select', flags);
  const server = await ServerProcess.start(command, args);
  const loadArgs = ['--host', server.host, '--port', String(server.port), '--workload', 'echo',
    '--connections', values.connections!, '--depth', values.depth!, '--warmup', values.warmup!, '--duration', values.duration!];
  const pid = server.child.pid!;
  let cpuFrom = 0;
  const warm = setTimeout(() => (cpuFrom = processCpuSeconds(pid) ?? 0), Number(values.warmup) * 1000);
  const loading = runLoadgen(loadArgs, (Number(values.warmup) + Number(values.duration)) * 1000);
  // The generator's window ends with its run: read the server's CPU as it ends, before it exits.
  let cpuTo = 0;
  const ends = setTimeout(() => (cpuTo = processCpuSeconds(pid) ?? 0), (Number(values.warmup) + Number(values.duration)) * 1000);
  const result = await loading;
  clearTimeout(warm);
  clearTimeout(ends);
  server.child.kill('SIGTERM');
  await server.exited;
  if (result.report === null) throw new Error(`${LOADGEN} failed: ${result.stderr}`);
  const fileBytes = record ? statSync(file).size : 0;
  rmSync(file, { force: true });
  const messages = result.report.messages_per_s * Number(values.duration);
  return { rate: result.report.messages_per_s, cpuUs: ((cpuTo - cpuFrom) * 1e6) / messages, fileBytes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const ratios: number[] = [];
const cpu: Record<string, number[]> = { true: [], false: [] };
try {
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const rates: Record<string, number> = {};
    for (const record of order) {
      const { rate, cpuUs, fileBytes } = await run(record, i);
      rates[String(record)] = rate;
      cpu[String(record)]!.push(cpuUs);
      process.stdout.write(`run ${i + 1} ${record ? 'with --record   ' : 'without --record'} ${Math.round(rate)} msgs/s, ` +
        `server CPU ${cpuUs.toFixed(2)} µs/msg${record ? `, ${(fileBytes / 1e6).toFixed(1)} MB written` : ''}\n`);
    }
    ratios.push(rates.true! / rates.false!);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const ratio = median(ratios);
const [withCpu, withoutCpu] = [median(cpu.true!), median(cpu.false!)];
process.stdout.write(`ratios (with / without): ${ratios.map((r) => r.toFixed(3)).join(', ')}\n`);
process.stdout.write(`median ratio ${ratio.toFixed(3)}: --record costs ${((1 - ratio) * 100).toFixed(1)} % of throughput\n`);
process.stdout.write(`server CPU per message, median: ${withoutCpu.toFixed(2)} µs without, ${withCpu.toFixed(2)} µs with --record ` +
  `(+${(((withCpu - withoutCpu) / withoutCpu) * 100).toFixed(1)} %)\n`);

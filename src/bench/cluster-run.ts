// One run of the cluster scenario: the chat load against `serve --workers N --redis unix://...`
// on the select engine, with its own fresh private redis-server, or against one plain process
// (workers = 1, no Redis) for the figure beside it.
import { readdirSync } from 'node:fs';
import { CpuTrace } from './cpu-trace.js';
import { emptyRun, judge, type LoadRun, type LoadSettings } from './load-run.js';
import { PrivateRedis } from './redis.js';
import { loadgenArgs, runLoadgen } from './run-loadgen.js';
import { BENCH_MAX_CLIENTS, CLUSTER_ENGINE, CLUSTER_ID, type LoadScenario } from './scenarios.js';
import { processMemory } from '../process/proc.js';
import { serveCommand, ServerProcess } from '../process/server-process.js';

/** Server stderr kept per run, for the report of a failed run. */
const STDERR_KEEP_BYTES = 4096;
/** Workers and their Redis connections take longer to be ready than one process. */
const READY_LIMIT_MS = 30_000;
/** How often the members of each worker are counted (its open fds). */
const FD_SAMPLE_MS = 250;
/** The primary's line naming its workers. */
const WORKER_PIDS = /(\d+) workers \(pids ([\d, ]+)\)/;

/** One run of the cluster scenario, as results.json keeps it; `scenario` is 'cluster'. */
export interface ClusterRun extends LoadRun {
  /** Server processes: 1 = one `serve` process without Redis; N > 1 = `--workers N`. */
  workers: number;
  /** The private Redis's CPU seconds over the measured window (null for one process). */
  redisCpuS: number | null;
  /** Connections each worker held at the fullest sample (its open fds over its own at start). */
  membersPerWorker: number[] | null;
  /**
   * The share of deliveries expected to cross nodes given that spread, if senders are spread
   * like members: 1 − Σ mᵢ(mᵢ − 1) / (N(N − 1)). The generator cannot tell which node delivered.
   */
  crossNodeShare: number | null;
}

/** Open fds of a live process, or null once it is gone. */
function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Counts each worker's members over the run: the sample where they held the most in all. */
class MemberCount {
  private readonly base: (number | null)[];
  private best: number[] | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pids: readonly number[]) {
    this.base = pids.map(fdCount);
  }

  start(): void {
    this.timer = setInterval(() => this.sample(), FD_SAMPLE_MS);
  }

  stop(): number[] | null {
    if (this.timer) clearInterval(this.timer);
    return this.best;
  }

  private sample(): void {
    const now = this.pids.map((pid, i) => {
      const count = fdCount(pid);
      const base = this.base[i];
      return count === null || base == null ? null : Math.max(0, count - base);
    });
    if (now.some((n) => n === null)) return;
    const counts = now as number[];
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    if (!this.best || sum(counts) > sum(this.best)) this.best = counts;
  }
}

/** The expected cross-node share of deliveries for members spread as given. */
export function crossNodeShare(members: readonly number[]): number | null {
  const n = members.reduce((a, b) => a + b, 0);
  if (n < 2) return null;
  const sameNode = members.reduce((a, m) => a + m * (m - 1), 0);
  return 1 - sameNode / (n * (n - 1));
}

/** Runs the load once against `workers` processes (1 = one plain process) on a fresh server and Redis. */
export async function measureCluster(load: LoadScenario, workers: number, run: number, settings: LoadSettings): Promise<ClusterRun> {
  const result: ClusterRun = {
    ...emptyRun(CLUSTER_ID, CLUSTER_ENGINE, run), workers, redisCpuS: null, membersPerWorker: null, crossNodeShare: null,
  };
  const fail = (why: string): ClusterRun => {
    result.failure = why;
    result.flags.push('failed');
    return result;
  };
  let redis: PrivateRedis | null = null;
  let server: ServerProcess | null = null;
  try {
    const flags = ['--mode', 'chat', '--host', '127.0.0.1', '--port', '0', '--max-clients', String(BENCH_MAX_CLIENTS)];
    if (workers > 1) {
      redis = await PrivateRedis.start();
      flags.push('--workers', String(workers), '--redis', redis.url);
    }
    const { command, args } = serveCommand(CLUSTER_ENGINE, flags);
    server = await ServerProcess.start(command, args, { stderrKeepBytes: STDERR_KEEP_BYTES, readyLimitMs: READY_LIMIT_MS });
    result.server.command = server.commandLine;
    let pids = [server.pid];
    if (workers > 1) {
      const named = await server.waitForStderr(WORKER_PIDS);
      pids = [server.pid, ...(named[2] ?? '').split(',').map((p) => Number(p.trim()))];
    }
    const trace = new CpuTrace(pids);
    const redisTrace = redis ? new CpuTrace(redis.pid) : null;
    // One process holds its own members; with workers, the primary holds none.
    const members = new MemberCount(workers > 1 ? pids.slice(1) : pids);
    trace.start();
    redisTrace?.start();
    members.start();
    result.loadgenArgs = loadgenArgs(load, server.host, server.port, settings.warmupS, settings.durationS);
    const generated = await runLoadgen(result.loadgenArgs, (settings.warmupS + settings.durationS) * 1000);
    for (const t of [trace, redisTrace]) {
      t?.sample();
      t?.stop();
    }
    result.membersPerWorker = members.stop();
    result.crossNodeShare = result.membersPerWorker ? crossNodeShare(result.membersPerWorker) : null;
    const peaks = pids.map((pid) => processMemory(pid)?.peakRssBytes ?? null);
    result.server.peakRssBytes = peaks.every((p) => p !== null) ? (peaks as number[]).reduce((a, b) => a + b, 0) : null;
    result.server.exit = await server.stop();
    result.server.stderr = server.stderr;
    judge(result, generated, trace);
    const report = generated.report;
    if (redisTrace && report) {
      result.redisCpuS = redisTrace.window(generated.reportedAt - report.duration_s * 1000, generated.reportedAt)?.cpuS ?? null;
    }
    return result;
  } catch (error) {
    return fail((error as Error).message);
  } finally {
    await server?.stop();
    await redis?.stop();
  }
}

// The benchmark matrix as data: load scenarios, latency sweeps, the two micro-measurements,
// engines, presets.

/**
 * The servers under test: our EventLoop on select(), poll() and epoll (`serve --engine
 * select|poll|epoll`), the libuv twin (`serve --engine libuv`, Node's net module), and the two
 * yardsticks: the C reference (a select() server in C, what our loop is judged against) and
 * net-ref (a hand-tuned plain `net` server, src/bench/net-ref.ts, what the libuv twin is judged
 * against). The order is the tables' and the first run's.
 */
export const ENGINES = ['select', 'poll', 'epoll', 'libuv', 'net-ref', 'c-ref'] as const;
export type BenchEngine = (typeof ENGINES)[number];

/** Our loop's engines: the targets judge each of them on its own. */
export const LOOP_ENGINES: readonly BenchEngine[] = ['select', 'poll', 'epoll'];

/** Bytes per sent line, '\n' included: every load scenario but the size sweep uses it. */
export const LINE_BYTES = 64;

/** The size sweep's lines, '\n' included: 64 B, 1 KiB, 16 KiB, 64 KiB (the servers' longest line
 *  is 65536 bytes before its '\n', so 64 KiB with its '\n' fits). */
export const SWEEP_LINE_BYTES = [64, 1024, 16 * 1024, 64 * 1024];

/** Connections of the size sweep: echo ping-pong, as echo-c10. */
export const SIZE_CONNECTIONS = 10;

/**
 * Messages per chat sender not yet seen by everyone. Throughput still grows past 8 (the pipe
 * is not full); 16 is the deepest that keeps each receiver's queue at K × 16 lines, far below
 * --max-queue, and the generator well under a core.
 */
export const CHAT_DEPTH = 16;

/** Lines in flight per connection for the pipelined echo scenarios. */
export const ECHO_PIPELINE_DEPTH = 16;

/**
 * Connections in the idle scenarios, idle and active together. idle-1000: the select engine
 * holds about 1004 clients (FD_SETSIZE 1024 less Node's own ~20 fds), and the generator opens
 * its idle connections first, so 1000 idle + 10 active would have it refuse most of the *active*
 * ones: 990 idle + 10 active is the most every engine serves in full. idle-5000: 4990 idle + 10
 * active, past FD_SETSIZE, where only poll, epoll and libuv can take part.
 */
export const IDLE_TOTALS = [1000, 5000];
export const IDLE_ACTIVE_CONNECTIONS = 10;

/** --max-clients for the TypeScript servers: room for every scenario's connections (idle-5000). */
export const BENCH_MAX_CLIENTS = 6000;

/** select() cannot watch an fd at or above FD_SETSIZE (glibc's 1024). */
export const FD_SETSIZE_LIMIT = 1024;
/**
 * The engines that wait in select(), so FD_SETSIZE caps their fds: our select engine (it refuses
 * an fd >= 1024 with "! server full") and the C reference (the same).
 */
export const SELECT_BOUND_ENGINES: readonly BenchEngine[] = ['select', 'c-ref'];
/** Clients every select()-bound server here holds for sure: FD_SETSIZE less Node's ~20 own fds. */
export const SELECT_MAX_CLIENTS = 1000;

/**
 * Why an engine cannot take part in a load of `connections` connections (idle ones included),
 * or null when it can. A skipped pair is reported with this reason, never silently left out.
 */
export function skipReason(engine: BenchEngine, connections: number): string | null {
  if (!SELECT_BOUND_ENGINES.includes(engine) || connections <= SELECT_MAX_CLIENTS) return null;
  const who = engine === 'c-ref' ? 'c-ref waits in select() too: it' : 'the select engine';
  return `select() cannot watch fds >= FD_SETSIZE (${FD_SETSIZE_LIMIT}): ${who} holds about ${SELECT_MAX_CLIENTS} clients, this scenario opens ${connections}`;
}

/** A load scenario: what the generator runs against one server. */
export interface LoadScenario {
  id: string;
  /** How the report groups it: echo ping-pong, pipelined echo, chat fan-out, idle crowd, line sizes. */
  group: 'echo' | 'echo-pipelined' | 'chat' | 'idle' | 'size';
  /** The servers' --mode. */
  mode: 'echo' | 'chat';
  workload: 'echo' | 'chat' | 'idle';
  /** Active connections (chat: room members). */
  connections: number;
  /** Chat: members that send; echo: every connection sends. */
  senders: number;
  depth: number;
  idle: number;
  title: string;
  /** Bytes per sent line, '\n' included. */
  lineBytes: number;
}

/** An echo scenario with connections c, depth d. */
function echo(c: number, depth: number): LoadScenario {
  const pipelined = depth > 1;
  return {
    id: pipelined ? `echo-d${depth}-c${c}` : `echo-c${c}`,
    group: pipelined ? 'echo-pipelined' : 'echo',
    mode: 'echo',
    workload: 'echo',
    connections: c,
    senders: c,
    depth,
    idle: 0,
    title: pipelined ? `echo, ${depth} in flight, c=${c}` : `echo ping-pong c=${c}`,
    lineBytes: LINE_BYTES,
  };
}

/** A chat scenario: n members, k of them sending. */
function chat(n: number, k: number): LoadScenario {
  return {
    id: `chat-n${n}-k${k}`,
    group: 'chat',
    mode: 'chat',
    workload: 'chat',
    connections: n,
    senders: k,
    depth: CHAT_DEPTH,
    idle: 0,
    title: `chat N=${n} K=${k}`,
    lineBytes: LINE_BYTES,
  };
}

/** The idle crowd: echo ping-pong on a few connections beside many silent ones. */
function idleCrowd(total: number): LoadScenario {
  const idle = total - IDLE_ACTIVE_CONNECTIONS;
  return {
    id: `idle-${total}`,
    group: 'idle',
    mode: 'echo',
    workload: 'idle',
    connections: IDLE_ACTIVE_CONNECTIONS,
    senders: IDLE_ACTIVE_CONNECTIONS,
    depth: 1,
    idle,
    title: `${idle} idle + ${IDLE_ACTIVE_CONNECTIONS} active echo`,
    lineBytes: LINE_BYTES,
  };
}

/** 64 → "64", 1024 → "1k", 65536 → "64k": the size in a scenario id. */
function sizeLabel(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024}k` : String(bytes);
}

/** Echo ping-pong with lines of a given size. */
function size(bytes: number): LoadScenario {
  return {
    ...echo(SIZE_CONNECTIONS, 1),
    id: `size-${sizeLabel(bytes)}`,
    group: 'size',
    title: `echo c=${SIZE_CONNECTIONS}, ${bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`} lines`,
    lineBytes: bytes,
  };
}

/** Every load scenario, in report order. */
export const LOAD_SCENARIOS: readonly LoadScenario[] = [
  echo(1, 1),
  echo(10, 1),
  echo(100, 1),
  echo(1000, 1),
  echo(10, ECHO_PIPELINE_DEPTH),
  echo(100, ECHO_PIPELINE_DEPTH),
  chat(10, 1),
  chat(100, 1),
  chat(100, 10),
  chat(500, 1),
  chat(500, 50),
  ...IDLE_TOTALS.map(idleCrowd),
  ...SWEEP_LINE_BYTES.map(size),
];

/** A latency sweep's quoted figure: the highest rate whose p99 stays at or under this. */
export const LATENCY_P99_BOUND_US = 5000;

/**
 * A latency sweep offers these fractions of each engine's saturation rate, from light load to
 * past it. Denser at the light end: paced (open-loop) arrivals batch less than the closed-loop
 * run that finds the saturation rate, so on the development machine every engine's p99 passed
 * 5 ms between 5 % and 20 % of it, and open-loop throughput topped out near half of it.
 */
export const LATENCY_FRACTIONS = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2];
/** --quick --latency: light, at the knee, saturated, past saturation. */
export const QUICK_LATENCY_FRACTIONS = [0.05, 0.15, 0.4, 1.2];

/**
 * A latency sweep: the open-loop latency-vs-throughput curve of one load. Its closed-loop run
 * finds each engine's saturation rate; every point then offers a fraction of that rate on a
 * fixed schedule, with the load's depth as the cap on lines (chat: messages) outstanding per
 * sender, the same cap the closed-loop run kept full.
 */
export interface LatencyScenario {
  id: string;
  title: string;
  load: LoadScenario;
}

/** Every latency sweep, in report order. */
export const LATENCY_SCENARIOS: readonly LatencyScenario[] = [
  { id: 'latency-echo-c100', title: `echo c=100, ≤ ${ECHO_PIPELINE_DEPTH} lines outstanding each`, load: echo(100, ECHO_PIPELINE_DEPTH) },
  { id: 'latency-chat-n100-k10', title: `chat N=100 K=10, ≤ ${CHAT_DEPTH} messages outstanding per sender`, load: chat(100, 10) },
];

/**
 * The cluster scenario: the chat load (N=100, K=10) on one room served by `serve --workers N
 * --redis unix://...` on the select engine (each worker its own process, the room shared through
 * a private redis-server the bench starts), beside one process (1: plain `serve`, no Redis).
 */
export const CLUSTER_ID = 'cluster';
export const CLUSTER_WORKERS = [1, 2, 4];
export const CLUSTER_ENGINE: BenchEngine = 'select';
export const CLUSTER_LOAD: LoadScenario = chat(100, 10);

/** The micro-measurements that are not load runs. */
export const SELECT_COST_ID = 'select-cost';
export const MEMORY_ID = 'memory';
export const MICRO_IDS = [SELECT_COST_ID, MEMORY_ID] as const;

/** The waits of the cost curves: select(), poll() and epoll_wait(), each from the addon and in C. */
export const COST_BACKENDS = ['select', 'poll', 'epoll'] as const;
export type CostBackend = (typeof COST_BACKENDS)[number];

/** Idle fd counts of the cost curves; select() only up to SELECT_COST_MAX_IDLE. */
export const SELECT_COST_IDLE = [0, 10, 100, 500, 1000, 2000, 5000];
/** select() cannot watch fds >= FD_SETSIZE: its curve stops here. */
export const SELECT_COST_MAX_IDLE = 1000;

/** The idle counts a backend's curve is measured at. */
export function costIdleCounts(backend: CostBackend, idle: readonly number[]): number[] {
  return backend === 'select' ? idle.filter((k) => k <= SELECT_COST_MAX_IDLE) : [...idle];
}

/** Connections the memory measurement opens on each server. */
export const MEMORY_CONNECTIONS = 1000;

/** Every id --scenarios accepts. */
export const ALL_SCENARIO_IDS: readonly string[] = [
  ...LOAD_SCENARIOS.map((s) => s.id),
  ...LATENCY_SCENARIOS.map((s) => s.id),
  CLUSTER_ID,
  ...MICRO_IDS,
];

/** What --sizes runs. */
export const SIZE_SCENARIO_IDS: readonly string[] = LOAD_SCENARIOS.filter((s) => s.group === 'size').map((s) => s.id);

/** A preset: what `bench` runs when no flag says otherwise. */
export interface Preset {
  name: 'full' | 'quick';
  scenarios: readonly string[];
  engines: readonly BenchEngine[];
  runs: number;
  /** Runs of the cost curves and of the memory measurement (--runs sets them too). */
  microRuns: number;
  durationS: number;
  warmupS: number;
  /** Time budget of each select() cost point, per implementation. */
  selectCostSeconds: number;
  /** What --latency runs. */
  latencyScenarios: readonly string[];
  latencyFractions: readonly number[];
}

/**
 * The whole matrix, for a quiet machine: 5 runs per figure (the targets ask for at least 5), six
 * engines (net-ref runs wherever c-ref does). About 115 minutes (estimated): ~58 the two latency
 * sweeps, ~52 the load scenarios, 2 the cluster, 2 the cost curves and memory.
 */
export const FULL_PRESET: Preset = {
  name: 'full',
  scenarios: ALL_SCENARIO_IDS,
  engines: ENGINES,
  runs: 5,
  microRuns: 5,
  durationS: 5,
  warmupS: 1,
  selectCostSeconds: 0.5,
  latencyScenarios: LATENCY_SCENARIOS.map((s) => s.id),
  latencyFractions: LATENCY_FRACTIONS,
};

/**
 * The README's reproduce-it run, about a minute and a half: echo c=100 and chat N=100 K=10 on all
 * six engines, 3 runs each (~65 s), one run of the cost curves and of memory (~10 s). No idle-5000
 * and no cluster (each ~1 min more: name them with --scenarios), no latency sweep and no sizes
 * (`--quick --latency` is a short sweep on its own).
 */
export const QUICK_PRESET: Preset = {
  name: 'quick',
  scenarios: ['echo-c100', 'chat-n100-k10', SELECT_COST_ID, MEMORY_ID],
  engines: ENGINES,
  runs: 3,
  microRuns: 1,
  durationS: 1,
  warmupS: 0.3,
  selectCostSeconds: 0.15,
  latencyScenarios: ['latency-echo-c100'],
  latencyFractions: QUICK_LATENCY_FRACTIONS,
};


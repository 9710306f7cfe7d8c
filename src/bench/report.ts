// The bench's tables, for the terminal and for report.md, all computed from results.json alone.
import { GENERATOR_BOUND_CORES, GENERATOR_LATE_US, HIGH_STEAL_PCT } from './load-run.js';
import type { BenchResults } from './results.js';
import { BENCH_MAX_CLIENTS, CLUSTER_ENGINE, CLUSTER_ID, COST_BACKENDS, LINE_BYTES, SIZE_CONNECTIONS, type BenchEngine } from './scenarios.js';
import {
  clusterFigures, figures, latencyPoints, memoryFigures, selectCostPoints, sizeFigures, spread, sweepFigures, TARGET_MIN_RUNS, targets, type Spread,
} from './summary.js';
import { costBackend } from './select-cost.js';
import { markdownTable, textTable, type Table } from './table.js';

/** 1234567 → "1.23M", 61876 → "61.9k". */
export function si(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 1 : 2)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(abs >= 1e4 ? 1 : 2)}k`;
  return value.toFixed(abs >= 100 ? 0 : 1);
}

/** A number with a fixed count of decimals. */
const fixed = (digits: number) => (value: number): string => value.toFixed(digits);

/** "median (min–max)", or the median alone when every run agreed or there was one; "–" if none. */
function show(value: Spread | null, format: (v: number) => string): string {
  if (!value) return '–';
  const median = format(value.median);
  if (value.n < 2) return median;
  const low = format(value.min);
  const high = format(value.max);
  return low === high ? median : `${median} (${low}–${high})`;
}

/** Bytes as KiB / MiB. */
function bytes(value: number): string {
  return Math.abs(value) >= 1 << 20 ? `${(value / (1 << 20)).toFixed(1)} MiB` : `${(value / 1024).toFixed(1)} KiB`;
}

/** An engine's rate (or CPU per message) over c-ref's on a scenario, per paired run. */
function versusCRef(results: BenchResults, scenario: string, engine: BenchEngine, metric: 'rate' | 'serverCpuUsPerMsg' = 'rate'): string {
  if (engine === 'c-ref') return '';
  const runs = results.loadRuns.filter((r) => r.scenario === scenario);
  const ratios = runs
    .filter((r) => r.engine === engine)
    .map((r) => {
      const c = runs.find((t) => t.engine === 'c-ref' && t.run === r.run);
      const mine = r[metric];
      const theirs = c?.[metric];
      return mine != null && theirs ? mine / theirs : null;
    });
  return show(spread(ratios), fixed(2));
}

/** The main table: one row per scenario × engine. */
export function loadTable(results: BenchResults): Table {
  const rows = figures(results).map((f) => [
    f.scenario,
    f.engine,
    f.skipped === null ? show(f.rate, si) : 'skipped',
    versusCRef(results, f.scenario, f.engine),
    show(f.cpuUsPerMsg, fixed(2)),
    versusCRef(results, f.scenario, f.engine, 'serverCpuUsPerMsg'),
    show(f.p50Us, fixed(0)),
    show(f.p99Us, fixed(0)),
    f.generatorCores ? `${Math.round(f.generatorCores.median * 100)}%` : '–',
    f.stealPct ? `${f.stealPct.median.toFixed(1)}%` : '–',
    f.skipped === null ? String(f.errors) : '–',
    f.notes.join(', '),
  ]);
  return {
    header: ['scenario', 'engine', 'msgs/s', '× c-ref', 'server CPU µs/msg', 'CPU × c-ref', 'p50 µs', 'p99 µs', 'gen CPU', 'steal', 'errors', 'notes'],
    rows,
    align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  };
}

/** Microseconds as milliseconds with three significant digits: 0.084, 4.37, 212. */
function ms(us: number): string {
  const value = us / 1000;
  return value.toFixed(value < 1 ? 3 : value < 10 ? 2 : value < 100 ? 1 : 0);
}

/** The median alone, formatted; "–" when there is none. */
function median(value: Spread | null, format: (v: number) => string): string {
  return value ? format(value.median) : '–';
}

/** Each sweep × engine: saturation and the highest rate whose p99 stayed within the bound. */
export function sweepTable(results: BenchResults): Table {
  const bound = results.parameters.latencyBoundUs / 1000;
  const rows = sweepFigures(results).map((f) => {
    const within = f.withinBound;
    const none = within !== null && within.max === 0;
    return [
      f.scenario,
      f.engine,
      f.saturation === null ? 'failed' : si(f.saturation),
      none ? `none ≤ ${bound} ms` : show(within, si),
      within && f.saturation && !none ? `${Math.round((within.median / f.saturation) * 100)}%` : '–',
    ];
  });
  return {
    header: ['sweep', 'engine', 'saturation (closed loop)', `rate at p99 ≤ ${bound} ms`, 'of saturation'],
    rows,
    align: ['l', 'l', 'r', 'r', 'r'],
  };
}

/** One sweep's curve: a row per engine × offered fraction, medians over the runs. */
export function latencyTable(results: BenchResults, sweep: string): Table {
  const rows = latencyPoints(results)
    .filter((p) => p.scenario === sweep)
    .map((p) => [
      p.engine,
      `${Math.round(p.fraction * 100)}%`,
      median(p.offered, si),
      median(p.rate, si),
      median(p.keptUpPct, (v) => `${v.toFixed(0)}%`),
      median(p.p50Us, ms),
      median(p.p90Us, ms),
      median(p.p99Us, ms),
      median(p.p999Us, ms),
      median(p.maxUs, ms),
      median(p.sendLagP99Us, ms),
      median(p.unsent, (v) => v.toFixed(0)),
      p.notes.join(', '),
    ]);
  return {
    header: ['engine', 'of sat.', 'offered/s', 'achieved/s', 'kept up', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'gen lag p99 ms', 'unsent', 'notes'],
    rows,
    align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  };
}

/** 65536 → "64 KiB", 64 → "64 B". */
function lineSize(bytes: number): string {
  return bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** The size sweep: one row per line size × engine, messages/s and MB/s. */
export function sizeTable(results: BenchResults): Table {
  const rows = sizeFigures(results).map((f) => [
    lineSize(f.lineBytes),
    f.engine,
    show(f.rate, si),
    show(f.mbPerS, (v) => v.toFixed(v >= 100 ? 0 : 1)),
    versusCRef(results, f.scenario, f.engine),
  ]);
  return { header: ['line', 'engine', 'msgs/s', 'MB/s', '× c-ref'], rows, align: ['r', 'l', 'r', 'r', 'r'] };
}

/** The issues' goals, each engine judged on its own: met or missed, on how many runs, with what to weigh. */
export function targetTable(results: BenchResults): Table {
  const rows = targets(results).map((t) => [
    t.issue,
    t.goal,
    t.unit === 'runs' ? (t.value ? `${t.value.median}/${t.value.n} runs` : '–') : show(t.value, t.unit === 'x' ? (v) => `${v.toFixed(2)}×` : bytes),
    String(t.runs),
    t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED',
    t.notes.join('; '),
  ]);
  return { header: ['issue', 'target', 'measured, median (min–max)', 'runs', 'verdict', 'notes'], rows, align: ['l', 'l', 'r', 'r', 'l', 'l'] };
}

/** "poll run 2: ..." for each cost-curve run that measured nothing. */
export function selectCostFailures(results: BenchResults): string[] {
  return results.selectCost.filter((r) => r.failure).map((r) => `${costBackend(r)} run ${r.run}: ${r.failure}`);
}

/** µs per call with two decimals below 100, whole above. */
const micros = (v: number): string => v.toFixed(v >= 100 ? 0 : 2);

/** The wait-cost curves: a row per idle count, each backend's addon and C side by side. */
export function selectCostTable(results: BenchResults): Table {
  const points = selectCostPoints(results);
  const backends = COST_BACKENDS.filter((b) => points.some((p) => p.backend === b));
  const idle = [...new Set(points.map((p) => p.idle))].sort((a, b) => a - b);
  const rows = idle.map((k) => [
    String(k),
    ...backends.flatMap((b) => {
      const p = points.find((q) => q.backend === b && q.idle === k);
      if (!p) return ['–', '–'];
      return [show(p.addon, micros), show(p.c, micros)];
    }),
  ]);
  return {
    header: ['idle fds', ...backends.flatMap((b) => [`${b} addon µs`, `${b} C µs`])],
    rows,
    align: ['r', ...backends.flatMap((): ('r')[] => ['r', 'r'])],
  };
}

/** The cluster scenario: a row per process count, one process first. */
export function clusterTable(results: BenchResults): Table {
  const rows = clusterFigures(results).map((f) => [
    f.workers === 1 ? 'one process' : `${f.workers} workers`,
    show(f.rate, si),
    f.workers === 1 ? '1' : show(f.versusOne, fixed(2)),
    show(f.p50Us, ms),
    show(f.p99Us, ms),
    f.workers === 1 ? '0%' : show(f.crossNodeShare, (v) => `${Math.round(v * 100)}%`),
    show(f.cpuUsPerDelivery, fixed(3)),
    f.workers === 1 ? '–' : show(f.redisUsPerDelivery, fixed(3)),
    f.notes.join(', '),
  ]);
  const skipped = results.skipped.find((s) => s.scenario === CLUSTER_ID);
  if (skipped) rows.push(['skipped', '–', '–', '–', '–', '–', '–', '–', `skipped: ${skipped.reason}`]);
  return {
    header: ['server', 'deliveries/s', '× one process', 'p50 ms', 'p99 ms', 'cross-node (est.)', 'server CPU µs/delivery', 'Redis CPU µs/delivery', 'notes'],
    rows,
    align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
  };
}

/** The cluster table's title: which load, which engine. */
function clusterTitle(results: BenchResults): string {
  const load = results.parameters.cluster?.load;
  return `cluster: ${load ? load.title : 'chat'} on the ${CLUSTER_ENGINE} engine, one room through Redis (per delivery: same- and cross-node mixed)`;
}

/** RSS per connection of each engine. */
export function memoryTable(results: BenchResults): Table {
  const rows = memoryFigures(results).map((m) => [
    m.engine,
    show(m.held, fixed(0)),
    show(m.rssBefore, bytes),
    show(m.rssAfter, bytes),
    show(m.bytesPerConnection, (v) => si(v)),
    m.failures.join('; '),
  ]);
  return {
    header: ['engine', 'connections held', 'RSS, none', 'RSS, all open', 'bytes/connection', 'failures'],
    rows,
    align: ['l', 'r', 'r', 'r', 'r', 'l'],
  };
}

/** One line about where and when: machine, versions, load. */
export function machineLine(results: BenchResults): string {
  const m = results.machine;
  const load = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
  const commit = m.gitCommit ? `${m.gitCommit.slice(0, 10)}${m.gitDirty ? '+dirty' : ''}` : 'unknown';
  return (
    `${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}, selectchat ${m.selectchat} (${commit}); ` +
    `load average ${load(results.loadAverage.start)} at start, ${load(results.loadAverage.end)} at end; ` +
    `steal ${results.stealPct.toFixed(1)}%`
  );
}

/** " (cost curves and memory: 1)" when those ran a different number of times. */
function microRunsNote(results: BenchResults): string {
  const p = results.parameters;
  return p.microRuns === p.runs ? '' : ` (cost curves and memory: ${p.microRuns})`;
}

/** What the bench printed at its end. */
export function terminalReport(results: BenchResults): string {
  const parts = [`machine: ${machineLine(results)}`];
  const p = results.parameters;
  parts.push(`${p.runs} run(s) per figure${microRunsNote(results)}, ${p.warmupS} s warm-up + ${p.durationS} s measured; median (min–max)\n`);
  const sections: [string, Table][] = [
    ['load (msgs/s = deliveries/s for chat)', loadTable(results)],
    ['line sizes: echo ping-pong, MB/s of lines echoed each way', sizeTable(results)],
    ['latency under a fixed offered load: the highest rate within the p99 bound', sweepTable(results)],
    ...p.latencyScenarios.map((s): [string, Table] => [`${s.id}: ${s.title}, open loop (medians)`, latencyTable(results, s.id)]),
    [clusterTitle(results), clusterTable(results)],
    ['targets', targetTable(results)],
    ['one wait with 1 ready fd among N idle: µs per call, through the addon and in C', selectCostTable(results)],
    [`memory: ${p.memoryConnections} idle echo connections`, memoryTable(results)],
  ];
  for (const [title, table] of sections) {
    if (table.rows.length > 0) parts.push(`${title}\n${textTable(table)}\n`);
  }
  const costFailures = selectCostFailures(results);
  if (costFailures.length > 0) parts.push(`cost curve runs that failed\n${costFailures.join('\n')}\n`);
  return parts.join('\n');
}

/** report.md: the tables, the machine, and how every figure was measured. */
export function markdownReport(results: BenchResults, chartFile: string | null): string {
  const p = results.parameters;
  const lines = [
    '# selectchat benchmark',
    '',
    `Measured ${results.startedAt} on: ${machineLine(results)}.`,
    '',
    `Preset \`${p.preset}\`: engines ${p.engines.join(', ')}; ${p.runs} run(s) per figure${microRunsNote(results)}, engines interleaved run by run; ` +
      `${p.warmupS} s warm-up + ${p.durationS} s measured; ${lineSizes(results)}. ` +
      'Every figure is the median of its runs, with min–max in brackets.',
    '',
  ];
  if (chartFile) lines.push(`![throughput and CPU per message by engine](${chartFile})`, '');
  const load = loadTable(results);
  if (load.rows.length > 0) {
    lines.push('## Throughput, CPU per message, latency', '', markdownTable(load), '');
    lines.push(
      'msgs/s: echoed lines per second for echo, delivered lines (one per receiver) per second for chat. ' +
        '× c-ref: the rate over the C reference server\'s in the same run pair. ' +
        'server CPU µs/msg: the server\'s user + system CPU over the measured window divided by those messages; ' +
        'CPU × c-ref: that over c-ref\'s in the same run pair (lower is better). ' +
        `gen CPU: the generator's CPU over the window (100% = one core). Notes: \`generator-bound\` = the generator used ≥ ${Math.round(GENERATOR_BOUND_CORES * 100)}% of a core, ` +
        `so it may be what limits the figure; \`steal\` = ≥ ${HIGH_STEAL_PCT}% of CPU time stolen by the hypervisor; ` +
        '`errors` = the generator saw refused, dropped or wrong lines; `failed` = no figure. Counts are runs of the total.',
      '',
    );
    lines.push(
      ...section(
        '## Line sizes',
        sizeTable(results),
        `Echo ping-pong, c=${SIZE_CONNECTIONS}, with lines of each size ('\\n' included). MB/s = messages/s × line bytes / 10^6: ` +
          'the bytes of lines echoed per second, each way. × c-ref as above.',
      ),
    );
    lines.push(
      ...section(
        '## Targets',
        targetTable(results),
        'Each of our loop\'s engines (select, poll, epoll) is judged on its own; the libuv twin is judged against net-ref, ' +
          'the hand-tuned plain `net` server (both on libuv, so that ratio is the cost of our room and its limits on `net`). ' +
          'A ratio is the median of per-run-pair ratios ' +
          '(run r of the engine over run r of the other, which ran beside it), with min–max over the pairs; memory is the ' +
          `median bytes per idle connection of the memory runs. The issues ask for at least ${TARGET_MIN_RUNS} interleaved runs: ` +
          `fewer are said in the notes, as are runs where the generator used ≥ ${Math.round(GENERATOR_BOUND_CORES * 100)}% of a core (\`generator-bound\`: then the ` +
          'ratio may measure the generator, not the server), errors and steal.',
      ),
    );
  }
  lines.push(...latencySection(results));
  lines.push(
    ...section(
      '## Cluster: workers sharing one room through Redis',
      clusterTable(results),
      `The ${results.parameters.cluster?.load.title ?? 'chat'} load against \`selectchat serve --workers N --redis unix://…\` on the ` +
        `${CLUSTER_ENGINE} engine (each worker its own process listening on the port with SO_REUSEPORT, the kernel spreading the ` +
        'connections), with a private redis-server the bench starts for each run (unix socket, no persistence) and stops ' +
        'afterwards; beside it one process without Redis, run by run in turn. deliveries/s and latency are per delivery, as ' +
        'the generator measures them: with workers some deliveries cross nodes (publish, Redis, another worker) and some ' +
        'do not, and the generator cannot tell which, so p50 and p99 are of the mix. cross-node (est.): the share of ' +
        'deliveries expected to cross, 1 − Σ mᵢ(mᵢ − 1) / (N(N − 1)) from the members mᵢ each worker held (its open fds), ' +
        'if the senders are spread like the members. server CPU: the primary and every worker together; Redis CPU: the ' +
        'private redis-server alone. On a 2-core machine with the generator on it, more processes cannot be faster: ' +
        'workers pay off with more cores and past FD_SETSIZE.',
    ),
  );
  const scenarios = scenarioTable(results);
  if (scenarios.rows.length > 0) lines.push('## Scenarios', '', markdownTable(scenarios), '');
  const costFailures = selectCostFailures(results);
  if (costFailures.length > 0) lines.push('## Cost curve runs that failed', '', ...costFailures.map((f) => `- ${f}`), '');
  lines.push(
    ...section(
      '## One wait: select(), poll() and epoll_wait() with 1 ready fd among N idle',
      selectCostTable(results),
      'µs per call, median (min–max) over the runs. The idle fds are listening sockets nobody connects to, all watched ' +
        'for reading, beside one fd that is always readable; every call has a 1 s timeout (never reached). ' +
        '`addon` = the wait from TypeScript through the addon (`Selector.wait()`, `Poller.wait()`, `Epoller.wait()`), ' +
        '`C` = build/Release/selectchat-selectcost --backend B, the same method in C. select(): each call copies the ' +
        'master sets and scans the answer; it cannot go past FD_SETSIZE, so its curve stops at 1000. poll(): one call on ' +
        'the kept pollfd array, the ready fd first. epoll: one epoll_wait() on an instance the fds were added to once. ' +
        'select() and poll() grow with N (the kernel polls every watched fd on every call); epoll_wait() does not (the ' +
        'kernel hands back its ready list). Most of the per-fd gap between the addon and C is not the addon: Node has ' +
        'threads, and in a multi-threaded process the kernel takes a reference on every watched file per call (fdget), ' +
        'which a single-threaded one skips; the C program with one extra sleeping thread measured like the addon on the ' +
        'development machine. In the chart both axes are logarithmic and x counts every watched fd (N idle + the ready one).',
    ),
  );
  lines.push(
    ...section(
      `## Memory per connection`,
      memoryTable(results),
      `Each server is started fresh in echo mode; its RSS is read, then ${p.memoryConnections} connections are opened and ` +
        'each sends one line and gets its echo; RSS is read again 300 ms later. bytes/connection = (RSS with them − RSS without) / connections held. ' +
        'The select engine can hold about 1004 clients (FD_SETSIZE 1024 less Node\'s own fds), so all 1000 fit.',
    ),
  );
  lines.push('## Method', '', METHOD, '');
  return lines.join('\n');
}

/** A report section: its heading, the table and a note below it; nothing when the table is empty. */
function section(heading: string, table: Table, note: string): string[] {
  if (table.rows.length === 0) return [];
  return [heading, '', markdownTable(table), '', note, ''];
}

/** report.md's latency section: the quoted rates, then each sweep's curve; nothing without sweeps. */
function latencySection(results: BenchResults): string[] {
  const p = results.parameters;
  const sweeps = sweepTable(results);
  if (sweeps.rows.length === 0) return [];
  const bound = p.latencyBoundUs / 1000;
  const lines = [
    '## Latency under a fixed offered load',
    '',
    markdownTable(sweeps),
    '',
    `saturation: the sweep's load run closed loop on a fresh server (every sender keeps its outstanding cap full). ` +
      `Each point then offers ${p.latencyFractions.map((f) => `${Math.round(f * 100)}%`).join(', ')} of that rate open loop. ` +
      `rate at p99 ≤ ${bound} ms: per run, the highest achieved rate among the points whose p99 was at most ${bound} ms; ` +
      'median (min–max) over the runs; the resolution is the grid of points.',
    '',
  ];
  for (const sweep of p.latencyScenarios) {
    lines.push(`### ${sweep.id}: ${sweep.title}`, '', markdownTable(latencyTable(results, sweep.id)), '');
  }
  lines.push(
    'Open loop: the generator sends on a fixed schedule (the offered rate spread evenly over the senders), and each ' +
      'latency counts from the line\'s *intended* send time, so a stall is charged to every line that fell due during it. ' +
      'offered/s and achieved/s are lines/s for echo and deliveries/s for chat (messages × receivers); kept up = what ' +
      'went through of what was offered. When it is well under 100% the engine is saturated: its backlog grew through ' +
      'the run and its percentiles are lower bounds (lines still unsent at the end have no sample). gen lag p99: how ' +
      'late the generator itself put lines out, a floor under every percentile of that row; `generator-late` marks runs ' +
      `where it was ≥ ${GENERATOR_LATE_US / 1000} ms, so that row measures the machine's scheduling as much as the server. ` +
      'All columns are medians of the runs.',
    '',
  );
  return lines;
}

/** "64-byte lines" when every scenario uses one size, else a pointer to the scenario table. */
function lineSizes(results: BenchResults): string {
  const sizes = [...new Set(results.parameters.loadScenarios.map((s) => s.lineBytes))];
  return sizes.length <= 1 ? `${sizes[0] ?? LINE_BYTES}-byte lines` : 'line sizes as in the Scenarios table';
}

/** The load scenarios' generator settings, and the loads of the latency sweeps. */
function scenarioTable(results: BenchResults): Table {
  const p = results.parameters;
  const loads = [...p.loadScenarios, ...p.latencyScenarios.map((s) => ({ ...s.load, id: s.id, title: `latency sweep: ${s.title}` }))];
  const rows = loads.map((s) => [
    s.id, s.title, s.mode, String(s.connections), String(s.senders), String(s.depth), String(s.idle), String(s.lineBytes),
  ]);
  return {
    header: ['id', 'what', 'server mode', 'connections', 'senders', 'depth', 'idle', 'line bytes'],
    rows,
    align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r'],
  };
}

const METHOD = [
  '- Each configuration runs on a fresh server process (Node\'s own benchmark convention); the generator',
  '  (build/Release/selectchat-loadgen, epoll, one thread) runs against it on the same machine over loopback.',
  '- Engines alternate run by run (and each run starts with a different engine), so slow drifts of a noisy',
  '  machine fall on every engine alike and ratios of paired runs stay trustworthy.',
  '- Server CPU: utime + stime from /proc/PID/stat (all threads), sampled every 50 ms. The generator reports how',
  '  long its measured window was and ends it just before printing, so the window is [report time − duration,',
  '  report time], and CPU at its edges is interpolated between samples. Steal comes from /proc/stat the same way.',
  '- Peak RSS is VmHWM from /proc/PID/status just before the server is stopped with SIGTERM.',
  '- Chat: every member is welcomed and join events settle before the load starts; each sender keeps at most',
  '  `depth` messages not yet seen by everyone in flight.',
  `- The TypeScript servers run with \`--max-clients ${BENCH_MAX_CLIENTS}\`; the C reference has no limit below FD_SETSIZE.`,
  '- idle-1000 is 990 idle + 10 active connections: the select engine holds about 1004 clients (FD_SETSIZE 1024',
  '  less Node\'s own fds) and the generator opens its idle connections first, so 1000 idle + 10 active would',
  '  have it refuse most of the active ones and measure a different load.',
  '- idle-5000 is 4990 idle + 10 active: past FD_SETSIZE, so the select engine and c-ref (both wait in select())',
  '  cannot take part; they are listed as skipped, with the reason, in the table and in results.json.',
  '- The generator counts an idle connection open only once the server answered it (the echo of one short line),',
  '  so at most 128 connections ever wait in a listen queue (4096 deep; c-ref 511), and `idle served` says how',
  '  many the server really served when it was not all of them.',
].join('\n');

// chart.svg: throughput vs connections, MB/s by line size, the latency curves, server CPU per
// message, the select() cost curve — a Vega-Lite spec rendered to SVG by Vega in Node (no
// browser, no canvas).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { BenchResults } from './results.js';
import { COST_BACKENDS, type BenchEngine, type CostBackend, type LatencyScenario } from './scenarios.js';
import { figures, latencyPoints, selectCostPoints, sizeFigures } from './summary.js';

/** One colour per engine, the same in every chart. */
const ENGINE_COLOR: Record<BenchEngine, string> = {
  select: '#1f77b4', poll: '#9467bd', epoll: '#17becf', libuv: '#ff7f0e', 'net-ref': '#8c564b', 'c-ref': '#2ca02c',
};
const PANEL_WIDTH = 460;
const PANEL_HEIGHT = 220;
/** The CPU panel's small multiples: one per scenario, this many to a row. */
const CPU_COLUMNS = 6;
const CPU_CELL_WIDTH = 60;
const CPU_CELL_HEIGHT = 110;

type Panel = Record<string, unknown>;

/** A dash legend drawn as line samples, not as the points the lines carry. */
const DASH_LEGEND = {
  symbolType: 'stroke',
  symbolSize: 400,
  encode: { symbols: { update: { stroke: { value: '#333333' }, strokeWidth: { value: 1.5 } } } },
};

/** The engine colour scale, limited to the engines this bench ran. */
function engineScale(results: BenchResults): object {
  const engines = results.parameters.engines;
  return { domain: engines, range: engines.map((e) => ENGINE_COLOR[e]) };
}

/** Median line with min–max rules, x quantitative. */
function linePanel(title: string, values: object[], x: object, y: object, color: object): Panel {
  return {
    title,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    data: { values },
    encoding: { x, color },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { y } },
      { mark: 'rule', encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  };
}

/** Echo ping-pong messages/s against connections, one line per engine. */
function throughputPanel(results: BenchResults): Panel | null {
  const echo = new Map(results.parameters.loadScenarios.filter((s) => s.group === 'echo').map((s) => [s.id, s.connections]));
  const values = figures(results)
    .filter((f) => echo.has(f.scenario) && f.rate)
    .map((f) => ({ engine: f.engine, connections: echo.get(f.scenario), median: f.rate?.median, min: f.rate?.min, max: f.rate?.max }));
  if (values.length === 0) return null;
  return linePanel(
    'Echo ping-pong: messages/s vs connections (median, min–max)',
    values,
    { field: 'connections', type: 'quantitative', scale: { type: 'log' }, title: 'connections' },
    { field: 'median', type: 'quantitative', title: 'messages/s' },
    { field: 'engine', type: 'nominal', scale: engineScale(results), title: 'engine' },
  );
}

/** The size sweep: MB/s against line size, one line per engine. */
function sizePanel(results: BenchResults): Panel | null {
  const values = sizeFigures(results)
    .filter((f) => f.mbPerS)
    .map((f) => ({ engine: f.engine, bytes: f.lineBytes, median: f.mbPerS?.median, min: f.mbPerS?.min, max: f.mbPerS?.max }));
  if (values.length === 0) return null;
  return linePanel(
    'Echo ping-pong by line size: MB/s each way (median, min–max)',
    values,
    { field: 'bytes', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'line bytes' },
    { field: 'median', type: 'quantitative', title: 'MB/s' },
    { field: 'engine', type: 'nominal', scale: engineScale(results), title: 'engine' },
  );
}

/** The percentiles a latency curve draws, solid and dashed. */
const CURVE_PERCENTILES = ['p50', 'p99'] as const;

/** One sweep's hockey stick: p50 and p99 against the achieved rate, log-log, the bound as a rule. */
function latencyPanel(results: BenchResults, sweep: LatencyScenario): Panel | null {
  const values = latencyPoints(results)
    .filter((p) => p.scenario === sweep.id && p.rate && p.rate.median > 0)
    .flatMap((p) =>
      CURVE_PERCENTILES.flatMap((percentile) => {
        const us = percentile === 'p50' ? p.p50Us : p.p99Us;
        return us ? [{ engine: p.engine, fraction: p.fraction, rate: p.rate?.median, percentile, ms: us.median / 1000 }] : [];
      }),
    );
  if (values.length === 0) return null;
  const unit = sweep.load.mode === 'chat' ? 'deliveries/s' : 'messages/s';
  return {
    title: `${sweep.id}: latency vs ${unit} achieved, open loop (medians; log scales)`,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, title: `${unit} achieved` },
          y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency, ms' },
          color: { field: 'engine', type: 'nominal', scale: engineScale(results), title: 'engine' },
          strokeDash: { field: 'percentile', type: 'nominal', sort: [...CURVE_PERCENTILES], title: 'percentile', legend: DASH_LEGEND },
          // In offered order: past saturation the achieved rate can fall back.
          order: { field: 'fraction', type: 'quantitative' },
        },
      },
      {
        data: { values: [{ bound: results.parameters.latencyBoundUs / 1000 }] },
        mark: { type: 'rule', color: '#888888', strokeDash: [2, 3] },
        encoding: { y: { field: 'bound', type: 'quantitative' } },
      },
    ],
  };
}

/** Server CPU µs per message: one small bar chart per scenario, each with its own scale. */
function cpuPanel(results: BenchResults): Panel | null {
  const values = figures(results)
    .filter((f) => f.cpuUsPerMsg)
    .map((f) => ({ scenario: f.scenario, engine: f.engine, median: f.cpuUsPerMsg?.median, min: f.cpuUsPerMsg?.min, max: f.cpuUsPerMsg?.max }));
  if (values.length === 0) return null;
  const engines = results.parameters.engines;
  return {
    title: 'Server CPU per message, µs (median, min–max; lower is better; each scale its own)',
    data: { values },
    facet: { field: 'scenario', type: 'nominal', sort: results.parameters.loadScenarios.map((s) => s.id), title: null },
    columns: CPU_COLUMNS,
    spec: {
      width: CPU_CELL_WIDTH,
      height: CPU_CELL_HEIGHT,
      encoding: { x: { field: 'engine', type: 'nominal', sort: engines, title: null, axis: { labels: false, ticks: false } } },
      layer: [
        {
          mark: 'bar',
          encoding: {
            y: { field: 'median', type: 'quantitative', title: null },
            color: { field: 'engine', type: 'nominal', scale: engineScale(results), title: 'engine' },
          },
        },
        { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
}

/** One colour per wait, the engine's colour where an engine of that name exists. */
const BACKEND_COLOR: Record<CostBackend, string> = { select: ENGINE_COLOR.select, poll: ENGINE_COLOR.poll, epoll: ENGINE_COLOR.epoll };

/**
 * µs per wait against fds watched (N idle + the ready one), log-log: select(), poll() and
 * epoll_wait(), each through the addon (solid) and in C (dashed): six lines.
 */
function selectCostPanel(results: BenchResults): Panel | null {
  const values = selectCostPoints(results).flatMap((p) =>
    (['addon', 'C'] as const).flatMap((from) => {
      const s = from === 'addon' ? p.addon : p.c;
      return s ? [{ backend: p.backend, from, curve: `${p.backend} ${from}`, fds: p.idle + 1, median: s.median, min: s.min, max: s.max }] : [];
    }),
  );
  if (values.length === 0) return null;
  const backends = COST_BACKENDS.filter((b) => values.some((v) => v.backend === b));
  const x = { field: 'fds', type: 'quantitative', scale: { type: 'log' }, title: 'fds watched (N idle + 1 ready)' };
  return {
    title: 'One wait with 1 ready fd among N idle: µs per call (median, min–max; log-log)',
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    data: { values },
    encoding: {
      x,
      color: { field: 'backend', type: 'nominal', scale: { domain: backends, range: backends.map((b) => BACKEND_COLOR[b]) }, title: 'wait' },
      strokeDash: { field: 'from', type: 'nominal', sort: ['addon', 'C'], title: 'called from', legend: DASH_LEGEND },
      detail: { field: 'curve', type: 'nominal' },
    },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { y: { field: 'median', type: 'quantitative', scale: { type: 'log' }, title: 'µs per call' } } },
      { mark: 'rule', encoding: { y: { field: 'min', type: 'quantitative' }, y2: { field: 'max' } } },
    ],
  };
}

/** The chart's SVG text, or null when the results hold nothing to draw. */
export async function renderChart(results: BenchResults): Promise<string | null> {
  const panels = [
    throughputPanel(results),
    sizePanel(results),
    ...results.parameters.latencyScenarios.map((sweep) => latencyPanel(results, sweep)),
    cpuPanel(results),
    selectCostPanel(results),
  ].filter((p): p is Panel => p !== null);
  if (panels.length === 0) return null;
  const m = results.machine;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'selectchat: select vs poll vs epoll vs libuv vs C',
      subtitle: `${m.cpuModel}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}; ${results.startedAt.slice(0, 10)}`,
      anchor: 'start',
      offset: 16,
    },
    spacing: 40,
    vconcat: panels,
    resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent', strokeDash: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

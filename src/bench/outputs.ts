// The results folder: results.json, report.md and chart.svg, and the copy published for the README.
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { renderChart } from './chart.js';
import { markdownReport } from './report.js';
import { RESULTS_SCHEMA, type BenchResults } from './results.js';
import { LATENCY_P99_BOUND_US } from './scenarios.js';

/** results.json is missing or was written by an incompatible version. */
export class ResultsFileError extends Error {}

export const RESULTS_FILE = 'results.json';
export const REPORT_FILE = 'report.md';
export const CHART_FILE = 'chart.svg';
export const COMPARE_FILE = 'compare.md';

/** Writes the three files into dir (created if needed); no chart when there is nothing to draw. */
export async function writeOutputs(dir: string, results: BenchResults): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, RESULTS_FILE), `${JSON.stringify(results, null, 2)}\n`);
  const svg = await renderChart(results);
  if (svg) writeFileSync(join(dir, CHART_FILE), svg);
  writeFileSync(join(dir, REPORT_FILE), markdownReport(results, svg ? CHART_FILE : null));
}

/** The folder a results path names: itself, or the folder of the results.json it names. */
export function resultsFolder(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
}

/** Writes compare.md into dir (created if needed); returns its path. */
export function writeComparison(dir: string, markdown: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, COMPARE_FILE);
  writeFileSync(file, markdown);
  return file;
}

/** Reads dir/results.json written by an earlier bench. */
export function readResults(dir: string): BenchResults {
  return readResultsFile(join(dir, RESULTS_FILE));
}

/** Reads a results.json, or the one in a folder, written by an earlier bench. */
export function readResultsFile(path: string): BenchResults {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, RESULTS_FILE) : path;
  if (!existsSync(file)) throw new ResultsFileError(`no ${file}`);
  let results: BenchResults;
  try {
    results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  } catch (error) {
    throw new ResultsFileError(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (results.schema !== RESULTS_SCHEMA) throw new ResultsFileError(`${file} has schema ${results.schema}, not ${RESULTS_SCHEMA}`);
  return withLatencyDefaults(results);
}

/** A file from before the latency sweep ran none (and skipped nothing): its fields are filled in as empty. */
function withLatencyDefaults(results: BenchResults): BenchResults {
  const p = results.parameters;
  const parameters = {
    ...p, latencyScenarios: p.latencyScenarios ?? [], latencyFractions: p.latencyFractions ?? [], latencyBoundUs: p.latencyBoundUs ?? LATENCY_P99_BOUND_US,
    selectCostBackends: p.selectCostBackends ?? ['select' as const], cluster: p.cluster ?? null, microRuns: p.microRuns ?? p.runs,
  };
  return { ...results, parameters, latencyRuns: results.latencyRuns ?? [], skipped: results.skipped ?? [], clusterRuns: results.clusterRuns ?? [] };
}

/** Copies a results folder's files to dir (docs/bench), report and chart side by side. */
export function publish(from: string, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const file of [RESULTS_FILE, REPORT_FILE, CHART_FILE]) {
    if (existsSync(join(from, file))) copyFileSync(join(from, file), join(dir, file));
  }
}

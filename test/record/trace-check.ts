// What the Chrome Trace Event Format asks of every line, checked the way the viewers read it:
// required fields, B/E slices that nest on each track, a clock that never runs back on a track.
import type { TraceFileEvent } from '../../src/record/trace-format.js';

/** Every problem found (empty: the lines are a valid trace). */
export function traceProblems(lines: readonly TraceFileEvent[]): string[] {
  const problems: string[] = [];
  const stacks = new Map<string, string[]>();
  const lastTs = new Map<string, number>();
  lines.forEach((line, i) => {
    const where = `line ${i + 1} (${JSON.stringify(line).slice(0, 160)})`;
    for (const field of ['ph', 'ts', 'pid', 'tid'] as const) {
      if (line[field] === undefined) problems.push(`${where}: no ${field}`);
    }
    if (typeof line.ts !== 'number' || !Number.isFinite(line.ts)) problems.push(`${where}: ts is not a number`);
    if (!['B', 'E', 'i', 'C', 'M'].includes(line.ph)) problems.push(`${where}: unexpected ph ${line.ph}`);
    if (line.ph !== 'E' && typeof line.name !== 'string') problems.push(`${where}: no name`);
    if (line.ph === 'i' && line.s !== 't') problems.push(`${where}: an instant without s: 't'`);
    if (line.args !== undefined && (typeof line.args !== 'object' || line.args === null)) problems.push(`${where}: args is not an object`);
    if (line.ph === 'M') return;
    const track = `${line.pid}/${line.tid}`;
    const last = lastTs.get(track) ?? -Infinity;
    if (line.ts < last) problems.push(`${where}: ts runs back on track ${track} (${line.ts} < ${last})`);
    lastTs.set(track, line.ts);
    const stack = stacks.get(track) ?? [];
    stacks.set(track, stack);
    if (line.ph === 'B') stack.push(line.name!);
    if (line.ph === 'E') {
      const open = stack.pop();
      if (open === undefined) problems.push(`${where}: E with no open slice`);
      else if (line.name !== undefined && line.name !== open) problems.push(`${where}: E ${line.name} closes ${open}`);
    }
  });
  return problems;
}

/** Slices still open at the end, per track. */
export function openSlices(lines: readonly TraceFileEvent[]): string[] {
  const depth = new Map<string, number>();
  for (const line of lines) {
    const track = `${line.pid}/${line.tid}`;
    if (line.ph === 'B') depth.set(track, (depth.get(track) ?? 0) + 1);
    if (line.ph === 'E') depth.set(track, (depth.get(track) ?? 0) - 1);
  }
  return [...depth].filter(([, n]) => n !== 0).map(([track, n]) => `${track}: ${n}`);
}

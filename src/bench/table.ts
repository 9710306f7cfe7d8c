// A table rendered two ways: Markdown for report.md, aligned plain text for the terminal.

export interface Table {
  header: string[];
  rows: string[][];
  /** 'r' right-aligns a column (numbers); the default is left. */
  align?: ('l' | 'r')[];
}

/** GitHub-flavoured Markdown. */
export function markdownTable(table: Table): string {
  const align = table.header.map((_, i) => (table.align?.[i] === 'r' ? '---:' : '---'));
  const line = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(table.header), line(align), ...table.rows.map(line)].join('\n');
}

/** Columns padded to their widest cell, two spaces apart. */
export function textTable(table: Table): string {
  const all = [table.header, ...table.rows];
  const widths = table.header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (table.align?.[i] === 'r' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(table.header), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n');
}

// `selectchat timeline FILE [-o OUT]`: turns a --record file into one self-contained HTML page.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pageData } from '../record/page-data.js';
import { parseTraceText, readTimeline } from '../record/read-recording.js';
import { timelineHtml } from '../record/timeline-html.js';
import { UsageError, parseFlags } from './options.js';

export const TIMELINE_USAGE = `usage: selectchat timeline FILE [-o OUT.html]

Makes one self-contained HTML page (no network) of a recording made with
\`selectchat serve --record FILE\` (or connect --record): the loop's rounds, blocked
time shaded, a lane per fd, each round's detail in the words of --trace.

  -o, --output OUT   where to write the page (default: FILE with .html)
`;

const FLAGS = {
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What writeTimeline made. */
export interface TimelineResult {
  output: string;
  rounds: number;
  events: number;
  bytes: number;
}

/** Reads the recording at input and writes its page to output. */
export function writeTimeline(input: string, output: string): TimelineResult {
  const timeline = readTimeline(parseTraceText(readFileSync(input, 'utf8')));
  const html = timelineHtml(pageData(timeline, basename(input)));
  writeFileSync(output, html);
  return { output, rounds: timeline.rounds.length, events: timeline.events.length, bytes: Buffer.byteLength(html) };
}

export async function timeline(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS, true);
  if (values.help) {
    process.stdout.write(TIMELINE_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`timeline takes one recording file\n${TIMELINE_USAGE}`);
  const input = positionals[0]!;
  const output = values.output ?? `${input.replace(/\.json$/i, '')}.html`;
  const result = writeTimeline(input, output);
  process.stdout.write(`wrote ${output}: ${result.rounds.toLocaleString('en')} rounds, ${result.events.toLocaleString('en')} events, ` +
    `${(result.bytes / 1e6).toFixed(1)} MB\nopen ${pathToFileURL(resolve(output)).href}\n`);
  return 0;
}

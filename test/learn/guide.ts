// LEARN.md as the test sees it: its numbered experiments, the commands quoted in each, and the
// `<!-- expect trace|output: REGEXP -->` markers that say which quoted lines a real run must print.
import { readFileSync } from 'node:fs';

/** The guide, at the top of the repository. */
export const GUIDE_PATH = new URL('../../LEARN.md', import.meta.url);

/** A line a real run must print: in the server's trace (stderr) or the commands' output. */
export interface Expectation {
  stream: 'trace' | 'output';
  pattern: RegExp;
  /** Where the marker stands in the section's text (which has the markers taken out). */
  offset: number;
}

/** One `## N. Title` section of the guide. */
export interface Section {
  number: number;
  title: string;
  /** The section's text without its expect markers: what a reader sees. */
  text: string;
  expectations: Expectation[];
}

const HEADING = /^## (\d+)\. (.+)$/gm;
const EXPECT_MARKER = /^<!-- expect (trace|output): (.+) -->\n?/gm;

/** The guide's numbered sections, by number. */
export function readGuide(): Map<number, Section> {
  const guide = readFileSync(GUIDE_PATH, 'utf8');
  const headings = [...guide.matchAll(HEADING)];
  const sections = new Map<number, Section>();
  for (const heading of headings) {
    // A section runs to the next heading of level 2, numbered or not.
    const start = heading.index!;
    const next = guide.slice(start + heading[0].length).search(/^## /m);
    const raw = next < 0 ? guide.slice(start) : guide.slice(start, start + heading[0].length + next);
    let removed = 0;
    const expectations = [...raw.matchAll(EXPECT_MARKER)].map((marker) => {
      const offset = marker.index! - removed;
      removed += marker[0].length;
      return { stream: marker[1] as Expectation['stream'], pattern: new RegExp(marker[2]!, 'm'), offset };
    });
    const number = Number(heading[1]);
    sections.set(number, { number, title: heading[2]!, text: raw.replace(EXPECT_MARKER, ''), expectations });
  }
  return sections;
}

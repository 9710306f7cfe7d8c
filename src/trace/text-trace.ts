// `--trace`: every event but the quiet ones, as one line of words, to a line writer (stderr).
import type { TraceEvent, TraceSink } from './events.js';
import { QUIET_KINDS, words } from './words.js';

export class TextTrace implements TraceSink {
  constructor(private readonly writeLine: (line: string) => void) {}

  event(event: TraceEvent): void {
    if (!QUIET_KINDS.has(event.kind)) this.writeLine(words(event));
  }
}

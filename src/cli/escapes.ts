// Backslash escapes in `selectchat send TEXT`: \n \r \t \\ and \xHH, the last one a raw byte, so
// a learner can send invalid UTF-8 or half of a multibyte character from the command line.
import { UsageError } from './options.js';

/** The one-letter escapes and the byte each stands for. */
const SIMPLE_ESCAPES: Readonly<Record<string, number>> = { n: 0x0a, r: 0x0d, t: 0x09, '\\': 0x5c };

/** Encodes text as UTF-8 with its escapes replaced by the bytes they name. */
export function decodeEscapes(text: string): Buffer {
  const bytes: Buffer[] = [];
  let plainStart = 0;
  for (let i = text.indexOf('\\'); i >= 0; i = text.indexOf('\\', plainStart)) {
    bytes.push(Buffer.from(text.slice(plainStart, i), 'utf8'));
    const letter = text[i + 1];
    if (letter !== undefined && letter in SIMPLE_ESCAPES) {
      bytes.push(Buffer.of(SIMPLE_ESCAPES[letter]!));
      plainStart = i + 2;
    } else if (letter === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(Buffer.of(parseInt(text.slice(i + 2, i + 4), 16)));
      plainStart = i + 4;
    } else {
      const shown = text.slice(i, i + 4);
      throw new UsageError(`bad escape '${shown}' in TEXT: use \\n, \\r, \\t, \\\\ or \\xHH (two hex digits)`);
    }
  }
  bytes.push(Buffer.from(text.slice(plainStart), 'utf8'));
  return Buffer.concat(bytes);
}

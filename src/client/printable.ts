// What the client prints of a server's line on a terminal: control characters made visible and
// inert, so a peer's text can never drive the terminal (move the cursor, retitle the window,
// reorder a line with a bidi override).
import { CONTROL_CHARACTERS } from '../room/protocol.js';

const EVERY_CONTROL_CHARACTER = new RegExp(CONTROL_CHARACTERS.source, 'g');

/** Controls in caret notation (ESC → ^[, DEL → ^?); C1 controls and bidi controls as U+XXXX. */
export function printable(text: string): string {
  return text.replace(EVERY_CONTROL_CHARACTER, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return '^?';
    return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
  });
}

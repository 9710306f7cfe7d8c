// A minimal terminal screen for the pty test: it applies exactly the output readline and the
// client produce (text, CR, LF, BS, CSI cursor moves, erase, SGR) to a grid of cells, so a test
// can assert what a person would see rather than which bytes were written.

/** CSI: ESC [ optional '?', parameters, one final letter. */
const CSI = /^\x1b\[(\??)([\d;]*)([@-~])/;

export class Screen {
  private readonly grid: string[][];
  row = 0;
  col = 0;

  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    this.grid = Array.from({ length: rows }, () => new Array<string>(columns).fill(' '));
  }

  /** Applies terminal output; unknown escape sequences fail loudly rather than being misdrawn. */
  write(data: string): void {
    let i = 0;
    while (i < data.length) {
      const c = data[i]!;
      if (c === '\x1b') {
        const match = CSI.exec(data.slice(i));
        if (!match) throw new Error(`unsupported escape sequence: ${JSON.stringify(data.slice(i, i + 8))}`);
        this.control(match[1]!, match[2]!, match[3]!);
        i += match[0].length;
        continue;
      }
      if (c === '\r') this.col = 0;
      else if (c === '\n') this.lineFeed();
      else if (c === '\b') this.col = Math.max(0, this.col - 1);
      else if (c >= ' ') this.put(c);
      i++;
    }
  }

  /** The screen's text, one string per row, trailing spaces trimmed unless asked not to. */
  text(trim = true): string[] {
    return this.grid.map((cells) => (trim ? cells.join('').trimEnd() : cells.join('')));
  }

  /** The row the cursor is on. */
  cursorLine(): string {
    return this.text()[this.row]!;
  }

  private put(c: string): void {
    // Deferred wrap, as xterm does: the column past the last wraps only when a character comes.
    if (this.col >= this.columns) {
      this.col = 0;
      this.lineFeed();
    }
    this.grid[this.row]![this.col++] = c;
  }

  private lineFeed(): void {
    if (this.row < this.rows - 1) {
      this.row++;
      return;
    }
    this.grid.shift();
    this.grid.push(new Array<string>(this.columns).fill(' '));
  }

  private control(privateMarker: string, parameters: string, final: string): void {
    if (privateMarker) return; // modes (?25h, ?2004h): nothing to draw
    const n = parameters === '' ? 1 : Number(parameters.split(';')[0]);
    switch (final) {
      case 'A':
        this.row = Math.max(0, this.row - n);
        break;
      case 'B':
        this.row = Math.min(this.rows - 1, this.row + n);
        break;
      case 'C':
        this.col = Math.min(this.columns - 1, this.col + n);
        break;
      case 'D':
        this.col = Math.max(0, Math.min(this.col, this.columns - 1) - n);
        break;
      case 'G':
        this.col = Math.min(this.columns - 1, n - 1);
        break;
      case 'J':
        if (parameters !== '' && parameters !== '0') throw new Error(`unsupported erase: ESC[${parameters}J`);
        this.grid[this.row]!.fill(' ', Math.min(this.col, this.columns));
        for (let r = this.row + 1; r < this.rows; r++) this.grid[r]!.fill(' ');
        break;
      case 'K': {
        const cells = this.grid[this.row]!;
        if (parameters === '2') cells.fill(' ');
        else if (parameters === '' || parameters === '0') cells.fill(' ', Math.min(this.col, this.columns));
        else throw new Error(`unsupported erase: ESC[${parameters}K`);
        break;
      }
      case 'm':
        break; // colours: the test checks them in the raw output
      default:
        throw new Error(`unsupported control: ESC[${parameters}${final}`);
    }
  }
}

// A JSON value (the backend call a round made, what it returned) as numbers in the recording's
// ring: the loop's thread walks it into tokens (JsonTokens), the writer thread writes them out as
// JSON (line-bytes.ts, putJson). Select's sets are arrays of fds: an array of numbers is one token and its
// numbers, so most of a round's call costs a store per fd rather than JSON.stringify.

/** Token tags; each is followed by its payload. */
export const TOKEN = {
  number: 1,
  /** [string id] */
  string: 2,
  true: 3,
  false: 4,
  null: 5,
  /** [n, n values] */
  array: 6,
  /** [n, n numbers]: an array of numbers only. */
  numbers: 7,
  /** [n, n × (key string id, value)] */
  object: 8,
} as const;

/** Nesting deeper than this is not tokenized (the event is written as a line instead)... */
const MAX_DEPTH = 16;
/** ...nor a value whose JSON may be longer than this (the writer's room for one line). */
export const MAX_JSON_BYTES = 256 * 1024;
/** The most bytes of JSON a number may take ("-1.234567e+21"), a string per UTF-16 unit
 *  (\u001f), plus its quotes. */
const NUMBER_BYTES = 24;
const STRING_UNIT_BYTES = 6;

/** The loop's side: tokens of values, appended to a scratch array that is reused. */
export class JsonTokens {
  slots = new Float64Array(1024);
  length = 0;
  /** At most this many bytes of JSON so far. */
  private bytes = 0;

  /** string(s): s's id, or -1 when it cannot have one. */
  constructor(private readonly string: (s: string) => number) {}

  /** Starts the tokens of a new record. */
  reset(): void {
    this.length = 0;
    this.bytes = 0;
  }

  /** Appends value's tokens; their count, or -1 if value cannot be tokenized. */
  add(value: unknown): number {
    const start = this.length;
    return this.value(value, 0) ? this.length - start : -1;
  }

  private value(value: unknown, depth: number): boolean {
    if (depth > MAX_DEPTH || this.bytes > MAX_JSON_BYTES) return false;
    this.bytes += NUMBER_BYTES;
    switch (typeof value) {
      case 'number':
        this.push2(TOKEN.number, value);
        return true;
      case 'string': {
        this.bytes += STRING_UNIT_BYTES * value.length;
        const id = this.string(value);
        if (id < 0) return false;
        this.push2(TOKEN.string, id);
        return true;
      }
      case 'boolean':
        this.push(value ? TOKEN.true : TOKEN.false);
        return true;
      case 'object':
        if (value === null) {
          this.push(TOKEN.null);
          return true;
        }
        return Array.isArray(value) ? this.array(value, depth) : this.object(value as Record<string, unknown>, depth);
      default:
        return false;
    }
  }

  private array(items: unknown[], depth: number): boolean {
    const n = items.length;
    let numbers = true;
    for (let i = 0; i < n && numbers; i++) numbers = typeof items[i] === 'number';
    if (numbers) {
      this.bytes += NUMBER_BYTES * n;
      if (this.bytes > MAX_JSON_BYTES) return false;
      this.room(2 + n);
      const slots = this.slots;
      slots[this.length] = TOKEN.numbers;
      slots[this.length + 1] = n;
      for (let i = 0; i < n; i++) slots[this.length + 2 + i] = items[i] as number;
      this.length += 2 + n;
      return true;
    }
    this.push2(TOKEN.array, n);
    for (let i = 0; i < n; i++) {
      // As JSON.stringify: an undefined item is null.
      if (!this.value(items[i] === undefined ? null : items[i], depth + 1)) return false;
    }
    return true;
  }

  private object(object: Record<string, unknown>, depth: number): boolean {
    // As JSON.stringify: keys whose value is undefined are left out.
    const keys = Object.keys(object).filter((key) => object[key] !== undefined);
    this.push2(TOKEN.object, keys.length);
    for (const key of keys) {
      this.bytes += STRING_UNIT_BYTES * key.length + 3;
      const id = this.string(key);
      if (id < 0) return false;
      this.push(id);
      if (!this.value(object[key], depth + 1)) return false;
    }
    return true;
  }

  private push(v: number): void {
    this.room(1);
    this.slots[this.length++] = v;
  }

  private push2(a: number, b: number): void {
    this.room(2);
    this.slots[this.length] = a;
    this.slots[this.length + 1] = b;
    this.length += 2;
  }

  private room(n: number): void {
    if (this.length + n <= this.slots.length) return;
    const bigger = new Float64Array(Math.max(2 * this.slots.length, this.length + n));
    bigger.set(this.slots.subarray(0, this.length));
    this.slots = bigger;
  }
}

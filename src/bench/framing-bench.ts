// Framing benchmark (not a test): LineDecoder against a naive splitter (Buffer.concat + toString +
// split('\n')) and Node's readline over a stream, for 64 B and 64 KiB lines delivered in
// recv-sized chunks of whole lines, TCP segments (1460 B), and 7 B and 1 B dribbles.
// Run: npm run bench:framing. Each case runs for a fixed time; quadratic ones report what they did.
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { type FrameError, LineDecoder, type LineSink } from '../framing/line-decoder.js';

/** Bytes per frame, '\n' included. */
const SMALL_FRAME_BYTES = 64;
const LARGE_FRAME_BYTES = 64 * 1024;
/** The stream each case cuts up and feeds, over and over until its time is up. */
const STREAM_BYTES = 4 * 1024 * 1024;
/** Chunk sizes: a recv() buffer holding whole lines, one TCP segment, and two dribbles. */
const CHUNKINGS = [
  { name: '64 KiB', bytes: 64 * 1024 },
  { name: '1460 B', bytes: 1460 },
  { name: '7 B', bytes: 7 },
  { name: '1 B', bytes: 1 },
];
const WARMUP_MS = 150;
const MEASURE_MS = 500;
/** Chunks fed between two looks at the clock. */
const CLOCK_EVERY_CHUNKS = 64;
/** MB in MB/s: a million bytes. */
const MB = 1_000_000;

/** What a run did: bytes fed, lines seen, in how long. */
interface Run {
  bytes: number;
  lines: number;
  ms: number;
}

/** Counts lines and their characters, so no decoded string is dead code. */
class CountingSink implements LineSink {
  lines = 0;
  characters = 0;
  rejects = 0;
  line(text: string): void {
    this.lines++;
    this.characters += text.length;
  }
  reject(_code: FrameError): void {
    this.rejects++;
  }
}

/** The baseline everyone writes first: concatenate, decode everything up to the last '\n', split. */
class NaiveSplitter {
  private pending = Buffer.alloc(0);
  push(chunk: Buffer, sink: CountingSink): void {
    const data = Buffer.concat([this.pending, chunk]);
    const last = data.lastIndexOf(0x0a);
    if (last === -1) {
      this.pending = data;
      return;
    }
    for (const text of data.toString('utf8', 0, last).split('\n')) sink.line(text);
    this.pending = data.subarray(last + 1);
  }
}

/** Line kinds: size in bytes ('\n' included) and text, ASCII or with a quarter of its bytes in 'é's. */
const LINE_KINDS = [
  { name: '64 B ascii', frameBytes: SMALL_FRAME_BYTES, accented: false },
  { name: '64 B utf-8', frameBytes: SMALL_FRAME_BYTES, accented: true },
  { name: '64 KiB ascii', frameBytes: LARGE_FRAME_BYTES, accented: false },
  { name: '64 KiB utf-8', frameBytes: LARGE_FRAME_BYTES, accented: true },
];

/** A stream of frames of frameBytes each, STREAM_BYTES long. */
function makeStream(frameBytes: number, accented: boolean): Buffer {
  const accents = accented ? frameBytes >> 3 : 0;
  const content = Buffer.from('é'.repeat(accents) + 'a'.repeat(frameBytes - 1 - 2 * accents));
  const frame = Buffer.concat([content, Buffer.from('\n')]);
  return Buffer.concat(Array.from({ length: STREAM_BYTES / frame.length }, () => frame));
}

/** Feeds stream in chunkBytes pieces through one reused receive buffer until ms have passed. */
function runSync(stream: Buffer, chunkBytes: number, ms: number, feed: (receive: Buffer, length: number) => void): number {
  const receive = Buffer.alloc(64 * 1024);
  const start = performance.now();
  let fed = 0;
  for (let chunks = 0; ; chunks++) {
    if (chunks % CLOCK_EVERY_CHUNKS === 0 && performance.now() - start >= ms) return fed;
    const from = fed % stream.length;
    const length = Math.min(chunkBytes, stream.length - from);
    stream.copy(receive, 0, from, from + length);
    feed(receive, length);
    fed += length;
  }
}

/** Times LineDecoder.push fed like a server: (receive buffer, 0, bytes received). */
function benchDecoder(stream: Buffer, chunkBytes: number, ms: number): Run {
  const decoder = new LineDecoder();
  const sink = new CountingSink();
  const start = performance.now();
  const bytes = runSync(stream, chunkBytes, ms, (receive, length) => decoder.push(receive, 0, length, sink));
  return { bytes, lines: sink.lines, ms: performance.now() - start };
}

/** Times the naive splitter, fed the same way. */
function benchNaive(stream: Buffer, chunkBytes: number, ms: number): Run {
  const splitter = new NaiveSplitter();
  const sink = new CountingSink();
  const start = performance.now();
  const bytes = runSync(stream, chunkBytes, ms, (receive, length) => splitter.push(receive.subarray(0, length), sink));
  return { bytes, lines: sink.lines, ms: performance.now() - start };
}

/** Times readline over a Readable that yields the chunks (fresh views: a stream keeps them). */
async function benchReadline(stream: Buffer, chunkBytes: number, ms: number): Promise<Run> {
  let fed = 0;
  const start = performance.now();
  function* chunks(): Generator<Buffer> {
    for (let count = 0; ; count++) {
      if (count % CLOCK_EVERY_CHUNKS === 0 && performance.now() - start >= ms) return;
      const from = fed % stream.length;
      const length = Math.min(chunkBytes, stream.length - from);
      fed += length;
      yield stream.subarray(from, from + length);
    }
  }
  const sink = new CountingSink();
  const lines = createInterface({ input: Readable.from(chunks()), crlfDelay: Infinity });
  for await (const text of lines) sink.line(text);
  return { bytes: fed, lines: sink.lines, ms: performance.now() - start };
}

const IMPLEMENTATIONS: Array<{ name: string; run: (stream: Buffer, chunkBytes: number, ms: number) => Run | Promise<Run> }> = [
  { name: 'LineDecoder', run: benchDecoder },
  { name: 'naive concat+split', run: benchNaive },
  { name: 'readline', run: benchReadline },
];

/** Formats a rate with thousands separators. */
const rate = (count: number, ms: number, unit = 1): string =>
  Math.round(count / unit / (ms / 1000)).toLocaleString('en-US');

/** Runs every case and prints one table. */
async function main(): Promise<void> {
  console.log(`framing benchmark — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}`);
  console.log(`each case: ${WARMUP_MS} ms warm-up, then ${MEASURE_MS} ms; chunks copied into one reused 64 KiB receive buffer\n`);
  const header = ['line', 'chunk', 'implementation', 'MB/s', 'lines/s', 'x naive'];
  const widths = [12, 6, 18, 8, 12, 7];
  const row = (cells: string[]): string =>
    cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  console.log(row(header));
  console.log(row(widths.map((width) => '-'.repeat(width))));
  for (const kind of LINE_KINDS) {
    const stream = makeStream(kind.frameBytes, kind.accented);
    for (const chunking of CHUNKINGS) {
      const runs: Run[] = [];
      for (const implementation of IMPLEMENTATIONS) {
        await implementation.run(stream, chunking.bytes, WARMUP_MS);
        runs.push(await implementation.run(stream, chunking.bytes, MEASURE_MS));
      }
      const naive = runs[1] as Run;
      runs.forEach((run, i) => {
        const speedup = run.bytes / run.ms / (naive.bytes / naive.ms);
        console.log(
          row([kind.name, chunking.name, IMPLEMENTATIONS[i]?.name ?? '', rate(run.bytes, run.ms, MB), rate(run.lines, run.ms), speedup.toFixed(1)]),
        );
      });
    }
  }
  console.log('\nMB/s = millions of input bytes per second; lines/s counts complete lines delivered.');
  console.log('naive: one toString + split per chunk, so its lines are slices that pin the whole decoded chunk;');
  console.log('no length limit, lossy UTF-8, and quadratic when a line spans chunks.');
}

await main();

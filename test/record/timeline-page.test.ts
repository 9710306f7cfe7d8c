// `selectchat timeline`'s page in a real headless browser (Debian's chromium, driven by
// playwright-core): it loads with no console error and no network request, draws every round of
// the recording, shows a round's detail in the words of --trace on hover, and copes with 100,000
// rounds by drawing only what is in view. Speeds are printed, never asserted.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeTimeline } from '../../src/cli/timeline.js';
import { parseTraceText, readTimeline, type Timeline } from '../../src/record/read-recording.js';
import { words } from '../../src/trace/words.js';
import { browserProblem, launchBrowser, openWatched } from '../helpers/browser.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { killLeftovers, startServer } from '../helpers/server.js';
import { writeSyntheticRecording } from './synthetic.js';

const problem = browserProblem();
let dir = '';
let browser: Browser | null = null;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'selectchat-page-'));
  if (problem === null) browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  destroyAllClients();
  await killLeftovers();
});

interface State {
  ready: boolean;
  loadMs: number;
  rounds: number;
  events: number;
  drawnRounds: number;
  error: string | null;
  phases: Record<string, number>;
}

async function state(page: Page): Promise<State> {
  await page.waitForFunction(() => (globalThis as unknown as { timelineState?: State }).timelineState?.ready === true, undefined, { timeout: 60_000 });
  return page.evaluate(() => (globalThis as unknown as { timelineState: State }).timelineState);
}

/** Moves the mouse over round r on the loop lane; returns the tooltip and the detail panel. */
async function hoverRound(page: Page, r: number): Promise<{ tooltip: string; detail: string; head: string }> {
  const at = await page.evaluate((round) => {
    const t = (globalThis as unknown as { timelineTest: { roundX(r: number): number; loopY(): number } }).timelineTest;
    return { x: t.roundX(round), y: t.loopY() };
  }, r);
  const box = (await page.locator('#canvas').boundingBox())!;
  await page.mouse.move(box.x + at.x, box.y + at.y);
  await page.locator('#tooltip').waitFor({ state: 'visible' });
  return {
    tooltip: await page.locator('#tooltip').innerText(),
    detail: await page.locator('#detail-body').innerText(),
    head: await page.locator('#detail-head').innerText(),
  };
}

/** Records a chat session with known traffic and makes its page. */
async function recordChat(name: string, engine: string): Promise<{ html: string; timeline: Timeline }> {
  const json = join(dir, `${name}.json`);
  const server = await startServer(engine, ['--record', json]);
  const ann = await LineClient.join(server.host, server.port);
  const bob = await LineClient.join(server.host, server.port);
  await ann.skipUntil(/joined/);
  await ann.send('hello bob\n');
  await bob.expectLine(/hello bob$/);
  ann.end();
  await bob.expectLine(/left/);
  bob.end();
  await ann.closed();
  await bob.closed();
  expect((await server.stop('SIGTERM')).code).toBe(0);
  const html = join(dir, `${name}.html`);
  writeTimeline(json, html);
  return { html, timeline: readTimeline(parseTraceText(readFileSync(json, 'utf8'))) };
}

describe.skipIf(problem !== null)('the timeline page in headless chromium', () => {
  it('shows a real select recording: no errors, no requests, every round drawn, a round\'s words on hover', async () => {
    const { html, timeline } = await recordChat('chat-select', 'select');
    const url = pathToFileURL(html).href;
    const { page, watch } = await openWatched(browser!, url);
    const s = await state(page);
    expect(s.error).toBeNull();
    expect(s.rounds).toBe(timeline.rounds.length);
    expect(s.events).toBe(timeline.events.length);
    expect(s.drawnRounds).toBe(timeline.rounds.length);
    // The round where bob's line arrived: hover it, read it as --trace would print it.
    const recv = timeline.events.find((e) => e.event.kind === 'recv' && (e.event as { bytes: number }).bytes === 10)!;
    const round = timeline.rounds[recv.round]!;
    const expected = timeline.events.slice(round.firstEvent, round.firstEvent + round.eventCount).map((e) => words(e.event));
    await page.evaluate(([a, b]) => (globalThis as unknown as { timelineTest: { setView(a: number, b: number): void } }).timelineTest.setView(a!, b!),
      [round.start - timeline.begin - 50, round.end - timeline.begin + 50]);
    const shown = await hoverRound(page, recv.round);
    expect(shown.head).toMatch(new RegExp(`^Round ${recv.round + 1} of ${timeline.rounds.length}`));
    expect(shown.detail.split('\n').map((line) => line.replace(/ {3}\(quiet: --trace leaves it out\)$/, ''))).toEqual(expected);
    expect(shown.tooltip).toContain(words(timeline.events[round.firstEvent]!.event));
    expect(shown.detail).toContain('readable: recv 10 bytes → 1 line, 0 bytes kept');
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toEqual([]);
    await page.close();
  });

  it('shows a libuv recording: connection events on fd lanes, and says its loop cannot be seen', async () => {
    const { html, timeline } = await recordChat('chat-libuv', 'libuv');
    const url = pathToFileURL(html).href;
    const { page, watch } = await openWatched(browser!, url);
    const s = await state(page);
    expect(s.rounds).toBe(0);
    expect(s.events).toBe(timeline.events.length);
    expect(await page.locator('#notice').innerText()).toContain('cannot be seen from JavaScript');
    // Hover bob's 'data' mark on its fd's lane.
    const data = timeline.events.find((e) => e.event.kind === 'data')!;
    const fd = (data.event as { fd: number }).fd;
    await page.evaluate(([a, b]) => (globalThis as unknown as { timelineTest: { setView(a: number, b: number): void } }).timelineTest.setView(a!, b!),
      [data.ts - timeline.begin - 100, data.ts - timeline.begin + 100]);
    const y = await page.evaluate((f) => (globalThis as unknown as { timelineTest: { laneY(fd: number): number } }).timelineTest.laneY(f), fd);
    const box = (await page.locator('#canvas').boundingBox())!;
    const x = 170 + (box.width - 170) / 2;
    await page.mouse.move(box.x + x, box.y + y);
    await page.locator('#tooltip').waitFor({ state: 'visible' });
    expect(await page.locator('#tooltip').innerText()).toContain(words(data.event));
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toEqual([]);
    await page.close();
  });

  it('opens 100,000 rounds, draws them all at first and only the visible ones once zoomed in', async () => {
    const json = join(dir, 'synthetic.json');
    writeSyntheticRecording(json, 100_000);
    const html = join(dir, 'synthetic.html');
    const made = writeTimeline(json, html);
    expect(made.rounds).toBe(100_000);
    const url = pathToFileURL(html).href;
    const started = performance.now();
    const { page, watch } = await openWatched(browser!, url);
    const s = await state(page);
    const wall = performance.now() - started;
    console.log(`timeline page, 100,000 rounds (${(made.bytes / 1e6).toFixed(1)} MB): drawn ${s.loadMs.toFixed(0)} ms after navigation ` +
      `started (${Math.round(wall)} ms from goto), phases ${JSON.stringify(s.phases)}`);
    expect(s.rounds).toBe(100_000);
    expect(s.drawnRounds).toBe(100_000);
    const shown = await hoverRound(page, 50_000);
    const hovered = Number(/^Round ([\d,]+) of 100,000/.exec(shown.head)![1]!.replace(/,/g, ""));
    expect(Math.abs(hovered - 50_001)).toBeLessThan(500);
    // Zoomed in: only the rounds in view are drawn.
    for (let i = 0; i < 12; i++) await page.keyboard.press('+');
    await page.waitForFunction(() => (globalThis as unknown as { timelineState: State }).timelineState.drawnRounds < 1000);
    const zoomed = await page.evaluate(() => (globalThis as unknown as { timelineState: State & { lastFrameMs: number } }).timelineState);
    expect(zoomed.drawnRounds).toBeGreaterThan(0);
    console.log(`zoomed in: ${zoomed.drawnRounds} rounds drawn, last frame ${zoomed.lastFrameMs.toFixed(1)} ms`);
    expect(watch.errors).toEqual([]);
    expect(watch.requests).toEqual([]);
    await page.close();
  }, 120_000);
});

describe.skipIf(problem === null)('the timeline page', () => {
  it.skip(`needs a browser: ${problem ?? ''}`, () => {});
});

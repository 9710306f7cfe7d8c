// The timeline screenshot in README.md and LEARN.md, taken by the real browser from a real
// recording: SELECTCHAT_SCREENSHOT=1 npx vitest run test/record/screenshot.test.ts rewrites
// docs/timeline/chat-session.png. Skipped otherwise (it is a picture, not a check).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTimeline } from '../../src/cli/timeline.js';
import { browserProblem, launchBrowser, openWatched } from '../helpers/browser.js';
import { destroyAllClients, LineClient } from '../helpers/line-client.js';
import { killLeftovers, startServer } from '../helpers/server.js';

const OUT = fileURLToPath(new URL('../../docs/timeline/chat-session.png', import.meta.url));
const wanted = process.env.SELECTCHAT_SCREENSHOT === '1';

describe.skipIf(!wanted || browserProblem() !== null)('timeline screenshot', () => {
  afterAll(async () => {
    destroyAllClients();
    await killLeftovers();
  });

  it('records a chat with a slow reader and photographs its page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'selectchat-shot-'));
    const json = join(dir, 'run.json');
    const server = await startServer('select', ['--record', json]);
    const ann = await LineClient.join(server.host, server.port);
    const bob = await LineClient.join(server.host, server.port);
    const cat = await LineClient.join(server.host, server.port);
    // cat stops reading: its output queues up and it waits for writable.
    cat.stopReading();
    await ann.send('/nick ann\n');
    await bob.send('/nick bob\n');
    await delay(30);
    // ~6 MB for cat, more than loopback's buffers hold.
    for (let i = 0; i < 200; i++) {
      await ann.send(`${'a long line from ann '.repeat(1500)}${i}\n`);
      if (i % 10 === 0) await bob.send(`hi ann ${i}\n`);
      await delay(2);
    }
    await delay(50);
    ann.end();
    bob.end();
    cat.socket.destroy();
    await delay(50);
    expect((await server.stop('SIGTERM')).code).toBe(0);
    const html = join(dir, 'run.html');
    writeTimeline(json, html);
    const browser = await launchBrowser();
    const { page, watch } = await openWatched(browser, pathToFileURL(html).href, { width: 1280, height: 640 });
    await page.waitForFunction(() => (globalThis as unknown as { timelineState?: { ready: boolean } }).timelineState?.ready === true);
    // Zoom to the busy part, hover a round in the middle of it.
    const box = (await page.locator('#canvas').boundingBox())!;
    for (let i = 0; i < 3; i++) {
      await page.mouse.move(box.x + 170 + (box.width - 170) * 0.5, box.y + 60);
      await page.mouse.wheel(0, -400);
      await delay(50);
    }
    await page.mouse.move(box.x + 170 + (box.width - 170) * 0.55, box.y + 50);
    await delay(100);
    await page.mouse.down();
    await page.mouse.up();
    await page.screenshot({ path: OUT });
    expect(watch.errors).toEqual([]);
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
});

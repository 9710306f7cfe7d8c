// A real headless browser for the page tests: Debian's chromium driven by playwright-core (which
// never downloads a browser). Where chromium is missing, the tests skip and say so.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The browser binary: SELECTCHAT_CHROMIUM, or Debian's. */
export const CHROMIUM = process.env.SELECTCHAT_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null. */
export function browserProblem(): string | null {
  return existsSync(CHROMIUM) ? null : `no browser at ${CHROMIUM} (apt-get install chromium, or set SELECTCHAT_CHROMIUM)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

/** What a page did while it was open: console errors, uncaught errors, requests for anything
 *  but the page itself. */
export interface PageWatch {
  errors: string[];
  requests: string[];
}

/** Opens url in a new page and watches it. */
export async function openWatched(browser: Browser, url: string, viewport = { width: 1400, height: 800 }): Promise<{ page: Page; watch: PageWatch }> {
  const page = await browser.newPage({ viewport });
  const watch: PageWatch = { errors: [], requests: [] };
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') watch.errors.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => watch.errors.push(`uncaught: ${error.message}`));
  page.on('request', (request) => {
    if (request.url() !== url) watch.requests.push(request.url());
  });
  await page.goto(url);
  return { page, watch };
}

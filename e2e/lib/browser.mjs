// Debian's Chromium, driven by playwright-core (no browser download), plus axe-core.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch() {
  return chromium.launch({
    executablePath,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** A browser context with JavaScript on or off, Dutch by default. */
export async function newContext(browser, { javaScript = true, locale = 'nl-NL', viewport } = {}) {
  return browser.newContext({ javaScriptEnabled: javaScript, locale, viewport: viewport ?? { width: 1280, height: 800 } });
}

/**
 * WCAG 2.2 A/AA violations on the page as it is now. The page's HTML is replayed into a
 * JavaScript-enabled page at the same URL, so pages seen with JavaScript off are checked
 * exactly as they were rendered.
 */
export async function axeViolations(browser, page) {
  const html = await page.content();
  const url = page.url();
  const context = await browser.newContext({ bypassCSP: true });
  try {
    const checker = await context.newPage();
    await checker.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    await checker.goto(url);
    await checker.addScriptTag({ content: axeSource });
    const results = await checker.evaluate(() =>
      // eslint-disable-next-line no-undef
      axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } }),
    );
    // An axe that checked nothing would report no violations either: make sure it ran.
    if (results.passes.length === 0) throw new Error(`axe checked nothing on ${url}`);
    return results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  } finally {
    await context.close();
  }
}

/** Run `body(page)`; on failure keep a screenshot in e2e/screenshots/. */
export async function withPage(context, name, body) {
  const page = await context.newPage();
  try {
    await body(page);
  } catch (error) {
    mkdirSync('screenshots', { recursive: true });
    await page.screenshot({ path: join('screenshots', `${name}.png`), fullPage: true }).catch(() => {});
    throw error;
  } finally {
    await page.close();
  }
}

// The portal's skeleton in a real browser: language, keyboard, zoom, weight, and axe.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../lib/loket.mjs';
import { launch, newContext, axeViolations, withPage } from '../lib/browser.mjs';

let loket;
let browser;

before(async () => {
  loket = await startDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await loket?.stop();
});

for (const javaScript of [true, false]) {
  const mode = javaScript ? 'JS on' : 'JS off';

  test(`start page in Dutch, with banner, skip link and no axe violations (${mode})`, async () => {
    const context = await newContext(browser, { javaScript });
    await withPage(context, `start-${javaScript ? 'js' : 'nojs'}`, async (page) => {
      const response = await page.goto(`${loket.portal}/`);
      assert.equal(response.status(), 200);
      assert.equal(await page.getAttribute('html', 'lang'), 'nl');
      assert.equal(await page.locator('h1').count(), 1);
      assert.match(await page.locator('h1').innerText(), /Welkom/);
      assert.match(await page.locator('.test-banner').innerText(), /Testomgeving/);
      assert.deepEqual(await axeViolations(browser, page), []);
    });
    await context.close();
  });

  test(`keyboard: the first Tab reaches the skip link, which moves focus to the content (${mode})`, async () => {
    const context = await newContext(browser, { javaScript });
    await withPage(context, `keyboard-${javaScript ? 'js' : 'nojs'}`, async (page) => {
      await page.goto(`${loket.portal}/`);
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '#inhoud');
      assert.ok(await page.locator('.skip-link').isVisible(), 'the skip link shows when focused');
      await page.keyboard.press('Enter');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'inhoud');
    });
    await context.close();
  });

  test(`language switch to English and back (${mode})`, async () => {
    const context = await newContext(browser, { javaScript });
    await withPage(context, `language-${javaScript ? 'js' : 'nojs'}`, async (page) => {
      await page.goto(`${loket.portal}/`);
      await page.getByRole('link', { name: 'Read this page in English' }).click();
      assert.equal(await page.getAttribute('html', 'lang'), 'en');
      assert.match(await page.locator('h1').innerText(), /Welcome/);
      assert.deepEqual(await axeViolations(browser, page), []);
      await page.getByRole('link', { name: 'Lees deze pagina in het Nederlands' }).click();
      assert.equal(await page.getAttribute('html', 'lang'), 'nl');
    });
    await context.close();
  });

  test(`an unknown page gets a friendly 404 page without axe violations (${mode})`, async () => {
    const context = await newContext(browser, { javaScript });
    await withPage(context, `not-found-${javaScript ? 'js' : 'nojs'}`, async (page) => {
      const response = await page.goto(`${loket.portal}/bestaat-niet`);
      assert.equal(response.status(), 404);
      assert.match(await page.locator('h1').innerText(), /Er ging iets mis/);
      assert.ok(await page.getByRole('link', { name: 'Ga naar de startpagina' }).isVisible());
      assert.deepEqual(await axeViolations(browser, page), []);
    });
    await context.close();
  });
}

test('the footer leads to the privacy and accessibility statements, in both languages', async () => {
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'statements', async (page) => {
    for (const [link, heading, english] of [
      ['Privacyverklaring', /Privacyverklaring/, /Privacy statement/],
      ['Toegankelijkheid', /Toegankelijkheid/, /Accessibility/],
    ]) {
      await page.goto(`${loket.portal}/`);
      await page.locator('footer').getByRole('link', { name: link }).click();
      assert.match(await page.locator('h1').innerText(), heading);
      assert.deepEqual(await axeViolations(browser, page), []);
      await page.getByRole('link', { name: 'English' }).click();
      assert.match(await page.locator('h1').innerText(), english);
      assert.equal(await page.locator('html').getAttribute('lang'), 'en');
      await page.getByRole('link', { name: 'Nederlands' }).click();
    }
  });
  await context.close();
});

test('at 400% zoom (320 CSS pixels wide) nothing scrolls sideways', async () => {
  const context = await newContext(browser, { viewport: { width: 320, height: 640 } });
  await withPage(context, 'zoom-400', async (page) => {
    for (const path of ['/', '/?lang=en', '/bestaat-niet', '/privacy', '/toegankelijkheid']) {
      await page.goto(`${loket.portal}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} overflows by ${overflow}px`);
    }
  });
  await context.close();
});

test('the start page weighs under 100 KB and asks nothing of other origins', async () => {
  const context = await newContext(browser);
  await withPage(context, 'weight', async (page) => {
    const origins = new Set();
    const bodies = [];
    page.on('response', (response) => {
      origins.add(new URL(response.url()).origin);
      bodies.push(response.body().then((body) => body.length, () => 0));
    });
    await page.goto(`${loket.portal}/`, { waitUntil: 'networkidle' });
    const bytes = (await Promise.all(bodies)).reduce((sum, n) => sum + n, 0);
    assert.deepEqual([...origins], [loket.portal]);
    assert.ok(bytes > 0 && bytes < 100 * 1024, `page weight ${bytes} bytes`);
  });
  await context.close();
});

// The employee workspace in a real browser: a persona's lease-car application goes to the
// work queue; a case handler signs in with the keyboard, reads the decision trace and the
// data used (with its source registers), takes the case and decides it with a reason.
// With JavaScript on and off, and axe on every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startDemo } from '../lib/loket.mjs';
import { launch, newContext, axeViolations, withPage } from '../lib/browser.mjs';

const PRIYA = '999990032'; // drives a lease car: the rules send her application to a person
const LEASE_STATEMENT = fileURLToPath(new URL('../../demo/leaseverklaring-priya.pdf', import.meta.url));
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

async function signIn(page, password) {
  await page.goto(`${loket.werkplek}/werkplek`);
  assert.match(await page.locator('h1').innerText(), /Inloggen/);
  assert.deepEqual(await axeViolations(browser, page), []);
  // Keyboard only: type into the labelled fields, submit with Enter.
  await page.getByLabel('Gebruikersnaam').focus();
  await page.keyboard.type('m.jansen');
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForURL(/\/werkplek$/), page.keyboard.press('Enter')]);
}

for (const javaScript of [true, false]) {
  const mode = javaScript ? 'JS on' : 'JS off';

  test(`a case handler reads the trace and decides a lease-car application (${mode})`, async () => {
    const zaak = await loket.apply(
      'bewonersparkeervergunning',
      PRIYA,
      { kenteken: 'AB12CD', leaseverklaring: 'ja' },
      { leasedocument: LEASE_STATEMENT },
    );
    assert.match(zaak, /^ZAAK-\d{4}-\d{10}$/);
    const context = await newContext(browser, { javaScript });
    await withPage(context, `werkplek-${javaScript ? 'js' : 'nojs'}`, async (page) => {
      const wrong = await page.goto(`${loket.werkplek}/werkplek/inloggen`);
      assert.equal(wrong.status(), 200);
      await page.getByLabel('Gebruikersnaam').fill('m.jansen');
      await page.getByLabel('Wachtwoord').fill('niet-het-wachtwoord');
      await page.getByRole('button', { name: 'Inloggen' }).click();
      assert.match(await page.locator('.error-summary').innerText(), /klopt niet/);
      assert.deepEqual(await axeViolations(browser, page), []);

      await signIn(page, loket.passwords()['m.jansen']);
      assert.match(await page.locator('h1').innerText(), /Werkvoorraad/);
      assert.deepEqual(await axeViolations(browser, page), []);

      await page.getByRole('link', { name: zaak }).click();
      assert.match(await page.locator('h1').innerText(), new RegExp(zaak));
      const data = await page.locator('table').nth(1).innerText();
      assert.match(data, /BRP \(Basisregistratie Personen, RvIG\)/);
      assert.match(data, /Kentekenregister \(RDW\)/);
      assert.match(await page.locator('table').first().innerText(), /Medewerker beoordeelt/);
      assert.deepEqual(await axeViolations(browser, page), []);

      // The lease statement she added is there to read, as the PDF she sent.
      const statement = page.getByRole('link', { name: 'leaseverklaring-priya.pdf' });
      const download = await context.request.get(new URL(await statement.getAttribute('href'), page.url()).href);
      assert.equal(download.status(), 200);
      assert.equal(download.headers()['content-type'], 'application/pdf');
      assert.match((await download.body()).subarray(0, 5).toString(), /^%PDF-/);

      await page.getByRole('button', { name: 'Zaak oppakken' }).click();
      assert.match(await page.locator('.notice').innerText(), /U behandelt deze zaak nu/);

      // Deciding without a reason is refused, with the summary linking to the field.
      await page.getByLabel('Toekennen').check();
      await page.getByRole('button', { name: 'Besluit nemen' }).click();
      const summary = page.locator('.error-summary');
      assert.match(await summary.innerText(), /Schrijf de reden/);
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'fouten');
      assert.deepEqual(await axeViolations(browser, page), []);
      await summary.getByRole('link').click();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'reden');

      await page.keyboard.type('Het leasecontract staat op uw naam.');
      await page.getByRole('button', { name: 'Besluit nemen' }).click();
      assert.match(await page.locator('.notice').innerText(), /Het besluit is genomen/);
      const decision = await page.locator('dl.summary').nth(1).innerText();
      assert.match(decision, /Toegekend/);
      assert.match(decision, /U krijgt de bewonersparkeervergunning\.\s+Het leasecontract staat op uw naam\./);
      assert.equal(await page.getByRole('button', { name: 'Besluit nemen' }).count(), 0, 'a closed case has no decision form');
      assert.deepEqual(await axeViolations(browser, page), []);
    });
    await context.close();
  });
}

test('the workspace in English, chosen by its link in the header and remembered', async () => {
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'werkplek-english', async (page) => {
    await signIn(page, loket.passwords()['m.jansen']);
    await page.getByRole('link', { name: 'English' }).click();
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.match(await page.locator('h1').innerText(), /Work queue/);
    assert.deepEqual(await axeViolations(browser, page), []);
    // The next page, reached without ?lang=, stays in English.
    await page.goto(`${loket.werkplek}/werkplek`);
    assert.equal(await page.locator('html').getAttribute('lang'), 'en');
    assert.match(await page.locator('h1').innerText(), /Work queue/);
    await page.getByRole('link', { name: 'Nederlands' }).click();
    assert.match(await page.locator('h1').innerText(), /Werkvoorraad/);
  });
  await context.close();
});

test('a case address that does not exist gets the workspace\'s own error page', async () => {
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'werkplek-not-found', async (page) => {
    await signIn(page, loket.passwords()['m.jansen']);
    const response = await page.goto(`${loket.werkplek}/werkplek/zaken/00000000-0000-0000-0000-000000000000`);
    assert.equal(response.status(), 404);
    assert.match(response.headers()['content-type'], /text\/html/);
    assert.match(await page.locator('h1').innerText(), /Er ging iets mis/);
    assert.match(await page.locator('main').innerText(), /Deze pagina bestaat niet/);
    assert.deepEqual(await axeViolations(browser, page), []);
    // Signed in, so the way on is the work queue, reached with the keyboard.
    await page.getByRole('link', { name: 'Ga naar de werkvoorraad' }).focus();
    await Promise.all([page.waitForURL(/\/werkplek$/), page.keyboard.press('Enter')]);
    assert.match(await page.locator('h1').innerText(), /Werkvoorraad/);
  });
  await context.close();
});

test('the workspace at 400% zoom (320 CSS pixels wide) does not scroll sideways', async () => {
  const context = await newContext(browser, { viewport: { width: 320, height: 640 } });
  await withPage(context, 'werkplek-zoom', async (page) => {
    await signIn(page, loket.passwords()['m.jansen']);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the queue scrolls sideways by ${overflow}px`);
  });
  await context.close();
});

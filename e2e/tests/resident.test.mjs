// The resident's whole story in a real browser, with JavaScript on and off: log in with
// the simulated DigiD as Sanne, see her data from the registers, find the parking permit,
// apply (pre-filled, one question), read the decision, find it in the Berichtenbox, and
// see the BRP and RDW lookups for it under "Wie gebruikte mijn gegevens". axe on every page.
import { test, before, after } from 'node:test';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { startDemo } from '../lib/loket.mjs';
import { launch, newContext, axeViolations, withPage } from '../lib/browser.mjs';

let loket;
let browser;

const menu = (page) => page.getByRole('navigation', { name: 'Mijn Loket' });

before(async () => {
  loket = await startDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await loket?.stop();
});

async function noViolations(page) {
  assert.deepEqual(await axeViolations(browser, page), [], `axe on ${page.url()}`);
}

async function logIn(page, name) {
  await page.goto(`${loket.portal}/`);
  await page.getByRole('link', { name: 'Inloggen met DigiD' }).click();
  await page.getByRole('link', { name: 'Inloggen met DigiD' }).click();
  assert.match(await page.locator('h1').innerText(), /DigiD \(nagebootst\)/);
  await noViolations(page);
  await page.getByLabel(name).check();
  await Promise.all([page.waitForURL(/\/overzicht$/), page.getByRole('button', { name: 'Inloggen' }).click()]);
}

test('at 400% zoom (320 CSS pixels wide) a signed-in resident\'s pages do not scroll sideways', async () => {
  const context = await newContext(browser, { viewport: { width: 320, height: 640 } });
  await withPage(context, 'resident-zoom-400', async (page) => {
    await logIn(page, 'Sanne de Vries');
    // Mijn gegevens asks the registers, so who used her data has lines by then.
    for (const path of ['/overzicht', '/mijn-gegevens', '/wie-gebruikte-mijn-gegevens', '/aanvragen/bewonersparkeervergunning', '/zaken', '/berichten']) {
      await page.goto(`${loket.portal}${path}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} overflows by ${overflow}px`);
      // Nor does a table inside it: on a narrow screen its rows are cards.
      const inner = await page.evaluate(() => Math.max(0, ...[...document.querySelectorAll('.table-scroll')]
        .map((region) => region.scrollWidth - region.clientWidth)));
      assert.ok(inner <= 0, `a table on ${path} scrolls sideways by ${inner}px`);
    }
    // The header's and footer's links are at least 44 px high, easy to hit on a phone.
    const small = await page.evaluate(() => [...document.querySelectorAll('.site-header a, .site-footer a')]
      .filter((link) => link.getBoundingClientRect().height < 44).map((link) => link.textContent.trim()));
    assert.deepEqual(small, []);
    await page.goto(`${loket.portal}/wie-gebruikte-mijn-gegevens`);
    assert.ok(await page.locator('table.stack tbody tr').count() > 0, 'the log has lines about Sanne');
    // Each value shows its column's name above it.
    const label = await page.evaluate(() =>
      getComputedStyle(document.querySelector('table.stack tbody td'), '::before').content);
    assert.match(label, /Wanneer/);
  });
  await context.close();
});

for (const javaScript of [true, false]) {
  const mode = javaScript ? 'JS on' : 'JS off';

  test(`Sanne applies for a parking permit and sees who used her data (${mode})`, async () => {
    const context = await newContext(browser, { javaScript });
    await withPage(context, `resident-${javaScript ? 'js' : 'nojs'}`, async (page) => {
      await logIn(page, 'Sanne de Vries');
      assert.match(await page.locator('h1').innerText(), /Welkom, Sanne de Vries/);
      await noViolations(page);

      await menu(page).getByRole('link', { name: 'Mijn gegevens', exact: true }).click();
      const data = await page.locator('main').innerText();
      assert.match(data, /Bron: Basisregistratie Personen \(BRP\), van de Rijksdienst voor Identiteitsgegevens/);
      assert.match(data, /Kerkstraat 12/);
      assert.match(data, /Bron: Kentekenregister \(RDW\)/);
      assert.match(data, /34GBV7/);
      await noViolations(page);

      await menu(page).getByRole('link', { name: 'Aanvragen', exact: true }).click();
      await page.getByLabel('Zoek').fill('parkeren');
      await page.getByRole('button', { name: 'Zoeken' }).click();
      await noViolations(page);
      await page.locator('#resultaten + ul').getByRole('link', { name: 'Bewonersparkeervergunning' }).click();
      assert.match(await page.locator('h1').innerText(), /Bewonersparkeervergunning/);
      const form = await page.locator('main').innerText();
      assert.match(form, /Dit weten we al van u/);
      assert.match(form, /Kerkstraat 12/);
      assert.match(form, /€ 75,00 per jaar/);
      await noViolations(page);

      // Without an answer to the lease question: an error summary that links to it.
      await page.getByRole('button', { name: 'Doorgaan' }).click();
      const summary = page.locator('.error-summary');
      assert.match(await summary.innerText(), /Kies ja of nee/);
      // The summary has the focus, so a screen reader reads it first (no script).
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'fouten');
      await noViolations(page);
      await summary.getByRole('link', { name: 'Kies ja of nee.' }).click();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'leaseverklaring');

      await page.getByLabel('34GBV7').check();
      await page.getByLabel('Nee', { exact: true }).check();
      await page.getByRole('button', { name: 'Doorgaan' }).click();
      assert.match(await page.locator('h1').innerText(), /Controleer uw aanvraag/);
      await noViolations(page);
      // Back to the questions: the answers given are still there.
      await page.getByRole('button', { name: 'Antwoorden wijzigen' }).click();
      assert.match(await page.locator('h1').innerText(), /Bewonersparkeervergunning/);
      assert.ok(await page.getByLabel('34GBV7').isChecked(), 'the car chosen');
      assert.ok(await page.getByLabel('Nee', { exact: true }).isChecked(), 'the answer given');
      // The form's own language button takes the answers along, on the questions and
      // on the check; Enter in a field still means "Continue".
      await page.getByRole('button', { name: 'Read in English, keeping your answers' }).click();
      assert.match(await page.locator('h1').innerText(), /Residential parking permit/);
      assert.ok(await page.getByLabel('34GBV7').isChecked(), 'the car chosen, in English');
      assert.ok(await page.getByLabel('No', { exact: true }).isChecked(), 'the answer, in English');
      await noViolations(page);
      await page.locator('#kenteken').press('Enter');
      assert.match(await page.locator('h1').innerText(), /Check your application/);
      await page.getByRole('button', { name: 'Lees in het Nederlands, met uw antwoorden' }).click();
      assert.match(await page.locator('h1').innerText(), /Controleer uw aanvraag/);
      assert.match(await page.locator('main').innerText(), /34GBV7/);
      await noViolations(page);
      await page.getByRole('button', { name: 'Aanvraag versturen' }).click();

      const decision = await page.locator('main').innerText();
      assert.match(decision, /Uw aanvraag is ontvangen/);
      assert.match(decision, /Uw aanvraag is toegekend/);
      assert.match(decision, /De auto met kenteken 34GBV7 staat op uw naam/);
      const caseUrl = new URL(page.url()).pathname;
      await noViolations(page);

      await menu(page).getByRole('link', { name: /Berichten \(\d+ nieuw\)/ }).click();
      await noViolations(page);
      await page.getByRole('link', { name: 'U krijgt de bewonersparkeervergunning' }).first().click();
      const messageUrl = new URL(page.url()).pathname;
      assert.match(await page.locator('main').innerText(), /U staat ingeschreven op Kerkstraat 12/);
      await noViolations(page);
      await page.getByRole('link', { name: 'Bekijk de zaak bij dit bericht' }).click();
      assert.equal(new URL(page.url()).pathname.startsWith('/zaken/'), true);

      await menu(page).getByRole('link', { name: 'Wie gebruikte mijn gegevens' }).click();
      const rows = page.locator('tbody tr', { has: page.getByRole('link', { name: 'Bekijk de zaak' }) });
      const used = await rows.allInnerTexts();
      // Which data, in words: the fields each request asked for.
      assert.ok(used.some((r) => /Rijksdienst voor Identiteitsgegevens/.test(r) && /naam, adres, gemeente waar u staat ingeschreven/.test(r)), used.join('\n'));
      assert.ok(used.some((r) => /Rijksdienst voor het Wegverkeer/.test(r) && /Gaf: kenteken, merk, type\t/.test(r)), used.join('\n'));
      assert.ok(used.every((r) => /parkeervergunning/.test(r) && /Gecontroleerd/.test(r)), used.join('\n'));
      await noViolations(page);

      // Another resident cannot open Sanne's case, and learns nothing from trying.
      await page.getByRole('button', { name: 'Uitloggen' }).click();
      assert.match(await page.locator('main').innerText(), /U bent uitgelogd/);
      await logIn(page, 'Ingrid Bakker');
      const foreign = await page.goto(`${loket.portal}${caseUrl}`);
      assert.equal(foreign.status(), 404);
      const foreignPage = await page.locator('main').innerText();
      const gone = await page.goto(`${loket.portal}/zaken/00000000-0000-7000-8000-000000000000`);
      assert.equal(gone.status(), 404);
      assert.equal(await page.locator('main').innerText(), foreignPage, 'a foreign case looks like no case');
      // The error page keeps the portal's menu, so the way back is one click.
      assert.ok(await menu(page).getByRole('link', { name: 'Mijn zaken' }).isVisible());
      await noViolations(page);
      await page.getByRole('link', { name: 'Ga naar uw overzicht' }).click();
      assert.match(await page.locator('h1').innerText(), /Ingrid/);
      assert.equal((await page.goto(`${loket.portal}${messageUrl}`)).status(), 404);
      assert.doesNotMatch(await page.locator('main').innerText(), /Kerkstraat|Sanne/);
    });
    await context.close();
  });
}

test('Priya applies for a lease car and adds the statement; a person will decide (JS off)', async () => {
  const statement = fileURLToPath(new URL('../../demo/leaseverklaring-priya.pdf', import.meta.url));
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'resident-lease', async (page) => {
    await logIn(page, 'Priya Ramdin');
    await page.goto(`${loket.portal}/aanvragen/bewonersparkeervergunning`);
    await page.locator('#kenteken-anders').check();
    await page.getByLabel('Kenteken van de andere auto').fill('AB-12-CD');
    await page.locator('#leaseverklaring-ja').check();
    await page.getByRole('button', { name: 'Doorgaan' }).click();
    assert.match(await page.locator('h1').innerText(), /Controleer uw aanvraag/);
    await noViolations(page);

    // Sent without the statement: the same page, saying which file to add.
    await page.getByRole('button', { name: 'Aanvraag versturen' }).click();
    assert.match(await page.locator('.error-summary').innerText(), /Voeg dit bestand toe/);
    await noViolations(page);

    await page.getByLabel(/Voeg toe: Verklaring van uw werkgever/).setInputFiles(statement);
    await page.getByRole('button', { name: 'Aanvraag versturen' }).click();
    const received = await page.locator('main').innerText();
    assert.match(received, /Uw aanvraag is ontvangen/);
    assert.match(received, /Een medewerker bekijkt uw aanvraag/);
    assert.match(received, /leaseverklaring-priya\.pdf/);
    await noViolations(page);
    await menu(page).getByRole('link', { name: /Berichten/ }).click();
    assert.match(await page.locator('main').innerText(), /We hebben uw aanvraag voor de bewonersparkeervergunning ontvangen/);
  });
  await context.close();
});

test('the simulated DigiD refuses an invalid BSN with an error summary', async () => {
  const context = await newContext(browser);
  await withPage(context, 'digid-invalid', async (page) => {
    await page.goto(`${loket.portal}/digid-simulatie`);
    await page.getByLabel('Iemand anders: ik vul een burgerservicenummer in').check();
    await page.getByLabel('Burgerservicenummer', { exact: true }).fill('123456789');
    await page.getByRole('button', { name: 'Inloggen' }).click();
    assert.match(await page.locator('.error-summary').innerText(), /elfproef/);
    assert.equal(await page.getByLabel('Burgerservicenummer', { exact: true }).inputValue(), '123456789');
    await noViolations(page);
  });
  await context.close();
});

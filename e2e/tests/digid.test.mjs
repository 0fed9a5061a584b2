// The production logins: `loket serve` with an OpenID Connect DigiD broker for residents
// and an identity provider for staff (a real, certified OpenID provider). Each logs in
// there and comes back logged in; a forged or stale return, or an employee without an
// account on the workspace, is refused with an error summary. JavaScript off, axe on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts, startServe } from '../lib/loket.mjs';
import { startProvider, signInAtProvider } from '../lib/op.mjs';
import { launch, newContext, axeViolations, withPage } from '../lib/browser.mjs';

const SECRET = 'een-geheim-van-minstens-tweeendertig-tekens';
let op;
let loket;
let browser;

before(async () => {
  const [opPort, portalPort, werkplekPort] = await freePorts(3);
  const redirectUri = `http://127.0.0.1:${portalPort}/inloggen/terug`;
  const staffRedirect = `http://127.0.0.1:${werkplekPort}/werkplek/inloggen/terug`;
  op = await startProvider({
    port: opPort,
    clients: [
      { clientId: 'loket-portaal', clientSecret: SECRET, redirectUri },
      { clientId: 'loket-werkplek', clientSecret: SECRET, redirectUri: staffRedirect },
    ],
  });
  loket = await startServe({
    port: portalPort,
    portal: {
      session_key: 'k'.repeat(40),
      digid: { issuer: op.issuer, client_id: 'loket-portaal', client_secret: SECRET, redirect_url: redirectUri },
    },
    werkplek: {
      listen: `127.0.0.1:${werkplekPort}`,
      oidc: { issuer: op.issuer, client_id: 'loket-werkplek', client_secret: SECRET, redirect_url: staffRedirect, claim: 'sub' },
    },
    staff: [{ id: 'm.jansen', naam: 'Mila Jansen', rol: 'behandelaar' }],
  });
  loket.werkplek = `http://127.0.0.1:${werkplekPort}`;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await loket?.stop();
  await op?.stop();
});

test('a resident logs in at the DigiD broker and comes back logged in (JS off)', async () => {
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'digid-oidc', async (page) => {
    await page.goto(`${loket.portal}/inloggen`);
    assert.equal(await page.getByRole('link', { name: 'Inloggen met DigiD' }).count(), 1, 'no simulation outside demo mode');
    assert.doesNotMatch(await page.locator('body').innerText(), /Testomgeving/);
    await page.getByRole('link', { name: 'Inloggen met DigiD' }).click();
    assert.ok(page.url().startsWith(op.issuer), page.url());
    // The broker's own login and consent pages.
    await signInAtProvider(page, '999990007', loket.portal);
    await page.waitForURL(`${loket.portal}/overzicht`);
    assert.match(await page.locator('h1').innerText(), /Overzicht/);
    assert.ok(await page.getByRole('button', { name: 'Uitloggen' }).isVisible());
    assert.deepEqual(await axeViolations(browser, page), []);
  });
  await context.close();
});

test('an employee signs in with the municipality account; one without a workspace account cannot (JS off)', async () => {
  for (const [login, allowed] of [['m.jansen', true], ['x.onbekend', false]]) {
    const context = await newContext(browser, { javaScript: false });
    await withPage(context, `werkplek-oidc-${login}`, async (page) => {
      await page.goto(`${loket.werkplek}/werkplek/inloggen`);
      await page.getByRole('link', { name: 'Inloggen met uw gemeente-account' }).click();
      assert.ok(page.url().startsWith(op.issuer), page.url());
      await signInAtProvider(page, login, loket.werkplek);
      if (allowed) {
        await page.waitForURL(`${loket.werkplek}/werkplek`);
        assert.match(await page.locator('h1').innerText(), /Werkvoorraad/);
        assert.match(await page.locator('header').innerText(), /Mila Jansen/);
      } else {
        assert.match(await page.locator('.error-summary').innerText(), /geen account op de werkplek/);
      }
      assert.deepEqual(await axeViolations(browser, page), []);
    });
    await context.close();
  }
});

test('a return that was not started here is refused and explained', async () => {
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'digid-forged', async (page) => {
    const response = await page.goto(`${loket.portal}/inloggen/terug?state=vervalst&code=gestolen`);
    assert.equal(response.status(), 400);
    assert.match(await page.locator('.error-summary').innerText(), /Inloggen is niet gelukt/);
    assert.deepEqual(await axeViolations(browser, page), []);
    const overview = await page.goto(`${loket.portal}/overzicht`);
    assert.match(new URL(overview.url()).pathname, /\/inloggen$/, 'not logged in');
  });
  await context.close();
});

// The production logins: `loket serve` with an OpenID Connect DigiD broker for residents
// and an identity provider for staff (a real, certified OpenID provider). Each logs in
// there and comes back logged in; a forged or stale return, or an employee without an
// account on the workspace, is refused with an error summary. JavaScript off, axe on.
// Generated returns (state, code, error and the sealed login each kept, changed, left out
// or doubled) are all refused, and the untouched one still logs in, once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePorts, startServe } from '../lib/loket.mjs';
import { startProvider, signInAtProvider, signInWithoutBrowser } from '../lib/op.mjs';
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
      // The sign-in is used up either way: its cookie is gone from the browser.
      const names = (await context.cookies()).map((c) => c.name);
      assert.ok(!names.some((name) => name.endsWith('werkplek_inloggen')), names.join(', '));
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
    assert.match(await page.title(), /^Fout: Inloggen/);
    assert.deepEqual(await axeViolations(browser, page), []);
    const overview = await page.goto(`${loket.portal}/overzicht`);
    assert.match(new URL(overview.url()).pathname, /\/inloggen$/, 'not logged in');
  });
  await context.close();
});

/** A small seeded generator (mulberry32), so a failure names a case that comes back. */
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = (choices) => choices[Math.floor(next() * choices.length)];
  /** `text` with one character changed. */
  const changed = (text) => {
    // Not the last character: in base64 it may carry only unused bits.
    const at = Math.floor(next() * (text.length - 1));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let replacement = pick(alphabet);
    if (replacement === text[at]) replacement = text[at] === 'A' ? 'B' : 'A';
    return text.slice(0, at) + replacement + text.slice(at + 1);
  };
  return { pick, changed };
}

test('only the code the broker gave, with its state and this browser\'s sealed login, logs in, and only once', async () => {
  // A real login at the broker, without a browser; its way back is kept, unvisited.
  const started = await fetch(`${loket.portal}/inloggen/digid`, { redirect: 'manual' });
  // Outside the demo the login cookie is bound to this host (`__Host-`).
  const sealed = started.headers.get('set-cookie').match(/^__Host-loket_inloggen=([^;]+)/)[1];
  const back = await signInWithoutBrowser(started.headers.get('location'), '999990007', `${loket.portal}/inloggen/terug`);
  // Another login this browser did not start: its own sealed state.
  const other = await fetch(`${loket.portal}/inloggen/digid`, { redirect: 'manual' });
  const otherSealed = other.headers.get('set-cookie').match(/^__Host-loket_inloggen=([^;]+)/)[1];

  const state = back.searchParams.get('state');
  const code = back.searchParams.get('code');
  const returnWith = async ({ query, cookie }) => {
    const headers = { accept: 'text/html' };
    if (cookie !== undefined) headers.cookie = `__Host-loket_inloggen=${cookie}`;
    const response = await fetch(`${loket.portal}/inloggen/terug?${query}`, { redirect: 'manual', headers });
    return { status: response.status, location: response.headers.get('location'), setCookie: response.headers.get('set-cookie') ?? '', body: await response.text() };
  };

  // Every return with anything changed, missing or added is refused with a page.
  const { pick, changed } = generator(20261206);
  const seen = new Set();
  for (let round = 0; round < 60; round += 1) {
    const parts = {
      state: pick(['genuine', 'changed', 'empty', 'missing', 'twice']),
      code: pick(['genuine', 'changed', 'empty', 'missing']),
      error: pick(['none', 'none', 'access_denied']),
      cookie: pick(['genuine', 'genuine', 'changed', 'other', 'none']),
    };
    const allGenuine = parts.state === 'genuine' && parts.code === 'genuine' && parts.error === 'none' && parts.cookie === 'genuine';
    if (allGenuine) continue;
    const query = new URLSearchParams();
    if (parts.state === 'genuine') query.append('state', state);
    if (parts.state === 'changed') query.append('state', changed(state));
    if (parts.state === 'empty') query.append('state', '');
    if (parts.state === 'twice') { query.append('state', state); query.append('state', state); }
    if (parts.code === 'genuine') query.append('code', code);
    if (parts.code === 'changed') query.append('code', changed(code));
    if (parts.code === 'empty') query.append('code', '');
    if (parts.error !== 'none') query.append('error', parts.error);
    const cookie = { genuine: sealed, changed: changed(sealed), other: otherSealed, none: undefined }[parts.cookie];
    const answer = await returnWith({ query: query.toString(), cookie });
    const context = JSON.stringify(parts);
    assert.equal(answer.status, 400, `${context}: ${answer.status} ${answer.location}`);
    assert.doesNotMatch(answer.setCookie, /loket_sessie=[^;]/, `no session: ${context}`);
    assert.match(answer.body, /<html/, context);
    seen.add(JSON.stringify([parts.state, parts.code, parts.cookie]));
  }
  assert.ok(seen.size >= 20, `varied returns: ${seen.size}`);

  // The login cookie without its prefix, as another subdomain could plant it, is not read.
  const planted = await fetch(`${loket.portal}/inloggen/terug?${back.searchParams}`, { redirect: 'manual', headers: { cookie: `loket_inloggen=${sealed}` } });
  assert.equal(planted.status, 400);
  // The untouched return still works, once: every refusal above left it unused.
  const genuine = await returnWith({ query: back.searchParams.toString(), cookie: sealed });
  assert.equal(genuine.status, 303, genuine.body);
  assert.equal(genuine.location, '/overzicht');
  const session = genuine.setCookie.match(/__Host-loket_sessie=[^;]+/)[0];
  const overview = await fetch(`${loket.portal}/overzicht`, { redirect: 'manual', headers: { cookie: session } });
  assert.equal(overview.status, 200);
  const again = await returnWith({ query: back.searchParams.toString(), cookie: sealed });
  assert.equal(again.status, 400, 'a code is good for one login');
});

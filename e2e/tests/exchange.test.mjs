// Two organisations in production, each its own `loket serve` with certificates from its
// configuration: RvIG publishes the BRP at its inway; the municipality's portal asks for a
// resident's data through its outway, under a contract both management APIs agreed, and
// shows the resident who used it, from its own processing log and from RvIG's. The
// resident logs in at a real OpenID DigiD broker. JavaScript off, axe on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts, runServe, loketCommand } from '../lib/loket.mjs';
import { startProvider, signInAtProvider } from '../lib/op.mjs';
import { launch, newContext, axeViolations, withPage } from '../lib/browser.mjs';

const SECRET = 'een-geheim-van-minstens-tweeendertig-tekens';
const MIJN_GEGEVENS = 'https://voorbeeldstad.example/verwerkingen/mijn-gegevens';
// RvIG's own register of processing activities (the demo's), and the activity it provides
// BRP data under: its inway's records name that one.
const RVIG_ACTIVITIES = fileURLToPath(new URL('../../config/verwerkingsactiviteiten-rvig.toml', import.meta.url));
const RVIG_BRP = 'https://rvig.example/verwerkingen/verstrekking-brp';
const DIRECTORY_KEEPER = '00000001001234567000';
const RVIG_TOKEN = 'r'.repeat(32);
const GEMEENTE_TOKEN = 'g'.repeat(32);
const PORTAL_READS_RVIG = 'p'.repeat(32);

let root;
const stops = [];
let op;
let portal;
let outwayUrl;
let browser;

/** What every configuration starts with: who runs it, and its data under `root/dir`. */
function settings(municipality, dir) {
  return [
    `municipality = "${municipality}"`,
    'municipality_code = "9999"',
    'rsin = "123456782"',
    '[storage]', `url = "sqlite:${root}/${dir}"`,
  ];
}

/** The `[exchange]` part for one organisation of the PKI `loket pki init` made. */
function exchange(name, display, rest) {
  return [
    '[exchange]',
    `name = "${display}"`,
    `certificate_file = "${root}/pki/${name}.pem"`,
    `private_key_file = "${root}/pki/${name}.key"`,
    `trust_anchors_file = "${root}/pki/ca.pem"`,
    `directory_url = "sqlite:${root}/directory"`,
    `directory_peer = "${DIRECTORY_KEEPER}"`,
    ...rest,
  ].join('\n');
}

/** A management API call as `token`'s organisation; the status and the answer. */
async function manage(url, token, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, answer: await response.json() };
}

/** Accept a contract once the other process has seen it (each reloads every 2 s). */
async function accept(manager, token, hash) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { status, answer } = await manage(`${manager}/api/v1/contracts/${hash}/accept`, token);
    if (status === 200) return answer;
    assert.ok(status === 404 && Date.now() < deadline, `${status} ${JSON.stringify(answer)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'loket-e2e-exchange-'));
  await loketCommand('pki', 'init', '--dir', join(root, 'pki'));
  await loketCommand('seed', '--data', join(root, 'rvig'), '--persons', '10');
  const [opPort, brp, inway, rvigManager, rvigLog, portalPort, outway, log, manager] = await freePorts(9);

  op = await startProvider({
    port: opPort,
    clients: [{ clientId: 'loket-portaal', clientSecret: SECRET, redirectUri: `http://127.0.0.1:${portalPort}/inloggen/terug` }],
  });

  // The municipality: its portal signs which resident asks with a key made from its
  // inzage_key, and reads its own log and RvIG's; RvIG's log accepts what that key signed.
  const gemeente = join(root, 'gemeente.toml');
  const gemeenteConfig = (logboeken) => [
    ...settings('Gemeente Voorbeeldstad', 'gemeente'),
    '[portal]', `listen = "127.0.0.1:${portalPort}"`, `session_key = "${'k'.repeat(40)}"`,
    `inzage_key = "${'i'.repeat(40)}"`,
    ...logboeken,
    '[portal.digid]', `issuer = "${op.issuer}"`, 'client_id = "loket-portaal"', `client_secret = "${SECRET}"`,
    `redirect_url = "http://127.0.0.1:${portalPort}/inloggen/terug"`,
    exchange('gemeente', 'Gemeente Voorbeeldstad', [
      // The portal reads the municipality's own log too (a resident reader without a
      // portal_key: this configuration's portal).
      '[exchange.log]', `keys = "${root}/gemeente-keys"`, `listen = "127.0.0.1:${log}"`,
      '[[exchange.log.readers]]', 'name = "portaal"', 'role = "resident"', `token = "${'q'.repeat(32)}"`,
      '[exchange.outway]', `listen = "127.0.0.1:${outway}"`,
      '[exchange.management]', `listen = "127.0.0.1:${manager}"`, `token = "${GEMEENTE_TOKEN}"`,
    ]),
  ].join('\n');
  writeFileSync(gemeente, gemeenteConfig([]));
  const portalKey = (await loketCommand('portal', 'public-key', '--config', gemeente)).trim();

  // RvIG: the BRP behind its inway, a processing log the municipality's portal may read
  // for the resident who is logged in, and no portal of its own.
  const rvig = join(root, 'rvig.toml');
  writeFileSync(rvig, [
    ...settings('RvIG', 'rvig'),
    '[brp]', `listen = "127.0.0.1:${brp}"`,
    exchange('rvig', 'Rijksdienst voor Identiteitsgegevens', [
      `activities_file = "${RVIG_ACTIVITIES}"`,
      '[exchange.log]', `keys = "${root}/rvig-keys"`, `listen = "127.0.0.1:${rvigLog}"`,
      '[[exchange.log.readers]]', 'name = "gemeente-portaal"', 'role = "resident"', `token = "${PORTAL_READS_RVIG}"`,
      `portal_key = "${portalKey}"`,
      '[exchange.inway]', `listen = "127.0.0.1:${inway}"`,
      '[exchange.inway.services]',
      `brp-personen = { register = "http://127.0.0.1:${brp}", verwerkingsactiviteit = "${RVIG_BRP}" }`,
      '[exchange.management]', `listen = "127.0.0.1:${rvigManager}"`, `token = "${RVIG_TOKEN}"`,
    ]),
  ].join('\n'));
  stops.push(await runServe(rvig, `http://127.0.0.1:${rvigManager}`));
  const rvigKey = (await loketCommand('log', 'public-key', '--config', rvig)).trim();

  writeFileSync(gemeente, gemeenteConfig([
    '[[portal.logboeken]]', 'organisatie = "Rijksdienst voor Identiteitsgegevens"',
    `url = "http://127.0.0.1:${rvigLog}"`, `token = "${PORTAL_READS_RVIG}"`, `public_key = "${rvigKey}"`,
  ]));
  portal = `http://127.0.0.1:${portalPort}`;
  outwayUrl = `http://127.0.0.1:${outway}`;
  stops.push(await runServe(gemeente, portal));

  // RvIG publishes the BRP; the municipality keeps the directory and accepts it, then
  // asks to use it for showing residents their own data, which RvIG approves.
  const rvigApi = `http://127.0.0.1:${rvigManager}/api/v1`;
  const gemeenteApi = `http://127.0.0.1:${manager}`;
  const published = await manage(`${rvigApi}/services`, RVIG_TOKEN, {
    name: 'brp-personen', inway: `https://127.0.0.1:${inway}`, openapi: '/openapi.json', subjectField: 'burgerservicenummer',
  });
  assert.equal(published.status, 201, JSON.stringify(published.answer));
  assert.equal((await accept(gemeenteApi, GEMEENTE_TOKEN, published.answer.contractHash)).state, 'active');
  const requested = await manage(`${gemeenteApi}/api/v1/contracts`, GEMEENTE_TOKEN, {
    service: 'brp-personen', processingActivities: [MIJN_GEGEVENS],
  });
  assert.equal(requested.status, 201, JSON.stringify(requested.answer));
  assert.equal((await accept(`http://127.0.0.1:${rvigManager}`, RVIG_TOKEN, requested.answer.contractHash)).state, 'active');
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const stop of stops.reverse()) await stop();
  await op?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Log in at the DigiD broker as `bsn`; back on the portal's overview. */
async function logIn(page, bsn) {
  await page.goto(`${portal}/inloggen`);
  await page.getByRole('link', { name: 'Inloggen met DigiD' }).click();
  await signInAtProvider(page, bsn, portal);
  await page.waitForURL(`${portal}/overzicht`);
}

test('a resident sees their BRP data through the exchange, and who used it in both organisations\' logs (JS off)', async () => {
  const context = await newContext(browser, { javaScript: false });
  await withPage(context, 'exchange-production', async (page) => {
    await logIn(page, '999990007');

    // The outway picks up the approved contract within its reload: ask until it has.
    const deadline = Date.now() + 15_000;
    let data;
    for (;;) {
      await page.goto(`${portal}/mijn-gegevens`);
      data = await page.locator('main').innerText();
      if (/Sanne/.test(data) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.match(data, /Bron: Basisregistratie Personen \(BRP\), van de Rijksdienst voor Identiteitsgegevens/, data);
    assert.match(data, /Sanne/, data);
    assert.deepEqual(await axeViolations(browser, page), []);

    // An application of the municipality asks for her name for a purpose the contract
    // does not cover: the outway refuses, and she sees that attempt too.
    const refusal = await fetch(`${outwayUrl}/brp-personen/haalcentraal/api/brp/personen`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'fsc-processing-activity': 'https://voorbeeldstad.example/verwerkingen/parkeervergunning',
      },
      body: JSON.stringify({ type: 'RaadpleegMetBurgerservicenummer', burgerservicenummer: ['999990007'], fields: ['naam'] }),
    });
    assert.equal(refusal.status, 403);
    assert.equal(refusal.headers.get('fsc-error-code'), 'ERROR_CODE_PROCESSING_ACTIVITY_NOT_GRANTED');

    await page.getByRole('link', { name: 'Wie gebruikte mijn gegevens' }).first().click();
    const rows = await page.locator('tbody tr').allInnerTexts();
    // (The portal's own asks while the contract was not in force yet were refused too,
    // for want of an agreement, and show as such.)
    const refused = rows.filter((r) => /Geweigerd/.test(r));
    const forParking = refused.filter((r) => /parkeervergunning/i.test(r));
    assert.equal(forParking.length, 1, rows.join('\n'));
    assert.match(forParking[0], /Gemeente Voorbeeldstad/);
    assert.match(forParking[0], /Wilde opvragen: naam/);
    assert.match(forParking[0], /Geweigerd: de gegevens mochten niet voor dit doel worden gebruikt/);
    // The purpose it named, but no legal basis: nothing was used.
    assert.match(forParking[0], /Opgegeven doel: Aanvraag bewonersparkeervergunning behandelen/);
    assert.match(forParking[0], /Niet gebruikt: het verzoek is geweigerd/);
    assert.doesNotMatch(forParking[0], /Parkeerverordening/);
    assert.ok(refused.every((r) => /Geweigerd: /.test(r)), refused.join('\n'));
    const used = rows.filter((r) => !/Geweigerd/.test(r));
    // The municipality's outway and RvIG's inway each logged the request: the resident
    // reads both, RvIG's through its log's read API, its signature checked.
    assert.ok(used.some((r) => /Gemeente Voorbeeldstad/.test(r) && /Vroeg op: naam/.test(r)), used.join('\n'));
    assert.ok(used.some((r) => /Rijksdienst voor Identiteitsgegevens/.test(r) && /Gaf: naam/.test(r)), used.join('\n'));
    // Each with its purpose and legal basis, and checked against its log's signed tree
    // head (RvIG's with the public key in the municipality's configuration). RvIG's
    // names its own activity, from its own register, and the municipality's purpose it
    // answered for.
    const ours = used.filter((r) => /Gemeente Voorbeeldstad/.test(r));
    const rvigs = used.filter((r) => /Rijksdienst voor Identiteitsgegevens/.test(r));
    assert.ok(ours.length > 0 && rvigs.length > 0, used.join('\n'));
    assert.ok(ours.every((r) => /U laten zien wat de overheid over u vastlegt/.test(r) && /AVG artikel 15/.test(r)), used.join('\n'));
    assert.ok(rvigs.every((r) => /Gegevens uit de BRP verstrekken aan overheidsorganisaties/.test(r)
      && /Gevraagd door de gemeente voor: Uw gegevens tonen in Mijn Loket/.test(r)
      && /Wet basisregistratie personen/.test(r)), rvigs.join('\n'));
    assert.ok(used.every((r) => /Gecontroleerd: staat in het ondertekende logboek/.test(r)), used.join('\n'));
    assert.deepEqual(await axeViolations(browser, page), []);
  });
  await context.close();

  // Another resident, in a browser of her own (the broker remembers Sanne), finds her
  // own request in the same logs and none of Sanne's: the portal's token lets it ask
  // about the signed-in resident only.
  const other = await newContext(browser, { javaScript: false });
  await withPage(other, 'exchange-production-other', async (page) => {
    await logIn(page, '999990081');
    await page.goto(`${portal}/mijn-gegevens`);
    assert.match(await page.locator('main').innerText(), /Ingrid/);
    await page.goto(`${portal}/wie-gebruikte-mijn-gegevens`);
    // Her own request, once in each log; Sanne's (the same fields) not at all.
    const used = await page.locator('tbody tr').allInnerTexts();
    assert.equal(used.filter((r) => /geboortedatum/.test(r)).length, 2, used.join('\n'));
  });
  await other.close();
});

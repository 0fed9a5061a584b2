// A real OpenID Connect provider (panva's oidc-provider, OpenID-certified) standing in
// for the municipality's DigiD broker and its staff identity provider in the
// production-login tests: authorization code with PKCE, signed ID tokens, a login page.
// The account name typed at its login page is the user: the resident's BSN (in `sub`, as
// a DigiD broker gives it) or the employee's account (also `sub`).
import Provider from 'oidc-provider';

/** `clients`: `{ clientId, clientSecret, redirectUri }` each. */
export async function startProvider({ port, clients }) {
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: clients.map(({ clientId, clientSecret, redirectUri }) => ({
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      return { accountId: id, async claims() { return { sub: id }; } };
    },
    acrValues: ['urn:digid:substantieel'],
    features: { devInteractions: { enabled: true } },
  });
  provider.proxy = false;
  const server = await new Promise((resolve) => {
    const listening = provider.listen(port, '127.0.0.1', () => resolve(listening));
  });
  return { issuer, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** The provider's own login page, then its consent page when it asks. */
export async function signInAtProvider(page, login, backTo) {
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('wat-dan-ook');
  await page.locator('button[type=submit]').click();
  if (!page.url().startsWith(backTo)) await page.locator('button[type=submit]').click();
}

/**
 * Sign in at the provider as `login` without a browser, from `authorizeUrl` on, and
 * return the address it sends the user back to (with `code` and `state`), unvisited.
 */
export async function signInWithoutBrowser(authorizeUrl, login, backTo) {
  const jar = new Map();
  const send = async (url, init = {}) => {
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(url, { ...init, headers: { ...init.headers, cookie }, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return response;
  };
  let url = authorizeUrl;
  let init = {};
  for (let step = 0; step < 12; step += 1) {
    const response = await send(url, init);
    init = {};
    const location = response.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.href.startsWith(backTo)) return next;
      url = next.href;
      continue;
    }
    // The provider's login page, then its consent page: submit each form.
    const html = await response.text();
    const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1];
    if (!action) throw new Error(`no form at ${url}: ${html.slice(0, 200)}`);
    const fields = new URLSearchParams();
    for (const [, name, value] of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
      fields.append(name, value);
    }
    if (html.includes('name="login"')) {
      fields.set('login', login);
      fields.set('password', 'wat-dan-ook');
    }
    url = new URL(action.replaceAll('&amp;', '&'), url).href;
    init = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields.toString() };
  }
  throw new Error('the provider did not send the user back');
}

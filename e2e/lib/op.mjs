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

// The stand-in identity provider (helpers/stand-in-oidc.ts) writes nothing of oidc-provider's to the
// console through a whole sign-in: no plain-text notice (the Node 20 runtime warning, the
// development adapter, default TTLs, the default error page) in the output of the tests using it.
// What the gateway's own provider prints is not the helper's to quiet (runtime-notice.ts logs it).
import { createHash, randomBytes } from 'node:crypto';
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StandInOidc } from './helpers/stand-in-oidc.js';
import { postForm, SiteBrowser } from './helpers/site-browser.js';

// Installed before the helper (and oidc-provider with it) is loaded, below: what each console
// method is given is kept, and still printed.
const printed: string[] = [];
for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    printed.push(format(...args));
    original(...args);
  };
}
const fromProvider = () => printed.filter((line) => line.includes('oidc-provider'));

const SECRET = 'stand-in-quiet-secret-0123456789abc';
const REDIRECT = 'http://127.0.0.1:9/callback'; // never reached: the browser stops when it leaves the IdP
let idp: StandInOidc;

beforeAll(async () => {
  const { startStandInOidc } = await import('./helpers/stand-in-oidc.js');
  idp = await startStandInOidc([{ sub: 'alice-sub', claims: { email: 'alice@acme.test', email_verified: true, name: 'Alice' } }]);
  idp.configure([{ clientId: 'relying-party', clientSecret: SECRET, redirectUri: REDIRECT }]);
});

afterAll(async () => {
  await idp?.close();
});

/** From the authorization request to the redirect back with a code, through the stand-in's sign-in form. */
async function signIn(browser: SiteBrowser, authorize: URL, action: 'login' | 'cancel'): Promise<URL> {
  const first = await browser.followWithin(authorize.href);
  const form = /<form method="post" action="([^"]+)"/.exec(await first.res.text())?.[1];
  expect(form, first.url).toBeTruthy();
  const posted = await browser.request(new URL(form!, first.url).href, postForm({ login: 'alice-sub', action }));
  const back = await browser.followWithin(new URL(posted.headers.get('location')!, first.url).href);
  return new URL(back.url);
}

describe('the stand-in OpenID Provider', () => {
  it('prints none of oidc-provider\'s notices through sign-in, a cancelled one, an error page and the token exchange', async () => {
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as { authorization_endpoint: string; token_endpoint: string };
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(discovery.authorization_endpoint);
    for (const [k, v] of Object.entries({
      client_id: 'relying-party',
      redirect_uri: REDIRECT,
      response_type: 'code',
      scope: 'openid email profile',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: 'state-1',
      nonce: 'nonce-1',
    })) {
      authorize.searchParams.set(k, v);
    }

    const callback = await signIn(new SiteBrowser(), authorize, 'login');
    expect(callback.origin + callback.pathname).toBe(REDIRECT);
    const code = callback.searchParams.get('code');
    expect(code, callback.href).toBeTruthy();
    const token = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`relying-party:${SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, code_verifier: verifier, redirect_uri: REDIRECT }),
    });
    const tokens = (await token.json()) as { id_token?: string; access_token?: string };
    expect(token.status, JSON.stringify(tokens)).toBe(200);
    expect(tokens.id_token).toBeTruthy();
    expect(idp.issuedTokens).toContain(tokens.access_token);

    const cancelled = await signIn(new SiteBrowser(), authorize, 'cancel');
    expect(cancelled.searchParams.get('error')).toBe('access_denied');

    // An authorization request it cannot redirect back from gets the provider's error page.
    const unknown = new URL(authorize);
    unknown.searchParams.set('client_id', 'nobody');
    const page = await fetch(unknown, { redirect: 'manual' });
    expect(page.status).toBe(400);
    await page.body?.cancel();

    expect(fromProvider()).toEqual([]);
  });
});

// What a federated callback must refuse, each on its own: a tampered state, a replayed
// callback, a callback finished in another browser, and ID tokens with a wrong audience, a wrong
// nonce (and a past expiry, a foreign signature, another issuer). The IdP is a small hand-built
// one that signs whatever it is told to with the key it publishes; with no fault set it works,
// which each refusal is measured against.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  authorizationUrlFor,
  followLink,
  openLoginPage,
  pressProviderButton,
  providerButtonRequest,
  returnToGateway,
  sharedRegistration,
  SiteBrowser,
  type TestClient,
} from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startHandBuiltIdp, type HandBuiltIdp, type IdTokenFault } from './helpers/hand-built-idp.js';

const newClient = sharedRegistration();
let idp: HandBuiltIdp;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  idp = await startHandBuiltIdp();
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      providers: [
        { type: 'oidc', id: 'hand', name: 'Hand IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, allow: { domains: ['acme.test'] } },
        // Its rule names a claim the ID token lacks: it comes from userinfo.
        { type: 'oidc', id: 'groups', name: 'Groups IdP', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, allow: { claims: { groups: ['mcp-users'] } } },
        // Nothing listens here: the provider cannot be reached.
        { type: 'oidc', id: 'gone', name: 'Gone IdP', issuer: 'http://127.0.0.5:9', clientId: 'x', clientSecret: 'y', allow: { domains: ['acme.test'] } },
      ],
    },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await idp?.close();
});

beforeEach(() => {
  idp.fault = 'none';
  idp.userinfo = {};
  idp.userinfoSub = undefined;
});

/** Up to the provider's redirect back to the gateway (the hand-built IdP answers /authorize at once). */
async function toCallback(browser = new SiteBrowser(), providerId = 'hand'): Promise<{ browser: SiteBrowser; callback: string; client: TestClient }> {
  const client = newClient();
  const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, client));
  const atIdp = await pressProviderButton(browser, login, providerId);
  const res = await browser.request(atIdp);
  const callback = res.headers.get('location');
  if (!callback) throw new Error(`hand-built IdP: HTTP ${res.status}`);
  return { browser, callback, client };
}

const expectNoStackTrace = (html: string | undefined): void => expect(html).not.toMatch(/\bat .+\(.+:\d+:\d+\)|node:internal|TypeError|stack/);

describe('federated callback refusals', () => {
  it('control: an untampered callback with a good ID token gets the client its code', async () => {
    const { browser, callback } = await toCallback();
    const sent = idp.authorizeRequests.at(-1)!;
    expect(sent.get('nonce')).toBeTruthy();
    expect(sent.get('code_challenge_method')).toBe('S256');
    const outcome = await returnToGateway(browser, callback);
    expect(outcome.consent?.html).toContain('hand|hand-built-carol');
    expect(outcome.redirect?.searchParams.get('code'), outcome.page?.html).toBeTruthy();
  });

  it('asks a federated person to sign in again for each new authorization (the allow rules in force decide)', async () => {
    const { browser, callback } = await toCallback();
    expect((await returnToGateway(browser, callback)).redirect?.searchParams.get('code')).toBeTruthy();
    // Same browser, same gateway session, another client: the login page again, not consent.
    const again = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
    expect(new URL(again.url).pathname).toMatch(/^\/login\//);
    expect(again.html).toContain('Continue with Hand IdP');
    const res = await browser.request(await pressProviderButton(browser, again, 'hand'));
    expect((await returnToGateway(browser, res.headers.get('location')!)).redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('refuses a tampered state (and the untampered callback still works afterwards)', async () => {
    const { browser, callback } = await toCallback();
    const tampered = new URL(callback);
    const state = tampered.searchParams.get('state')!;
    tampered.searchParams.set('state', `${state.slice(0, -2)}${state.endsWith('AA') ? 'BB' : 'AA'}`);
    const refused = await returnToGateway(browser, tampered.href);
    expect(refused.redirect).toBeUndefined();
    expect(refused.page?.status).toBe(400);
    expect(refused.page?.html).toContain('This sign-in link is not valid');
    expectNoStackTrace(refused.page?.html);

    const original = await returnToGateway(browser, callback);
    expect(original.redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('answers a HEAD of the callback (a link preview) with 405 without spending the state', async () => {
    const { browser, callback } = await toCallback();
    const head = await browser.request(callback, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect((await returnToGateway(browser, callback)).redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('refuses a callback without any state', async () => {
    const { browser, callback } = await toCallback();
    const stripped = new URL(callback);
    stripped.searchParams.delete('state');
    const refused = await returnToGateway(browser, stripped.href);
    expect(refused.page?.status).toBe(400);
    expect(refused.redirect).toBeUndefined();
  });

  it('refuses a replayed callback, in the same browser and in another', async () => {
    const { browser, callback } = await toCallback();
    const first = await returnToGateway(browser, callback);
    expect(first.redirect?.searchParams.get('code')).toBeTruthy();

    const again = await returnToGateway(browser, callback);
    expect(again.redirect).toBeUndefined();
    expect(again.page?.status).toBe(400);
    expect(again.page?.html).toContain('already used');
    const elsewhere = await returnToGateway(new SiteBrowser(), callback);
    expect(elsewhere.page?.status).toBe(400);
    expect(elsewhere.redirect).toBeUndefined();
  });

  it('refuses a callback finished in a browser other than the one that started the sign-in (login CSRF)', async () => {
    const { callback } = await toCallback();
    const victim = new SiteBrowser();
    const refused = await returnToGateway(victim, callback);
    expect(refused.redirect).toBeUndefined();
    expect(refused.page?.status).toBe(400);
    expect(refused.page?.html).toContain('started in another browser');
    // No way into the other person's authorization request is offered.
    expect(refused.page?.html).not.toContain('/login/');
  });

  const badTokens: [IdTokenFault, string][] = [
    ['audience', 'an ID token for another audience'],
    ['nonce', 'an ID token with a wrong nonce'],
    ['expired', 'an expired ID token'],
    ['foreign-key', 'an ID token signed by a key the IdP does not publish'],
    ['issuer', 'an ID token from another issuer'],
  ];
  for (const [fault, what] of badTokens) {
    it(`refuses ${what}`, async () => {
      idp.fault = fault;
      const { browser, callback } = await toCallback();
      const refused = await returnToGateway(browser, callback);
      expect(refused.redirect, 'no code for the client').toBeUndefined();
      expect(refused.page?.status).toBe(502);
      expect(refused.page?.html).toContain('Sign-in could not be verified');
      expectNoStackTrace(refused.page?.html);
      // The person may try again: the link leads back to the sign-in page, which works once the IdP behaves.
      idp.fault = 'none';
      const retry = /<a class="button" href="(\/login\/[^"]+)"/.exec(refused.page!.html)?.[1];
      expect(retry).toBeTruthy();
      const login = await openLoginPage(browser, new URL(retry!, gw.base));
      const res = await browser.request(await pressProviderButton(browser, login, 'hand'));
      const outcome = await returnToGateway(browser, res.headers.get('location')!);
      expect(outcome.redirect?.searchParams.get('code')).toBeTruthy();
    });
  }

  it('takes claims the ID token lacks from userinfo (the rule then decides), and not when the ID token has them', async () => {
    idp.userinfo = { groups: ['mcp-users'] };
    const calls = idp.userinfoCalls;
    const { browser, callback } = await toCallback(new SiteBrowser(), 'groups');
    expect((await returnToGateway(browser, callback)).redirect?.searchParams.get('code')).toBeTruthy();
    expect(idp.userinfoCalls).toBe(calls + 1);

    idp.userinfo = { groups: ['staff'] };
    const other = await toCallback(new SiteBrowser(), 'groups');
    expect((await returnToGateway(other.browser, other.callback)).page?.status).toBe(403);

    const before = idp.userinfoCalls;
    const plain = await toCallback(new SiteBrowser(), 'hand');
    expect((await returnToGateway(plain.browser, plain.callback)).redirect?.searchParams.get('code')).toBeTruthy();
    expect(idp.userinfoCalls, 'email is in the ID token: no userinfo call').toBe(before);
  });

  it('refuses userinfo that speaks of another subject (OIDC Core §5.3.2)', async () => {
    idp.userinfo = { groups: ['mcp-users'] };
    idp.userinfoSub = 'someone-else';
    const { browser, callback } = await toCallback(new SiteBrowser(), 'groups');
    const refused = await returnToGateway(browser, callback);
    expect(refused.redirect).toBeUndefined();
    expect(refused.page?.status).toBe(502);
    expectNoStackTrace(refused.page?.html);
  });

  it('shows a clear page when the provider cannot be reached', async () => {
    const browser = new SiteBrowser();
    const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
    const res = await providerButtonRequest(browser, login, 'gone');
    const html = await res.text();
    expect(res.status).toBe(504);
    expect(html).toContain('Gone IdP did not answer');
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expectNoStackTrace(html);
    expect(await followLink(browser, { url: login.url, status: res.status, html })).toBeUndefined();
  });

  it('answers an unknown provider in the callback path with a page', async () => {
    const res = await fetch(`${gw.base}/oauth/callback/nobody?code=x&state=y`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(await res.text()).toContain('Unknown sign-in provider');
  });

  it('refuses a provider button naming a provider that is not configured, without leaving the page', async () => {
    const browser = new SiteBrowser();
    const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
    const res = await providerButtonRequest(browser, login, 'nobody');
    expect(res.status).toBe(404);
    expect(res.headers.get('location')).toBeNull();
  });

  it('also starts from a provider button posted with the login form fields (as an ejected template may), CSRF checked', async () => {
    const { csrfIn, postForm } = await import('./helpers/site-browser.js');
    const browser = new SiteBrowser();
    const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
    const forged = await browser.request(login.url, postForm({ csrf: 'forged', provider: 'hand' }));
    expect(forged.status).toBe(403);
    const res = await browser.request(login.url, postForm({ csrf: csrfIn(login.html), provider: 'hand' }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')?.startsWith(`${idp.issuer}/authorize?`)).toBe(true);
  });

  it('refuses a provider button without the right CSRF token (nobody is sent to the provider)', async () => {
    const browser = new SiteBrowser();
    const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
    const before = idp.authorizeRequests.length;
    const res = await providerButtonRequest(browser, login, 'hand', 'forged-token');
    expect(res.status).toBe(403);
    expect(res.headers.get('location')).toBeNull();
    expect(idp.authorizeRequests.length).toBe(before);
  });
});

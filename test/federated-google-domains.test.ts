// `domains` for Google reads the hd claim (the Workspace domain), not the address: a consumer
// Google account made on a company address keeps email_verified after its owner leaves. Generic
// OIDC keeps matching the verified address's domain. And email/email_verified are taken together
// from one source (the ID token, else userinfo). Real sign-ins through the gateway against the
// hand-built IdP, which signs ID tokens with exactly the claims a test gives it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authorizationUrlFor, openLoginPage, pressProviderButton, returnToGateway, sharedRegistration, SiteBrowser } from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startHandBuiltIdp, type HandBuiltIdp } from './helpers/hand-built-idp.js';

const newClient = sharedRegistration();
let idp: HandBuiltIdp;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  idp = await startHandBuiltIdp('127.0.0.7');
  const common = { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, allow: { domains: ['acme.test'] } };
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      providers: [
        // `issuer` points the google type at the stand-in (as the schema allows for stand-ins).
        { type: 'google', id: 'google', ...common },
        { type: 'oidc', id: 'sso', ...common },
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

/** Signs in through `providerId` with the ID token claims `person`; true when the client got a code, false on the "Not allowed" page. */
async function admitted(providerId: string, person: Record<string, unknown>, userinfo: Record<string, unknown> = {}): Promise<boolean> {
  idp.person = person;
  idp.userinfo = userinfo;
  const browser = new SiteBrowser();
  const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
  const atIdp = await pressProviderButton(browser, login, providerId);
  const res = await browser.request(atIdp);
  const callback = res.headers.get('location');
  if (!callback) throw new Error(`hand-built IdP: HTTP ${res.status}`);
  const outcome = await returnToGateway(browser, callback);
  if (outcome.redirect?.searchParams.get('code')) return true;
  expect(outcome.page?.status, outcome.page?.html).toBe(403);
  expect(outcome.page?.html).toContain('Not allowed');
  return false;
}

describe('allow.domains: Google by hd, generic OIDC by verified address', () => {
  const matrix: [provider: string, person: Record<string, unknown>, expected: boolean, why: string][] = [
    ['google', { email: 'carol@acme.test', email_verified: true, hd: 'acme.test' }, true, 'Workspace account of acme.test (hd)'],
    ['google', { email: 'carol@acme.test', email_verified: true }, false, 'verified @acme.test address without hd (consumer account)'],
    ['google', { email: 'carol@acme.test', email_verified: true, hd: 'other.test' }, false, 'hd of another domain'],
    ['google', { email: 'carol@other.test', email_verified: true, hd: 'acme.test' }, true, 'hd decides, not the address'],
    ['sso', { email: 'carol@acme.test', email_verified: true }, true, 'generic OIDC: verified address in the domain'],
    ['sso', { email: 'carol@acme.test', email_verified: false, hd: 'acme.test' }, false, 'generic OIDC: hd means nothing, the address is unverified'],
  ];
  for (const [provider, person, expected, why] of matrix) {
    it(`${provider}: ${expected ? 'admitted' : 'refused'} (${why})`, async () => {
      expect(await admitted(provider, person)).toBe(expected);
    });
  }

  it('google: hd missing from the ID token is asked of userinfo', async () => {
    const before = idp.userinfoCalls;
    expect(await admitted('google', { email: 'carol@acme.test', email_verified: true }, { hd: 'acme.test' })).toBe(true);
    expect(idp.userinfoCalls).toBe(before + 1);
  });
});

describe('email and email_verified come from one source', () => {
  it('refuses a verified flag from the ID token paired with an unverified address from userinfo', async () => {
    expect(await admitted('sso', { email_verified: true }, { email: 'mallory@acme.test', email_verified: false })).toBe(false);
  });

  it('admits when userinfo gives both the address and its verified flag', async () => {
    expect(await admitted('sso', {}, { email: 'carol@acme.test', email_verified: true })).toBe(true);
  });
});

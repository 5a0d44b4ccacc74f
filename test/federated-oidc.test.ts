// Google and generic OIDC sign-in against a real OpenID Provider run in-process: a second
// oidc-provider instance on its own loopback host (the `google` type pointed at it by its issuer
// override). Discovery, PKCE, state, nonce and the ID token are all real.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerAtStandInIdp,
  authorizationUrlFor,
  openLoginPage,
  pressProviderButton,
  returnToGateway,
  SiteBrowser,
  TestClient,
} from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startStandInOidc, type StandInOidc } from './helpers/stand-in-oidc.js';

const PEOPLE = [
  // hd: a Google Workspace account of acme.test (what the google type's `domains` reads).
  { sub: 'alice-sub', claims: { email: 'alice@acme.test', email_verified: true, hd: 'acme.test', preferred_username: 'alice', name: 'Alice', groups: ['mcp-users'] } },
  { sub: 'bob-sub', claims: { email: 'bob@elsewhere.test', email_verified: true, preferred_username: 'bob', name: 'Bob', groups: ['staff'] } },
];
const SECRET = 'stand-in-client-secret-0123456789';

let idp: StandInOidc;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  idp = await startStandInOidc(PEOPLE);
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      providers: [
        { type: 'google', clientId: 'gatehouse-google', clientSecret: SECRET, issuer: idp.issuer, allow: { domains: ['acme.test'] } },
        { type: 'oidc', id: 'acme', name: 'Acme SSO', issuer: idp.issuer, clientId: 'gatehouse-acme', clientSecret: SECRET, allow: { claims: { groups: 'mcp-users' } } },
        { type: 'oidc', id: 'plain', issuer: idp.issuer, clientId: 'gatehouse-plain', clientSecret: SECRET, allow: { users: ['alice'] } },
      ],
    },
    servers: { raw: rawStdio() },
  });
  idp.configure(
    ['google', 'acme', 'plain'].map((id) => ({ clientId: `gatehouse-${id}`, clientSecret: SECRET, redirectUri: `${gw.base}/oauth/callback/${id}` })),
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await idp?.close();
});

async function signIn(providerId: string, person: string, action: 'login' | 'cancel' = 'login') {
  const client = new TestClient();
  const browser = new SiteBrowser();
  const loginPage = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, client));
  const atIdp = await pressProviderButton(browser, loginPage, providerId);
  const callback = await answerAtStandInIdp(browser, atIdp, person, action);
  return { client, loginPage, atIdp, callback, outcome: await returnToGateway(browser, callback) };
}

describe('sign-in through OpenID Connect providers (stand-in: a second oidc-provider)', () => {
  it('lists one button per provider, named GitHub/Google, the configured name, or the issuer host; no password form without local users', async () => {
    const page = await openLoginPage(new SiteBrowser(), await authorizationUrlFor(`${gw.base}/raw/mcp`, new TestClient()));
    expect(page.status).toBe(200);
    expect(page.html).toContain('value="google" class="provider">Continue with Google</button>');
    expect(page.html).toContain('value="acme" class="provider">Continue with Acme SSO</button>');
    expect(page.html).toContain(`value="plain" class="provider">Continue with ${new URL(idp.issuer).host}</button>`);
    expect(page.html).not.toContain('name="password"');
  });

  it('google type: discovery, PKCE, state and nonce; an account of the domain (hd) gets in and calls a tool', async () => {
    const { client, atIdp, callback, outcome } = await signIn('google', 'alice-sub');
    const sent = new URL(atIdp).searchParams;
    expect(new URL(atIdp).origin).toBe(idp.issuer);
    expect(sent.get('client_id')).toBe('gatehouse-google');
    expect(sent.get('scope')).toBe('openid email profile');
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('nonce')).toBeTruthy();
    expect(sent.get('state')).toBeTruthy();
    expect(sent.get('redirect_uri')).toBe(`${gw.base}/oauth/callback/google`);
    expect(new URL(callback).searchParams.get('iss')).toBe(idp.issuer); // RFC 9207, checked by openid-client

    expect(outcome.consent?.html).toContain('google|alice-sub');
    const code = outcome.redirect?.searchParams.get('code');
    expect(code, outcome.page?.html).toBeTruthy();
    const endpoint = new URL(`${gw.base}/raw/mcp`);
    await new StreamableHTTPClientTransport(endpoint, { authProvider: client }).finishAuth(code!, outcome.redirect!.searchParams.get('iss') ?? undefined);
    const handed = JSON.stringify(client.tokens());
    expect(idp.issuedTokens.length).toBeGreaterThan(0);
    for (const t of idp.issuedTokens) expect(handed).not.toContain(t);
    const mcp = new Client({ name: 'oidc-e2e', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: client }));
    try {
      expect(JSON.stringify((await mcp.callTool({ name: 'echo', arguments: { via: 'google' } })).content)).toContain('google');
    } finally {
      await mcp.close();
    }
  });

  it('google type: an address outside the domains is refused', async () => {
    const { outcome } = await signIn('google', 'bob-sub');
    expect(outcome.redirect).toBeUndefined();
    expect(outcome.page?.status).toBe(403);
    expect(outcome.page?.html).toContain('google|bob-sub');
  });

  it('oidc type with a claims rule: a member of the group gets in, someone else does not', async () => {
    const alice = await signIn('acme', 'alice-sub');
    expect(alice.outcome.consent?.html).toContain('acme|alice-sub');
    expect(alice.outcome.redirect?.searchParams.get('code')).toBeTruthy();
    const bob = await signIn('acme', 'bob-sub');
    expect(bob.outcome.page?.status).toBe(403);
    expect(bob.outcome.redirect).toBeUndefined();
  });

  it('oidc type with a users rule matches preferred_username', async () => {
    expect((await signIn('plain', 'alice-sub')).outcome.redirect?.searchParams.get('code')).toBeTruthy();
    expect((await signIn('plain', 'bob-sub')).outcome.page?.status).toBe(403);
  });

  it('a person who cancels at the provider sees a clear page, not a stack trace', async () => {
    const { callback, outcome } = await signIn('acme', 'alice-sub', 'cancel');
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    expect(outcome.page?.status).toBe(403);
    expect(outcome.page?.html).toContain('Sign-in cancelled');
    expect(outcome.page?.html).toContain('Acme SSO');
  });
});

// Findings of a read-only security review, each held against a real gateway (auth.mode oauth):
// spellings of the authorization server's paths that got past its guards, client addresses
// taken from headers a proxy passes through, `users passwd` that ended nothing, introspection
// of other clients' tokens, a second token chain from refresh-token reuse in the grace window,
// a redirect refusal without its reason, and client_credentials tokens for no resource.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { openStore } from '../src/store/index.js';
import { runCli } from './helpers/cli.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { Browser, csrfOf, form, TEST_REDIRECT, tokenRequest } from './helpers/oauth.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const ALICE = 'alice password, long enough';
const BOB = 'bob password, long enough';
const MACHINE_SECRET = 'machine-secret-0123456789abcdefghij';
const ROBOT_SECRET = 'robot-secret-0123456789abcdefghijkl';
// A proxy on loopback (trusted by default) reports the client's address; only this one may register.
const REGISTRANT = '192.0.2.10';

const root = mkdtempSync(join(tmpdir(), 'gh-security-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const clients = [
  { clientId: 'app', name: 'App', redirectUris: [TEST_REDIRECT] },
  { clientId: 'machine', clientSecret: MACHINE_SECRET, redirectUris: ['https://machine.example/cb'], resource: '/raw/mcp', grants: ['client_credentials'] },
  { clientId: 'robot', clientSecret: ROBOT_SECRET, redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'] },
];

function gatewayDoc(dataDir: string, auth: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    store: 'sqlite',
    dataDir,
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(ALICE) } }, clients, ...auth },
    servers: { raw: rawStdio() },
    ...extra,
  };
}

function register(base: string, path: string, headers: Record<string, string> = {}, metadata: Record<string, unknown> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ redirect_uris: [TEST_REDIRECT], token_endpoint_auth_method: 'none', client_name: 'probe', ...metadata }),
  });
}

function clientCredentials(base: string, path: string, id: string, secret: string, fields: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...fields }).toString(),
  });
}

/** An MCP initialize with a bearer token: 200 when the token opens /raw/mcp. */
async function mcpStatus(base: string, token: string): Promise<number> {
  return (await rawPost(`${base}/raw/mcp`, INIT(), { authorization: `Bearer ${token}` })).status;
}

/**
 * The code flow of the public client `app` for /raw/mcp in `browser` (its cookies are the
 * session); signs in as `user` when the login page shows. Returns the tokens and whether it did.
 */
async function signIn(base: string, browser: Browser, user: string, password: string): Promise<{ access: string; refresh: string; loginShown: boolean }> {
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'app',
    redirect_uri: TEST_REDIRECT,
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: `${base}/raw/mcp`,
  });
  let step = await browser.follow(`${base}/oauth/authorize?${q.toString()}`, base);
  const loginShown = new URL(step.url).pathname.startsWith('/login/');
  if (loginShown) {
    const posted = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), username: user, password }));
    expect(posted.status).toBe(303);
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  }
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const posted = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), decision: 'allow' }));
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  }
  const code = new URL(step.url).searchParams.get('code');
  expect(code, step.url).toBeTruthy();
  const exchanged = await tokenRequest(base, { grant_type: 'authorization_code', code: code!, redirect_uri: TEST_REDIRECT, code_verifier: verifier, client_id: 'app' });
  expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
  return { access: exchanged.json.access_token as string, refresh: exchanged.json.refresh_token as string, loginShown };
}

describe('guards in front of the authorization server, default client-address rules', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway(gatewayDoc(join(root, 'guards'), { registration: { allowedIps: [REGISTRANT] } }));
  }, 60_000);
  afterAll(() => gw?.close());

  it('answers 404 to another spelling of a path (case, trailing slash), so none gets past registration.allowedIps or the rate limits', async () => {
    const variants = ['/oauth/register/', '/oauth/reGister', '/oauth/REGISTER/', '/oauth/Register?x=1'];
    // From an address that may not register: refused whatever the spelling (the guard folds it as the router does).
    expect((await register(gw.base, '/oauth/register')).status).toBe(403);
    for (const path of variants) expect((await register(gw.base, path)).status, path).toBe(403);
    // From one that may: the exact path only; the authorization server answers 404 to the others.
    const allowed = { 'x-forwarded-for': REGISTRANT };
    for (const path of variants) expect((await register(gw.base, path, allowed)).status, path).toBe(404);
    expect((await register(gw.base, '/oauth/register', allowed)).status).toBe(201);
    // client_credentials works at the exact path only: the variants never reach the token endpoint (nor its limiter's blind spot).
    expect((await clientCredentials(gw.base, '/oauth/token', 'machine', MACHINE_SECRET)).status).toBe(200);
    for (const path of ['/oauth/token/', '/oauth/TOKEN', '/oauth/Token/']) {
      expect((await clientCredentials(gw.base, path, 'machine', MACHINE_SECRET)).status, path).toBe(404);
      expect((await clientCredentials(gw.base, path, 'machine', 'wrong secret')).status, path).toBe(404);
    }
    for (const path of ['/oauth/jwks/', '/oauth/JWKS', '/oauth/introspect/', '/oauth/Revoke', '/oauth/authorize/']) {
      expect((await fetch(`${gw.base}${path}`, { method: path.includes('jwks') || path.includes('authorize') ? 'GET' : 'POST' })).status, path).toBe(404);
    }
    expect((await fetch(`${gw.base}/oauth/jwks`)).status).toBe(200);
  });

  it('answers every endpoint its metadata advertises (none falls to the exact-path 404), and advertises no pushed authorization requests', async () => {
    const meta = (await (await fetch(`${gw.base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(meta.pushed_authorization_request_endpoint).toBeUndefined();
    const endpoints = Object.entries(meta).filter(([k, v]) => k.endsWith('_endpoint') || (k === 'jwks_uri' && typeof v === 'string'));
    expect(endpoints.length).toBeGreaterThanOrEqual(4);
    for (const [key, url] of endpoints) {
      const path = new URL(String(url)).pathname;
      // Each endpoint takes GET or POST (the authorization endpoint GET; RFC 6749 §3.1 makes POST optional).
      const statuses = await Promise.all(['GET', 'POST'].map(async (method) => (await fetch(`${gw.base}${path}`, { method, headers: { 'x-forwarded-for': REGISTRANT } })).status));
      expect(statuses.some((status) => status !== 404), `${key} ${path}: ${statuses.join(', ')}`).toBe(true);
    }
  });

  it('takes the client address from X-Forwarded-For, not from X-Real-IP, True-Client-IP, CF-Connecting-IP or Forwarded a proxy passed through', async () => {
    // nginx with `proxy_add_x_forwarded_for` appends the real address and passes the client's own X-Real-IP on.
    const spoofed = { 'x-real-ip': REGISTRANT, 'true-client-ip': REGISTRANT, 'cf-connecting-ip': REGISTRANT, forwarded: `for=${REGISTRANT}`, 'x-forwarded-for': '203.0.113.5' };
    const refused = await register(gw.base, '/oauth/register', spoofed);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('access_denied');
    // The address the trusted proxy reports is believed.
    expect((await register(gw.base, '/oauth/register', { 'x-forwarded-for': REGISTRANT })).status).toBe(201);
  });
});

describe('clientIpHeader (opt-in)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway(gatewayDoc(join(root, 'header'), { registration: { allowedIps: [REGISTRANT] } }, { clientIpHeader: 'X-Real-IP' }));
  }, 60_000);
  afterAll(() => gw?.close());

  it('believes the named header from a trusted proxy, and only that one', async () => {
    expect((await register(gw.base, '/oauth/register', { 'x-real-ip': REGISTRANT, 'x-forwarded-for': '203.0.113.5' })).status).toBe(201);
    expect((await register(gw.base, '/oauth/register', { 'cf-connecting-ip': REGISTRANT, 'x-forwarded-for': '203.0.113.5' })).status).toBe(403);
  });
});

describe('tokens, sessions and clients', () => {
  let gw: Gateway;
  const dataDir = join(root, 'tokens');
  beforeAll(async () => {
    const store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
    await store.users.add('bob', hashPassword(BOB));
    await store.close();
    gw = await startTestGateway(gatewayDoc(dataDir));
  }, 60_000);
  afterAll(() => gw?.close());

  it('users passwd ends the sessions and revokes the tokens of the user (RFC 9700 §4.14)', async () => {
    const browser = new Browser();
    const first = await signIn(gw.base, browser, 'bob', BOB);
    expect(first.loginShown).toBe(true);
    // The session signs bob in again without the login page.
    const second = await signIn(gw.base, browser, 'bob', BOB);
    expect(second.loginShown).toBe(false);

    const passwd = await runCli(['users', 'passwd', 'bob', '--password-stdin', '--data-dir', dataDir], { cwd: root, input: 'a new password for bob\n' });
    expect(passwd.status, passwd.stderr).toBe(0);

    const refreshed = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: first.refresh, client_id: 'app' });
    expect(refreshed.status).toBe(400);
    expect(refreshed.json.error).toBe('invalid_grant');
    expect((await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: second.refresh, client_id: 'app' })).status).toBe(400);
    // Never presented before, so not in the gateway's short token cache either.
    expect(await mcpStatus(gw.base, second.access)).toBe(401);
    // The same browser must sign in again, with the new password.
    const again = await signIn(gw.base, browser, 'bob', 'a new password for bob');
    expect(again.loginShown).toBe(true);
    expect(await mcpStatus(gw.base, again.access)).toBe(200);
    // And it says what it ended.
    expect(passwd.stderr).toMatch(/changed the password of bob; ended 1 session and revoked \d+ grants and tokens/);
  });

  it('answers a refresh token used twice within the grace window with the same successor: no second token chain', async () => {
    const { refresh } = await signIn(gw.base, new Browser(), 'alice', ALICE);
    const use = () => tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: refresh, client_id: 'app' });
    const [a, b] = await Promise.all([use(), use()]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.json.refresh_token).toBe(a.json.refresh_token);
    expect(b.json.access_token).toBe(a.json.access_token);
    const c = await use();
    expect(c.status).toBe(200);
    expect(c.json.refresh_token).toBe(a.json.refresh_token);
    expect(await mcpStatus(gw.base, a.json.access_token as string)).toBe(200);

    // In the store: the used token and its one successor, nothing from the other two uses.
    const store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
    try {
      const grants = await store.listOAuth({ models: ['Grant'], accountId: 'alice' });
      expect(grants).toHaveLength(1);
      const chain = await store.listOAuth({ models: ['RefreshToken'], grantId: grants[0]!.key });
      expect(chain).toHaveLength(2);
      const access = await store.listOAuth({ models: ['AccessToken'], grantId: grants[0]!.key });
      expect(access).toHaveLength(2); // the code exchange's and the one successor's
    } finally {
      await store.close();
    }
    // The successor rotates on as usual.
    const next = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: a.json.refresh_token as string, client_id: 'app' });
    expect(next.status).toBe(200);
    expect(next.json.refresh_token).not.toBe(a.json.refresh_token);
  });

  it('lets a client introspect its own tokens only (RFC 7662 §2.1, §4)', async () => {
    const registered = await register(gw.base, '/oauth/register', {}, { client_name: 'snoop', token_endpoint_auth_method: 'client_secret_post' });
    expect(registered.status).toBe(201);
    const snoop = (await registered.json()) as { client_id: string; client_secret: string };
    const { access } = await signIn(gw.base, new Browser(), 'alice', ALICE);
    const machine = (await (await clientCredentials(gw.base, '/oauth/token', 'machine', MACHINE_SECRET)).json()) as { access_token: string };
    const introspect = async (token: string, auth: Record<string, string>, basic?: string) => {
      const res = await fetch(`${gw.base}/oauth/introspect`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(basic ? { authorization: `Basic ${basic}` } : {}) },
        body: new URLSearchParams({ token, ...auth }).toString(),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { active: boolean; sub?: string; aud?: unknown };
    };
    const asSnoop = { client_id: snoop.client_id, client_secret: snoop.client_secret };
    expect(await introspect(access, asSnoop)).toEqual({ active: false });
    expect(await introspect(machine.access_token, asSnoop)).toEqual({ active: false });
    const own = await introspect(machine.access_token, {}, Buffer.from(`machine:${MACHINE_SECRET}`).toString('base64'));
    expect(own.active).toBe(true);
    expect((await introspect(access, { client_id: 'app' })).active).toBe(true);
  });

  it('names the redirect policy when it refuses a registration', async () => {
    const res = await register(gw.base, '/oauth/register', {}, { redirect_uris: ['https://evil.example/cb'] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_redirect_uri');
    expect(body.error_description).toContain('https://evil.example/cb is not allowed here');
    expect(body.error_description).toContain('redirectPresets');
  });

  it('refuses client_credentials without a resource when the client has none configured, and says which to ask for', async () => {
    const res = await clientCredentials(gw.base, '/oauth/token', 'robot', ROBOT_SECRET, { scope: 'mcp' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string; access_token?: string };
    expect(body.error).toBe('invalid_target');
    expect(body.error_description).toContain(`${gw.base}/raw/mcp`);
    expect(body.access_token).toBeUndefined();
    expect((await clientCredentials(gw.base, '/oauth/token', 'robot', ROBOT_SECRET)).status).toBe(400);
    // Named, it works; a client with a configured resource gets that one by default (RFC 8707 §2).
    const named = (await (await clientCredentials(gw.base, '/oauth/token', 'robot', ROBOT_SECRET, { resource: `${gw.base}/raw/mcp`, scope: 'mcp' })).json()) as { access_token: string };
    expect(await mcpStatus(gw.base, named.access_token)).toBe(200);
    const defaulted = (await (await clientCredentials(gw.base, '/oauth/token', 'machine', MACHINE_SECRET, { scope: 'mcp' })).json()) as { access_token: string };
    expect(await mcpStatus(gw.base, defaulted.access_token)).toBe(200);
  });

  it('gives a client_credentials token without scope the default scope, so the route it is for accepts it (RFC 6749 §3.3)', async () => {
    for (const [id, secret, fields] of [
      ['robot', ROBOT_SECRET, { resource: `${gw.base}/raw/mcp` }],
      ['machine', MACHINE_SECRET, {}],
      ['machine', MACHINE_SECRET, { scope: '' }],
    ] as [string, string, Record<string, string>][]) {
      const res = await clientCredentials(gw.base, '/oauth/token', id, secret, fields);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { access_token: string; scope?: string };
      expect(body.scope).toBe('mcp');
      expect(await mcpStatus(gw.base, body.access_token)).toBe(200);
    }
  });
});

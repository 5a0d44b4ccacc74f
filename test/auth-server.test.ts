import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '@modelcontextprotocol/client';
import { createAuthorizationServer, type AuthorizationServer } from '../src/auth/server/index.js';
import { resolveConfig, type ResolvedConfig } from '../src/config/index.js';
import { hashPassword } from '../src/crypto/index.js';
import { createLogger, silentLogger } from '../src/observability/index.js';
import { Browser, csrfOf, form, TEST_REDIRECT, TestClient } from './helpers/oauth.js';

const PASSWORD = 'correct horse battery staple';
const STATIC_TOKEN = 'static-token-0123456789abcdef';
const REDIRECT = TEST_REDIRECT;
const WEB_REDIRECT = 'https://claude.ai/api/mcp/auth_callback';
const OPEN_REDIRECTS = readFileSync(new URL('../src/auth/server/testdata/openredirects.txt', import.meta.url), 'utf8').split('\n');
const ROUTES: Record<string, string | undefined> = { '/a/mcp': 'a', '/b/mcp': 'b', '/mcp': undefined };

interface Harness {
  base: string;
  as: AuthorizationServer;
  server: Server;
}

/** The AS plus a protected route of our own that answers with the authenticator's decision. */
async function startHarness(auth: Record<string, unknown> = {}, fetchDocuments?: typeof fetch, refreshGraceSeconds?: number): Promise<Harness> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config: ResolvedConfig = resolveConfig(
    {
      format: 'native',
      location: undefined,
      baseDir: process.cwd(),
      doc: {
        publicUrl: base,
        auth: { users: { alice: { passwordHash: hashPassword(PASSWORD) } }, tokens: [STATIC_TOKEN], ...auth },
        servers: { a: { command: 'true' }, b: { command: 'true' } },
      },
    },
    {},
  );
  const as = await createAuthorizationServer({
    config,
    logger: process.env.AUTH_TEST_DEBUG ? createLogger({ level: 'debug' }) : silentLogger(),
    resources: Object.entries(ROUTES).map(([path, server]) => ({ path, server })),
    fetch: fetchDocuments,
    refreshGraceSeconds,
  });
  handler = (req, res) => {
    if (as.listener(req, res)) return;
    const path = (req.url ?? '/').split('?')[0]!;
    if (!(path in ROUTES)) {
      res.writeHead(404).end();
      return;
    }
    const headers = { get: (n: string) => (req.headers[n.toLowerCase()] as string | undefined) ?? null };
    void Promise.resolve(as.authenticator.authenticate({ url: `${base}${req.url ?? '/'}`, headers }, ROUTES[path])).then((d) => {
      if (d.ok) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ principal: d.principal, servers: d.allowedServers }));
        return;
      }
      const presented = req.headers.authorization !== undefined;
      res
        .writeHead(d.status, { 'www-authenticate': as.challenge(path, presented ? { error: d.error, description: d.description } : undefined) })
        .end(JSON.stringify({ error: d.error }));
    });
  };
  return { base, as, server };
}

/** Login and consent in the "browser"; returns the final redirect to the client. */
async function loginAndConsent(browser: Browser, h: Harness, authorizationUrl: string, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  let step = await browser.follow(authorizationUrl, h.base);
  if (new URL(step.url).pathname.startsWith('/login/')) {
    const page = await step.res.text();
    expect(page).toContain('<form method="post"');
    const posted = await browser.request(step.url, form({ csrf: csrfOf(page), username: 'alice', password: PASSWORD }));
    expect(posted.status).toBe(303);
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, h.base);
  }
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const page = await step.res.text();
    const posted = await browser.request(step.url, form({ csrf: csrfOf(page), decision }));
    expect(posted.status).toBe(303);
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, h.base);
  }
  return new URL(step.url);
}

/** The whole SDK flow for one resource: DCR, PKCE, login, consent, code exchange. */
async function connect(h: Harness, resourcePath: string, client = new TestClient(), browser = new Browser()): Promise<TestClient> {
  const serverUrl = `${h.base}${resourcePath}`;
  expect(await auth(client, { serverUrl })).toBe('REDIRECT');
  const back = await loginAndConsent(browser, h, client.authorizationUrl!.href);
  const code = back.searchParams.get('code');
  expect(code, back.href).toBeTruthy();
  expect(back.searchParams.get('iss')).toBe(h.base);
  expect(await auth(client, { serverUrl, authorizationCode: code!, iss: back.searchParams.get('iss')! })).toBe('AUTHORIZED');
  return client;
}

function call(h: Harness, path: string, token?: string): Promise<Response> {
  return fetch(`${h.base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function register(h: Harness, metadata: Record<string, unknown>): Promise<Response> {
  return fetch(`${h.base}/oauth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

describe('authorization server', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.as.close();
    await new Promise((resolve) => h.server.close(resolve));
  });

  it('serves RFC 8414 / OIDC discovery with issuer exactly publicUrl', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await fetch(`${h.base}${path}`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc.issuer).toBe(h.base);
      expect(doc.authorization_endpoint).toBe(`${h.base}/oauth/authorize`);
      expect(doc.token_endpoint).toBe(`${h.base}/oauth/token`);
      expect(doc.registration_endpoint).toBe(`${h.base}/oauth/register`);
      expect(doc.revocation_endpoint).toBe(`${h.base}/oauth/revoke`);
      expect(doc.introspection_endpoint).toBe(`${h.base}/oauth/introspect`);
      expect(doc.jwks_uri).toBe(`${h.base}/oauth/jwks`);
      expect(doc.code_challenge_methods_supported).toEqual(['S256']);
      expect(doc.authorization_response_iss_parameter_supported).toBe(true);
      expect(doc.client_id_metadata_document_supported).toBe(true);
      expect(doc.scopes_supported).toContain('mcp');
      expect(doc.response_types_supported).toEqual(['code']);
    }
  });

  it('serves RFC 9728 metadata per resource, path-aware and at the root', async () => {
    for (const path of Object.keys(ROUTES)) {
      const res = await fetch(`${h.base}/.well-known/oauth-protected-resource${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        resource: `${h.base}${path}`,
        authorization_servers: [h.base],
        scopes_supported: ['mcp'],
        bearer_methods_supported: ['header'],
      });
    }
    const root = (await (await fetch(`${h.base}/.well-known/oauth-protected-resource`)).json()) as Record<string, unknown>;
    expect(root.resource).toBe(`${h.base}/mcp`);
    expect((await fetch(`${h.base}/.well-known/oauth-protected-resource/nope/mcp`)).status).toBe(404);
  });

  it('answers 401 with an absolute resource_metadata when no token is sent', async () => {
    const res = await call(h, '/a/mcp');
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${h.base}/.well-known/oauth-protected-resource/a/mcp"`);
    expect(challenge).not.toContain('error=');
  });

  it('still accepts static tokens', async () => {
    expect((await call(h, '/a/mcp', STATIC_TOKEN)).status).toBe(200);
    const bad = await call(h, '/a/mcp', 'not-a-token');
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('completes the SDK flow (DCR + PKCE + login + consent) and binds the token to its resource', async () => {
    const client = await connect(h, '/a/mcp');
    const tokens = client.saved!;
    expect(tokens.token_type).toBe('Bearer');
    expect(tokens.refresh_token).toBeTruthy();
    expect(tokens.scope).toBe('mcp');

    const ok = await call(h, '/a/mcp', tokens.access_token);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ principal: 'user:alice', servers: ['a'] });
    // RFC 8707: a token for /a/mcp opens neither /b/mcp nor the aggregate.
    expect((await call(h, '/b/mcp', tokens.access_token)).status).toBe(401);
    expect((await call(h, '/mcp', tokens.access_token)).status).toBe(401);
  });

  it('issues aggregate tokens that open /mcp only', async () => {
    const client = await connect(h, '/mcp');
    const token = client.saved!.access_token;
    const ok = await call(h, '/mcp', token);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { servers: string[] }).servers).toEqual(['a', 'b']);
    expect((await call(h, '/a/mcp', token)).status).toBe(401);
  });

  const refresher = (harness: Harness, client: TestClient, path: string) => async (refreshToken: string): Promise<Response> =>
    fetch(`${harness.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: client.info!.client_id,
        resource: `${harness.base}${path}`,
      }).toString(),
    });

  it('answers Bearer with no-store at the token endpoint, rotates refresh tokens and refuses a used one', async () => {
    // No grace window here, so that reuse is caught at once.
    const strict = await startHarness({}, undefined, 0);
    try {
      const client = await connect(strict, '/b/mcp');
      const first = client.saved!;
      const refresh = refresher(strict, client, '/b/mcp');
      const res = await refresh(first.refresh_token!);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toContain('no-store');
      const second = (await res.json()) as { access_token: string; refresh_token: string; token_type: string };
      expect(second.token_type).toBe('Bearer');
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect((await call(strict, '/b/mcp', second.access_token)).status).toBe(200);

      const reused = await refresh(first.refresh_token!);
      expect(reused.status).toBe(400);
      expect(((await reused.json()) as { error: string }).error).toBe('invalid_grant');
      // Reuse revokes the whole grant (RFC 9700 §4.14.2): the rotated token and its access token die too.
      expect((await refresh(second.refresh_token)).status).toBe(400);
      expect((await call(strict, '/b/mcp', second.access_token)).status).toBe(401);
    } finally {
      await strict.as.close();
      await new Promise((resolve) => strict.server.close(resolve));
    }
  });

  it('lets two concurrent refreshes with the same token both succeed, with the same successor (grace window)', async () => {
    const client = await connect(h, '/b/mcp');
    const refresh = refresher(h, client, '/b/mcp');
    const [a, b] = await Promise.all([refresh(client.saved!.refresh_token!), refresh(client.saved!.refresh_token!)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const ta = (await a.json()) as { access_token: string; refresh_token: string };
    const tb = (await b.json()) as { access_token: string; refresh_token: string };
    // One successor, not two token chains (test/security-review.test.ts counts the records).
    expect(tb).toEqual(ta);
    expect((await call(h, '/b/mcp', ta.access_token)).status).toBe(200);
    expect((await call(h, '/b/mcp', tb.access_token)).status).toBe(200);
  });

  describe('refusals', () => {
    let clientId: string;
    beforeAll(async () => {
      const res = await register(h, { redirect_uris: [REDIRECT], client_name: 'manual', token_endpoint_auth_method: 'none' });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { client_id: string; application_type: string };
      clientId = body.client_id;
      expect(body.application_type).toBe('native');
    });

    const authorizeUrl = (params: Record<string, string>): string =>
      `${h.base}/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        state: 'st',
        resource: `${h.base}/a/mcp`,
        ...params,
      }).toString()}`;

    it('refuses a missing PKCE challenge and plain PKCE', async () => {
      const missing = await fetch(authorizeUrl({}), { redirect: 'manual' });
      const missingTo = new URL(missing.headers.get('location')!);
      expect(missingTo.searchParams.get('error')).toBe('invalid_request');
      expect(missingTo.searchParams.get('error_description')).toMatch(/PKCE/);

      const { challenge } = pkce();
      const plain = await fetch(authorizeUrl({ code_challenge: challenge, code_challenge_method: 'plain' }), { redirect: 'manual' });
      const plainTo = new URL(plain.headers.get('location')!);
      expect(plainTo.searchParams.get('error')).toBe('invalid_request');
      expect(plainTo.searchParams.get('state')).toBe('st');
    });

    it('refuses an unregistered redirect_uri without redirecting to it', async () => {
      const { challenge } = pkce();
      for (const redirect of ['https://evil.example/callback', 'http://127.0.0.1:47123/other', 'http://evil.example:47123/callback']) {
        const res = await fetch(authorizeUrl({ redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256' }), { redirect: 'manual' });
        expect(res.status).toBe(400);
        expect(res.headers.get('location')).toBeNull();
      }
      const page = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/callback', code_challenge: challenge, code_challenge_method: 'S256' }));
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await page.text()).toContain('redirect_uri');
    });

    it('never redirects to an open-redirect payload (oauth2-proxy attack list)', async () => {
      const { challenge } = pkce();
      const registered = new URL(REDIRECT);
      let tried = 0;
      for (const payload of OPEN_REDIRECTS) {
        for (const redirect of [payload, `${REDIRECT}${payload}`, `http://127.0.0.1:1/${payload}`]) {
          const res = await fetch(authorizeUrl({ redirect_uri: redirect, code_challenge: challenge, code_challenge_method: 'S256' }), { redirect: 'manual' });
          tried++;
          const location = res.headers.get('location');
          if (location === null) {
            expect(res.status, redirect).toBe(400);
            continue;
          }
          // Accepted: it must be the registered loopback URI on some port, and the next stop is our login page.
          const to = URL.parse(location, h.base);
          expect(to, `${redirect} -> ${location}`).not.toBeNull();
          expect(to!.origin, redirect).toBe(h.base);
          // An empty redirect_uri is an omitted one: the single registered URI is used (OAuth 2.1 §4.1.1).
          if (redirect === '') continue;
          const accepted = URL.parse(redirect);
          expect(accepted, redirect).not.toBeNull();
          expect([accepted!.protocol, accepted!.hostname, accepted!.pathname, accepted!.search, accepted!.hash], redirect).toEqual([
            registered.protocol,
            registered.hostname,
            registered.pathname,
            '',
            '',
          ]);
        }
      }
      expect(tried).toBe(OPEN_REDIRECTS.length * 3);
    });

    it('matches a loopback redirect on any port (RFC 8252)', async () => {
      const { challenge } = pkce();
      const res = await fetch(authorizeUrl({ redirect_uri: 'http://127.0.0.1:50000/callback', code_challenge: challenge, code_challenge_method: 'S256' }), {
        redirect: 'manual',
      });
      expect(res.status).toBe(303);
      expect(new URL(res.headers.get('location')!, h.base).pathname).toMatch(/^\/login\//);
    });

    it('refuses an unknown resource', async () => {
      const { challenge } = pkce();
      const res = await fetch(authorizeUrl({ resource: 'https://elsewhere.example/mcp', code_challenge: challenge, code_challenge_method: 'S256' }), {
        redirect: 'manual',
      });
      expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_target');
    });

    it('refuses self-registration outside the redirect presets and of client_credentials clients', async () => {
      const evil = await register(h, { redirect_uris: ['https://evil.example/cb'] });
      expect(evil.status).toBe(400);
      expect(((await evil.json()) as { error: string }).error).toBe('invalid_redirect_uri');
      const cc = await register(h, { redirect_uris: [REDIRECT], grant_types: ['client_credentials'], token_endpoint_auth_method: 'client_secret_basic' });
      expect(cc.status).toBe(400);
      expect(((await cc.json()) as { error: string }).error).toBe('invalid_client_metadata');
      for (const uri of ['https://claude.ai/api/mcp/auth_callback', 'https://chatgpt.com/connector/oauth/abc123', 'cursor://anysphere.cursor-retrieval/oauth/user-mcp/callback']) {
        expect((await register(h, { redirect_uris: [uri] })).status, uri).toBe(201);
      }
    });

    it('refuses a wrong PKCE verifier at the token endpoint', async () => {
      const client = new TestClient();
      const browser = new Browser();
      expect(await auth(client, { serverUrl: `${h.base}/a/mcp` })).toBe('REDIRECT');
      const back = await loginAndConsent(browser, h, client.authorizationUrl!.href);
      const res = await fetch(`${h.base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: back.searchParams.get('code')!,
          redirect_uri: REDIRECT,
          client_id: client.info!.client_id,
          code_verifier: pkce().verifier,
          resource: `${h.base}/a/mcp`,
        }).toString(),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
    });
  });

  describe('pages', () => {
    it('re-renders the login page on a wrong password, without telling which part was wrong', async () => {
      const client = new TestClient();
      const browser = new Browser();
      await auth(client, { serverUrl: `${h.base}/a/mcp` });
      const step = await browser.follow(client.authorizationUrl!.href, h.base);
      expect(step.res.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
      const page = await step.res.text();
      expect(page).toContain('name="viewport"');
      expect(page).toMatch(/<input[^>]*name="password"[^>]*type="password"/);
      expect(page).toContain('Test &lt;Client&gt;');
      const wrong = await browser.request(step.url, form({ csrf: csrfOf(page), username: 'alice', password: 'nope' }));
      const unknown = await browser.request(step.url, form({ csrf: csrfOf(page), username: 'mallory', password: 'nope' }));
      const a = await wrong.text();
      const b = await unknown.text();
      expect(wrong.status).toBe(200);
      expect(a).toContain('Wrong username or password.');
      expect(b.replace('mallory', 'alice')).toBe(a);
    });

    it('refuses a form without its CSRF token', async () => {
      const client = new TestClient();
      const browser = new Browser();
      await auth(client, { serverUrl: `${h.base}/a/mcp` });
      const step = await browser.follow(client.authorizationUrl!.href, h.base);
      await step.res.text();
      const res = await browser.request(step.url, form({ username: 'alice', password: PASSWORD }));
      expect(res.status).toBe(403);
      const forged = await browser.request(step.url, form({ csrf: 'forged', username: 'alice', password: PASSWORD }));
      expect(forged.status).toBe(403);
    });

    it('shows the client, its redirect host and the scopes on the consent page; deny returns access_denied', async () => {
      const client = new TestClient();
      const browser = new Browser();
      await auth(client, { serverUrl: `${h.base}/a/mcp` });
      let step = await browser.follow(client.authorizationUrl!.href, h.base);
      const login = await step.res.text();
      const posted = await browser.request(step.url, form({ csrf: csrfOf(login), username: 'alice', password: PASSWORD }));
      step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, h.base);
      expect(new URL(step.url).pathname).toMatch(/^\/consent\//);
      const page = await step.res.text();
      expect(page).toContain('Test &lt;Client&gt;');
      expect(page).toContain('http://127.0.0.1:47123');
      expect(page).toContain('<code>mcp</code>');
      expect(page).toContain(`${h.base}/a/mcp`);
      expect(page).toContain('<button type="submit" name="decision" value="allow">');
      expect(page).toContain('name="decision" value="deny"');
      const denied = await browser.request(step.url, form({ csrf: csrfOf(page), decision: 'deny' }));
      const back = (await browser.follow(new URL(denied.headers.get('location')!, step.url).href, h.base)).url;
      const to = new URL(back);
      expect(to.origin + to.pathname).toBe(REDIRECT);
      expect(to.searchParams.get('error')).toBe('access_denied');
      expect(to.searchParams.get('iss')).toBe(h.base);
    });

    it('remembers consent per user and client across sessions (consent: once)', async () => {
      const client = await connect(h, '/a/mcp', new TestClient(WEB_REDIRECT));
      client.saved = undefined;
      expect(await auth(client, { serverUrl: `${h.base}/a/mcp` })).toBe('REDIRECT');
      // The SDK asks for offline_access and so, per OIDC, prompt=consent: honoured. Clients
      // that do not (Claude, ChatGPT) are asked once per user and client.
      const url = client.authorizationUrl!;
      expect(url.searchParams.get('prompt')).toBe('consent');
      url.searchParams.delete('prompt');
      // A new browser: the user signs in again, and is not asked again.
      const browser = new Browser();
      let step = await browser.follow(url.href, h.base);
      expect(new URL(step.url).pathname).toMatch(/^\/login\//);
      const page = await step.res.text();
      const posted = await browser.request(step.url, form({ csrf: csrfOf(page), username: 'alice', password: PASSWORD }));
      step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, h.base);
      expect(step.url.startsWith(WEB_REDIRECT), step.url).toBe(true);
      expect(new URL(step.url).searchParams.get('code')).toBeTruthy();
    });

    it('asks again for a loopback (native) client, as RFC 8252 §8.6 advises', async () => {
      const browser = new Browser();
      const client = await connect(h, '/a/mcp', new TestClient(), browser);
      client.saved = undefined;
      await auth(client, { serverUrl: `${h.base}/a/mcp` });
      const step = await browser.follow(client.authorizationUrl!.href, h.base);
      expect(new URL(step.url).pathname).toMatch(/^\/consent\//);
    });
  });

  it('revocation (RFC 7009) ends an access token at once', async () => {
    const client = await connect(h, '/a/mcp');
    const token = client.saved!.access_token;
    expect((await call(h, '/a/mcp', token)).status).toBe(200);
    const introspected = await fetch(`${h.base}/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: client.info!.client_id }).toString(),
    });
    expect(await introspected.json()).toMatchObject({ active: true, aud: `${h.base}/a/mcp`, scope: 'mcp', token_type: 'Bearer' });
    const revoked = await fetch(`${h.base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: client.info!.client_id }).toString(),
    });
    expect(revoked.status).toBe(200);
    expect((await call(h, '/a/mcp', token)).status).toBe(401);
  });
});

describe('authorization server with consent: always', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ consent: 'always', registration: { clientMetadataDocuments: false } });
  });
  afterAll(async () => {
    await new Promise((resolve) => h.server.close(resolve));
  });

  it('asks for consent on every authorization and does not advertise CIMD', async () => {
    const browser = new Browser();
    const client = await connect(h, '/a/mcp', new TestClient(WEB_REDIRECT), browser);
    client.saved = undefined;
    await auth(client, { serverUrl: `${h.base}/a/mcp` });
    const step = await browser.follow(client.authorizationUrl!.href, h.base);
    expect(new URL(step.url).pathname).toMatch(/^\/consent\//);
    const doc = (await (await fetch(`${h.base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(doc.client_id_metadata_document_supported).toBeUndefined();
  });
});

describe('client ID metadata documents (CIMD)', () => {
  const GOOD = 'https://client.example/oauth/client.json';
  const EVIL = 'https://client.example/oauth/evil.json';
  const documents: Record<string, unknown> = {
    [GOOD]: { client_id: GOOD, client_name: 'Metadata Client', redirect_uris: [WEB_REDIRECT], token_endpoint_auth_method: 'none' },
    [EVIL]: { client_id: EVIL, client_name: 'Evil', redirect_uris: ['https://evil.example/cb'], token_endpoint_auth_method: 'none' },
  };
  const BIG = 'https://client.example/oauth/big.json';
  const HANG = 'https://client.example/oauth/hang.json';
  const fetched: string[] = [];
  // Stands in for the network (and so for the provider's SSRF-guarded dispatcher; that guard
  // is tested for real in test/cimd-ssrf.test.ts). The size and time limits still apply.
  const fakeFetch = ((url: string | URL, init?: RequestInit) => {
    fetched.push(String(url));
    if (String(url) === BIG) {
      // Over the 5 KiB a client metadata document may take (oidc-provider's fetchResponseBodyLimits).
      const padding = 'x'.repeat(6 * 1024);
      return Promise.resolve(Response.json({ client_id: BIG, client_name: padding, redirect_uris: [WEB_REDIRECT], token_endpoint_auth_method: 'none' }));
    }
    if (String(url) === HANG) {
      // Never answers: only the provider's own deadline (its AbortSignal) ends the wait.
      return new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error), { once: true });
      });
    }
    const doc = documents[String(url)];
    return Promise.resolve(doc ? Response.json(doc, { headers: { 'cache-control': 'max-age=60' } }) : new Response('not found', { status: 404 }));
  }) as typeof fetch;
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ registration: { dynamic: false } }, fakeFetch);
  });
  afterAll(async () => {
    await new Promise((resolve) => h.server.close(resolve));
  });

  it('lets a client whose id is its metadata URL sign in, without registration', async () => {
    const doc = (await (await fetch(`${h.base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(doc.client_id_metadata_document_supported).toBe(true);
    expect(doc.registration_endpoint).toBeUndefined();
    const client = await connect(h, '/a/mcp', new TestClient(WEB_REDIRECT, GOOD));
    expect(client.info?.client_id).toBe(GOOD);
    expect(fetched).toContain(GOOD);
    expect((await call(h, '/a/mcp', client.saved!.access_token)).status).toBe(200);
  });

  async function authorizeStatus(clientId: string): Promise<{ status: number; location: string | null; text: string }> {
    const { challenge } = pkce();
    const res = await fetch(
      `${h.base}/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: WEB_REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${h.base}/a/mcp`,
      }).toString()}`,
      { redirect: 'manual' },
    );
    return { status: res.status, location: res.headers.get('location'), text: await res.text() };
  }

  it('refuses a document larger than the size limit', async () => {
    const res = await authorizeStatus(BIG);
    expect(fetched).toContain(BIG);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.text).toContain('invalid_client');
  });

  it('gives up on a document that does not arrive in time, and says invalid_client', async () => {
    const res = await authorizeStatus(HANG);
    expect(fetched).toContain(HANG);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(res.text).toContain('invalid_client');
  });

  it('refuses a document whose redirect URIs are outside the policy', async () => {
    const { challenge } = pkce();
    const res = await fetch(
      `${h.base}/oauth/authorize?${new URLSearchParams({
        response_type: 'code',
        client_id: EVIL,
        redirect_uri: 'https://evil.example/cb',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        resource: `${h.base}/a/mcp`,
      }).toString()}`,
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('pre-registered clients', () => {
  const SECRET = 'actions-secret-0123456789abcdefghij';
  const ROBOT_SECRET = 'robot-secret-0123456789abcdefghijkl';
  const BOUND_SECRET = 'bound-secret-0123456789abcdefghijkl';
  const ACTIONS_REDIRECT = 'https://chat.openai.com/aip/g-1/oauth/callback';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      clients: [
        // A secret and no `grants`: the code flow only (a ChatGPT Actions secret sits in the GPT editor).
        { clientId: 'actions', clientSecret: SECRET, name: 'ChatGPT Actions', redirectUris: [ACTIONS_REDIRECT] },
        { clientId: 'robot', clientSecret: ROBOT_SECRET, name: 'Robot', redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'] },
        {
          clientId: 'bound',
          clientSecret: BOUND_SECRET,
          redirectUris: ['https://bound.example/cb'],
          resource: '/b/mcp',
          grants: ['authorization_code', 'refresh_token', 'client_credentials'],
        },
      ],
    });
  });
  afterAll(async () => {
    await new Promise((resolve) => h.server.close(resolve));
  });

  const token = (fields: Record<string, string>, secret = SECRET, clientId = 'actions'): Promise<Response> =>
    fetch(`${h.base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: new URLSearchParams(fields).toString(),
    });

  it('refuses client_credentials to a config client with a secret that does not list the grant', async () => {
    for (const resource of [`${h.base}/b/mcp`, `${h.base}/mcp`, undefined]) {
      const res = await token({ grant_type: 'client_credentials', scope: 'mcp', ...(resource ? { resource } : {}) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: string; access_token?: string };
      expect(body.error).toBe('unauthorized_client');
      expect(body.access_token).toBeUndefined();
    }
  });

  it('still gives that client the code flow and refresh', async () => {
    const { verifier, challenge } = pkce();
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: 'actions',
      redirect_uri: ACTIONS_REDIRECT,
      scope: 'mcp',
      state: 's-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: `${h.base}/a/mcp`,
    });
    const back = await loginAndConsent(new Browser(), h, `${h.base}/oauth/authorize?${q.toString()}`);
    const code = back.searchParams.get('code');
    expect(code, back.href).toBeTruthy();
    const exchanged = await token({ grant_type: 'authorization_code', code: code!, redirect_uri: ACTIONS_REDIRECT, code_verifier: verifier });
    expect(exchanged.status).toBe(200);
    const tokens = (await exchanged.json()) as { access_token: string; refresh_token: string };
    const ok = await call(h, '/a/mcp', tokens.access_token);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { principal: string }).principal).toBe('user:alice');
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
  });

  it('issues client_credentials tokens bound to the requested resource to a client that lists the grant', async () => {
    const res = await token({ grant_type: 'client_credentials', scope: 'mcp', resource: `${h.base}/b/mcp` }, ROBOT_SECRET, 'robot');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; token_type: string };
    expect(body.token_type).toBe('Bearer');
    const ok = await call(h, '/b/mcp', body.access_token);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { principal: string }).principal).toBe('client:robot');
    expect((await call(h, '/a/mcp', body.access_token)).status).toBe(401);
    expect((await token({ grant_type: 'client_credentials', scope: 'mcp', resource: `${h.base}/b/mcp` }, 'wrong', 'robot')).status).toBe(401);
  });

  it('holds the client_credentials tokens of a client with a resource to that resource', async () => {
    for (const other of [`${h.base}/a/mcp`, `${h.base}/mcp`]) {
      const refused = await token({ grant_type: 'client_credentials', scope: 'mcp', resource: other }, BOUND_SECRET, 'bound');
      expect(refused.status).toBe(400);
      const body = (await refused.json()) as { error: string; access_token?: string };
      expect(body.error).toBe('invalid_target');
      expect(body.access_token).toBeUndefined();
    }
    // Its own resource, asked for or by default, works.
    for (const fields of [{ resource: `${h.base}/b/mcp` }, {}] as Record<string, string>[]) {
      const res = await token({ grant_type: 'client_credentials', scope: 'mcp', ...fields }, BOUND_SECRET, 'bound');
      expect(res.status).toBe(200);
      const { access_token } = (await res.json()) as { access_token: string };
      expect((await call(h, '/b/mcp', access_token)).status).toBe(200);
      expect((await call(h, '/a/mcp', access_token)).status).toBe(401);
    }
  });

  it('refuses config clients whose grants cannot work', () => {
    const resolveClients = (clients: unknown[]) =>
      resolveConfig({ format: 'native', location: undefined, baseDir: process.cwd(), doc: { auth: { clients } } }, {});
    expect(() => resolveClients([{ clientId: 'p', redirectUris: ['https://p.example/cb'], grants: ['client_credentials'] }])).toThrow(/client_credentials needs a clientSecret/);
    expect(() => resolveClients([{ clientId: 'p', clientSecret: 's', redirectUris: ['https://p.example/cb'], grants: ['refresh_token'] }])).toThrow(/refresh_token comes with authorization_code/);
    expect(() => resolveClients([{ clientId: 'p', clientSecret: 's', redirectUris: ['https://p.example/cb'], grants: ['password'] }])).toThrow(/grants/);
    expect(resolveClients([{ clientId: 'p', redirectUris: ['https://p.example/cb'] }]).auth.clients[0]!.grants).toEqual(['authorization_code', 'refresh_token']);
  });
});

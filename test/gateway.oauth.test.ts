// OAuth through the real gateway (auth.mode oauth): the official SDK client registers (DCR),
// logs in on the login page, consents, and calls tools with an audience-bound token; the
// token never reaches an upstream; everything survives a restart with the SQLite store.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { startModernOnlyServer, type ModernOnlyServer } from './fixtures/modern-only-server.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { Browser, csrfOf, form, TestClient } from './helpers/oauth.js';

const PASSWORD = 'a long enough passphrase';
let remote: ModernOnlyServer;
let dataDir: string;

function gatewayConfig(port = 0) {
  return {
    listen: `127.0.0.1:${port}`,
    store: 'sqlite',
    dataDir,
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio(), remote: { url: remote.url } },
  };
}

/** Login and consent in the "browser"; returns the redirect back to the client. */
async function loginAndConsent(base: string, authorizationUrl: string): Promise<URL> {
  const browser = new Browser();
  let step = await browser.follow(authorizationUrl, base);
  expect(new URL(step.url).pathname).toMatch(/^\/login\//);
  const login = await step.res.text();
  const posted = await browser.request(step.url, form({ csrf: csrfOf(login), username: 'alice', password: PASSWORD }));
  step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const consent = await step.res.text();
    expect(consent).toContain('name="decision" value="allow"');
    const allowed = await browser.request(step.url, form({ csrf: csrfOf(consent), decision: 'allow' }));
    step = await browser.follow(new URL(allowed.headers.get('location')!, step.url).href, base);
  }
  return new URL(step.url);
}

/** The SDK's own flow against the gateway: 401 -> discovery -> DCR -> PKCE -> login -> token. */
async function authorizedClient(base: string, path: string, provider = new TestClient()): Promise<{ client: Client; provider: TestClient }> {
  const url = new URL(`${base}${path}`);
  let transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  let client = new Client({ name: 'oauth-e2e', version: '1' });
  if (!provider.tokens()) {
    await expect(client.connect(transport)).rejects.toThrow();
    const back = await loginAndConsent(base, provider.authorizationUrl!.href);
    await transport.finishAuth(back.searchParams.get('code')!, back.searchParams.get('iss') ?? undefined);
    transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
    client = new Client({ name: 'oauth-e2e', version: '1' });
  }
  await client.connect(transport);
  return { client, provider };
}

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  remote = await startModernOnlyServer();
  dataDir = join(mkdtempSync(join(tmpdir(), 'gh-oauth-')), 'data');
  gw = await startTestGateway(gatewayConfig());
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await remote?.close();
});

describe('OAuth through the gateway', () => {
  it('answers an unauthenticated call with 401 and an absolute resource_metadata', async () => {
    const res = await fetch(`${gw.base}/raw/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${gw.base}/.well-known/oauth-protected-resource/raw/mcp"`);
  });

  it('lets the SDK client register, log in, consent and call tools; the token opens only its own server', async () => {
    const { client, provider } = await authorizedClient(gw.base, '/raw/mcp');
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('echo');
      const echoed = await client.callTool({ name: 'echo', arguments: { hello: 'oauth' } });
      expect(JSON.stringify(echoed.content)).toContain('oauth');
    } finally {
      await client.close();
    }
    const token = provider.tokens()!.access_token;
    expect(provider.tokens()!.token_type).toBe('Bearer');
    const other = await fetch(`${gw.base}/remote/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
    });
    expect(other.status).toBe(401);
  });

  it('never sends the client\u2019s token upstream', async () => {
    const { client, provider } = await authorizedClient(gw.base, '/remote/mcp');
    try {
      const res = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(res.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
    } finally {
      await client.close();
    }
    const token = provider.tokens()!.access_token;
    expect(remote.seen.length).toBeGreaterThan(0);
    for (const headers of remote.seen) {
      expect(headers.authorization).toBeUndefined();
      expect(JSON.stringify(headers)).not.toContain(token);
    }
  });

  it('keeps clients, grants and keys across a restart: refresh, then call again', async () => {
    const { client, provider } = await authorizedClient(gw.base, '/raw/mcp');
    await client.close();
    const port = gw.port;
    await gw.close();
    gw = await startTestGateway(gatewayConfig(port));
    // Force the refresh path: the SDK refreshes with the stored refresh token on 401.
    const before = provider.tokens()!;
    provider.saveTokens({ ...before, access_token: 'expired-or-unknown' });
    const again = await authorizedClient(gw.base, '/raw/mcp', provider);
    try {
      const { tools } = await again.client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      expect(provider.tokens()!.refresh_token).not.toBe(before.refresh_token);
    } finally {
      await again.client.close();
    }
  });

  it('slows down password guessing from one address (429 with Retry-After)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${gw.base}/login/not-an-interaction`, form({ csrf: 'x', username: 'alice', password: `guess-${i}` }));
      statuses.push(r.status);
      if (r.status === 429) {
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
        break;
      }
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses).not.toContain(200);
  });
});

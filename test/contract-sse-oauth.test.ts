// CONTRACT: the legacy HTTP+SSE pair `/{name}/sse` + `/{name}/message` (and the aggregate
// `/sse` + `/message`) behind OAuth. No token: 401 with `WWW-Authenticate: Bearer
// resource_metadata="<absolute URL>"`. A token from the code flow opens the stream, and the
// SDK's SSE client lists and calls tools through it.
import { Client, SSEClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { loginAndConsent, TestClient } from './helpers/oauth.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const PASSWORD = 'contract sse password, long enough';

let gw: Gateway;
beforeAll(async () => {
  gw = await startTestGateway({
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio() },
  });
}, 60_000);
afterAll(() => gw?.close());

/** The SDK's own OAuth flow over its SSE transport: 401, discovery, DCR, PKCE, login, code. */
async function sseClient(url: URL, provider: TestClient): Promise<Client> {
  const first = new Client({ name: 'contract-sse', version: '1' });
  await expect(first.connect(new SSEClientTransport(url, { authProvider: provider }))).rejects.toThrow();
  expect(provider.authorizationUrl, 'the SDK was sent to the authorization endpoint').toBeDefined();
  expect(provider.authorizationUrl!.href.startsWith(`${gw.base}/oauth/authorize?`)).toBe(true);
  const back = await loginAndConsent(gw.base, provider.authorizationUrl!.href, 'alice', PASSWORD);
  const code = back.searchParams.get('code');
  expect(code, back.href).toBeTruthy();
  const finishing = new SSEClientTransport(url, { authProvider: provider });
  // RFC 9207: the redirect back carries the issuer, and the SDK checks it.
  expect(back.searchParams.get('iss')).toBe(gw.base);
  await finishing.finishAuth(code!, back.searchParams.get('iss')!);
  expect(provider.tokens()?.token_type).toBe('Bearer');
  const client = new Client({ name: 'contract-sse', version: '1' });
  await client.connect(new SSEClientTransport(url, { authProvider: provider }));
  return client;
}

describe('legacy SSE behind OAuth', () => {
  for (const [sse, message] of [
    ['/raw/sse', '/raw/message'],
    ['/sse', '/message'],
  ] as const) {
    it(`${sse}: no token gets 401 with an absolute resource_metadata; so does ${message}`, async () => {
      const controller = new AbortController();
      const res = await fetch(`${gw.base}${sse}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      controller.abort();
      expect(res.status).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge).toMatch(/^Bearer /);
      const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
      expect(metadataUrl, challenge).toBeDefined();
      expect(metadataUrl!.startsWith(`${gw.base}/.well-known/oauth-protected-resource`)).toBe(true);
      // The metadata it names exists and points at this authorization server.
      const metadata = (await (await fetch(metadataUrl!)).json()) as { resource: string; authorization_servers: string[] };
      expect(metadata.authorization_servers).toEqual([gw.base]);

      const post = await fetch(`${gw.base}${message}?sessionId=anything`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(post.status).toBe(401);
      expect(post.headers.get('www-authenticate')).toMatch(/^Bearer .*resource_metadata="http:\/\/[^"]+"/);
    });
  }

  it('/raw/sse: the SDK SSE client gets a token by the code flow, then lists and calls tools', async () => {
    const provider = new TestClient();
    const client = await sseClient(new URL(`${gw.base}/raw/sse`), provider);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('echo');
      const result = await client.callTool({ name: 'echo', arguments: { said: 'over legacy sse with oauth' } });
      expect(JSON.stringify(result.content)).toContain('over legacy sse with oauth');
    } finally {
      await client.close();
    }
    // The token is a real credential for the stream: a wrong one is refused.
    const controller = new AbortController();
    const wrong = await fetch(`${gw.base}/raw/sse`, { headers: { authorization: 'Bearer not-a-token' }, signal: controller.signal });
    controller.abort();
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('/sse (every server): the SDK SSE client logs in and calls a prefixed tool', async () => {
    const client = await sseClient(new URL(`${gw.base}/sse`), new TestClient());
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('raw__echo');
      const result = await client.callTool({ name: 'raw__echo', arguments: { said: 'aggregate sse' } });
      expect(JSON.stringify(result.content)).toContain('aggregate sse');
    } finally {
      await client.close();
    }
  });
});

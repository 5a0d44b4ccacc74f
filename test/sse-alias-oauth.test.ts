// `/mcp/sse` (seed 000's Claude connector URL) behind OAuth. RFC 9728 §3.3: the metadata's
// `resource` must be identical to the resource the client used, and the MCP SDK refuses
// metadata for `/sse` when it connected to `/mcp/sse` ("Protected resource .../sse does not
// match expected .../mcp/sse"). The alias is a protected resource of its own: its 401 names
// `/.well-known/oauth-protected-resource/mcp/sse`, whose `resource` is `.../mcp/sse`; the
// authorization server issues tokens for it, and those open the alias (and, like `/mcp`'s and
// `/sse`'s, every server). A real gateway, the SDK's own OAuth flow over its SSE transport.
import { Client, SSEClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { loginAndConsent, TestClient, tokenRequest } from './helpers/oauth.js';

const PASSWORD = 'alias sse password, long enough';
const ROBOT = { id: 'robot', secret: 'robot-secret-0123456789abcdefghijkl' };

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      users: { alice: { passwordHash: hashPassword(PASSWORD) } },
      clients: [{ clientId: ROBOT.id, clientSecret: ROBOT.secret, redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'] }],
    },
    servers: { raw: rawStdio() },
  });
}, 60_000);
afterAll(() => gw?.close());

/** The status and challenge of a GET on an SSE path (the stream, if opened, is dropped). */
async function openSse(path: string, token?: string): Promise<{ status: number; challenge: string | null }> {
  const controller = new AbortController();
  const res = await fetch(`${gw.base}${path}`, {
    headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: controller.signal,
  });
  controller.abort();
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

async function clientCredentials(path: string): Promise<string> {
  const { status, json } = await tokenRequest(gw.base, { grant_type: 'client_credentials', scope: 'mcp', resource: `${gw.base}${path}` }, ROBOT);
  expect(status, JSON.stringify(json)).toBe(200);
  return json.access_token as string;
}

describe('/mcp/sse behind OAuth', () => {
  it('a 401 on /mcp/sse and /mcp/message names metadata whose resource is .../mcp/sse', async () => {
    const expected = `${gw.base}/.well-known/oauth-protected-resource/mcp/sse`;
    const get = await openSse('/mcp/sse');
    expect(get.status).toBe(401);
    expect(get.challenge).toBe(`Bearer resource_metadata="${expected}", scope="mcp"`);
    const post = await fetch(`${gw.base}/mcp/message?sessionId=x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(401);
    expect(post.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${expected}", scope="mcp"`);

    const res = await fetch(expected);
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as { resource: string; authorization_servers: string[] };
    expect(metadata.resource).toBe(`${gw.base}/mcp/sse`);
    expect(metadata.authorization_servers).toEqual([gw.base]);
    // The aggregate's own paths keep their own metadata.
    expect(((await (await fetch(`${gw.base}/.well-known/oauth-protected-resource/sse`)).json()) as { resource: string }).resource).toBe(`${gw.base}/sse`);
  });

  it("the SDK's auth flow discovers, logs in for resource .../mcp/sse, and its token opens the alias", async () => {
    const url = new URL(`${gw.base}/mcp/sse`);
    const provider = new TestClient();
    const first = new Client({ name: 'alias-sse', version: '1' });
    // Discovery: the SDK checks the metadata's resource against the URL (it threw here before).
    await expect(first.connect(new SSEClientTransport(url, { authProvider: provider }))).rejects.toThrow(/unauthorized/i);
    expect(provider.authorizationUrl, 'the SDK was sent to the authorization endpoint').toBeDefined();
    expect(provider.authorizationUrl!.searchParams.get('resource')).toBe(`${gw.base}/mcp/sse`);
    const back = await loginAndConsent(gw.base, provider.authorizationUrl!.href, 'alice', PASSWORD);
    const code = back.searchParams.get('code');
    expect(code, back.href).toBeTruthy();
    // The token request carries resource=.../mcp/sse too (RFC 8707 §2.2): the AS must know it.
    await new SSEClientTransport(url, { authProvider: provider }).finishAuth(code!, back.searchParams.get('iss')!);
    const token = provider.tokens()?.access_token;
    expect(token).toBeTruthy();

    const client = new Client({ name: 'alias-sse', version: '1' });
    await client.connect(new SSEClientTransport(url, { authProvider: provider }));
    try {
      const result = await client.callTool({ name: 'raw__echo', arguments: { said: 'through the alias' } });
      expect(JSON.stringify(result.content)).toContain('through the alias');
    } finally {
      await client.close();
    }
    // An aggregate token: it opens the aggregate's other paths, not one server's.
    expect((await openSse('/sse', token)).status).toBe(200);
    const other = await openSse('/raw/sse', token);
    expect(other.status).toBe(401);
    expect(other.challenge).toContain('error="invalid_token"');
  });

  it('client_credentials for .../mcp/sse: issued, and it opens the alias; a token for one server does not', async () => {
    expect((await openSse('/mcp/sse', await clientCredentials('/mcp/sse'))).status).toBe(200);
    const serverToken = await openSse('/mcp/sse', await clientCredentials('/raw/sse'));
    expect(serverToken.status).toBe(401);
    expect(serverToken.challenge).toContain(`resource_metadata="${gw.base}/.well-known/oauth-protected-resource/mcp/sse"`);
    expect(serverToken.challenge).toContain('error="invalid_token"');
  });
});

// REST calls through the real gateway with OAuth on, and the OAuth exchange the way ChatGPT
// Actions do it: a pre-registered confidential client (auth.clients), no PKCE, no RFC 8707
// resource, client_secret_post for the code, then a refresh (here with client_secret_basic).
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { everythingStdio, REFERENCE_EVERYTHING, startTestGateway } from './helpers/gateway.js';
import { Browser, csrfOf, form } from './helpers/oauth.js';

const PASSWORD = 'a long enough passphrase';
const CHATGPT = { id: 'chatgpt-actions', secret: 'a-secret-only-chatgpt-knows', redirect: 'https://chat.openai.com/aip/g-test/oauth/callback' };
const ROBOT = { id: 'robot', secret: 'a-secret-for-a-machine-client' };
const STATIC_TOKEN = 'static-token-for-rest-clients-1234';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      tokens: [STATIC_TOKEN],
      users: { alice: { passwordHash: hashPassword(PASSWORD) } },
      clients: [
        { clientId: CHATGPT.id, clientSecret: CHATGPT.secret, name: 'ChatGPT', redirectUris: [CHATGPT.redirect], resource: '/api', requirePkce: false },
        { clientId: 'strict', clientSecret: 'another-secret-value', redirectUris: [CHATGPT.redirect], resource: '/api' },
        // A machine client: client_credentials only because it says so, for any resource (no `resource`).
        { clientId: ROBOT.id, clientSecret: ROBOT.secret, redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'] },
        // client_credentials and a resource: its machine tokens are for /api and nothing else.
        { clientId: 'rest-robot', clientSecret: ROBOT.secret, redirectUris: ['https://robot.example/cb'], resource: '/api', grants: ['client_credentials'] },
      ],
    },
    servers: {
      fixture: everythingStdio({ tools: { block: ['test_audio_content'] } }),
      reference: { command: process.execPath, args: [REFERENCE_EVERYTHING, 'stdio'] },
    },
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

/** Login and consent in the "browser"; returns where the authorization server sent the browser back. */
async function loginAndConsent(authorizationUrl: string): Promise<URL> {
  const browser = new Browser();
  let step = await browser.follow(authorizationUrl, gw.base);
  expect(new URL(step.url).pathname).toMatch(/^\/login\//);
  const login = await step.res.text();
  const posted = await browser.request(step.url, form({ csrf: csrfOf(login), username: 'alice', password: PASSWORD }));
  step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, gw.base);
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const consent = await step.res.text();
    const allowed = await browser.request(step.url, form({ csrf: csrfOf(consent), decision: 'allow' }));
    step = await browser.follow(new URL(allowed.headers.get('location')!, step.url).href, gw.base);
  }
  return new URL(step.url);
}

/** What ChatGPT Actions send: response_type, client_id, redirect_uri, scope, state; no PKCE, no resource. */
function chatGptAuthorizationUrl(clientId = CHATGPT.id, scope = 'mcp'): string {
  const q = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: CHATGPT.redirect, scope, state: 'state-123' });
  return `${gw.base}/oauth/authorize?${q.toString()}`;
}

async function token(fields: Record<string, string>, basic?: { id: string; secret: string }): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  const res = await fetch(`${gw.base}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams(fields).toString() });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function rest(path: string, body: unknown, bearer?: string): Promise<{ status: number; type: string; headers: Headers; json: unknown }> {
  const res = await fetch(`${gw.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', headers: res.headers, json: await res.json() };
}

let accessToken = '';

describe('the ChatGPT Actions OAuth exchange with a pre-registered confidential client', () => {
  it('authorizes without PKCE, exchanges the code with client_secret_post, and refreshes with client_secret_basic', async () => {
    const back = await loginAndConsent(chatGptAuthorizationUrl());
    expect(back.origin + back.pathname).toBe(CHATGPT.redirect);
    expect(back.searchParams.get('state')).toBe('state-123');
    const code = back.searchParams.get('code');
    expect(code).toBeTruthy();

    const exchanged = await token({ grant_type: 'authorization_code', code: code!, redirect_uri: CHATGPT.redirect, client_id: CHATGPT.id, client_secret: CHATGPT.secret });
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.token_type).toBe('Bearer');
    expect(typeof exchanged.json.refresh_token).toBe('string');
    accessToken = exchanged.json.access_token as string;
    expect((await rest('/api/tools/fixture__test_simple_text', {}, accessToken)).status).toBe(200);

    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: exchanged.json.refresh_token as string }, { id: CHATGPT.id, secret: CHATGPT.secret });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.access_token).not.toBe(accessToken);
    accessToken = refreshed.json.access_token as string;
    const again = await rest('/api/tools/fixture__test_simple_text', {}, accessToken);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(['This is a simple text response for testing.']);
  });

  it('treats a blank Scope field (scope=) as the resource scope', async () => {
    const back = await loginAndConsent(chatGptAuthorizationUrl(CHATGPT.id, ''));
    const exchanged = await token({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CHATGPT.redirect, client_id: CHATGPT.id, client_secret: CHATGPT.secret });
    expect(exchanged.status).toBe(200);
    expect(exchanged.json.scope).toBe('mcp');
    expect((await rest('/api/tools/fixture__test_simple_text', {}, exchanged.json.access_token as string)).status).toBe(200);
  });

  it('refuses a wrong client secret at the token endpoint', async () => {
    const back = await loginAndConsent(chatGptAuthorizationUrl());
    const res = await token({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CHATGPT.redirect, client_id: CHATGPT.id, client_secret: 'wrong' });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
  });

  it('gives the Actions client (its secret sits in the GPT editor) no client_credentials token: no user-less access', async () => {
    for (const resource of [`${gw.base}/api`, `${gw.base}/fixture/api`, `${gw.base}/mcp`]) {
      const res = await token({ grant_type: 'client_credentials', scope: 'mcp', resource }, { id: CHATGPT.id, secret: CHATGPT.secret });
      expect(res.status).toBe(400);
      expect(res.json.error).toBe('unauthorized_client');
      expect(res.json.access_token).toBeUndefined();
    }
  });

  it('holds client_credentials tokens of a client with `resource: /api` to /api', async () => {
    for (const resource of [`${gw.base}/mcp`, `${gw.base}/fixture/api`, `${gw.base}/fixture/mcp`]) {
      const refused = await token({ grant_type: 'client_credentials', scope: 'mcp', resource }, { id: 'rest-robot', secret: ROBOT.secret });
      expect(refused.status).toBe(400);
      expect(refused.json.error).toBe('invalid_target');
    }
    const ok = await token({ grant_type: 'client_credentials', scope: 'mcp' }, { id: 'rest-robot', secret: ROBOT.secret });
    expect(ok.status).toBe(200);
    expect((await rest('/api/tools/fixture__test_simple_text', {}, ok.json.access_token as string)).status).toBe(200);
  });

  it('still requires PKCE from a confidential client that did not turn it off', async () => {
    const res = await new Browser().request(chatGptAuthorizationUrl('strict'));
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });
});

describe('REST calls with OAuth on', () => {
  it('answers a call without a token with 401 and the REST resource_metadata', async () => {
    const res = await rest('/api/tools/fixture__test_simple_text', {});
    expect(res.status).toBe(401);
    expect(res.type).toContain('application/problem+json');
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="${gw.base}/.well-known/oauth-protected-resource/api"`);
    const metadata = (await (await fetch(`${gw.base}/.well-known/oauth-protected-resource/api`)).json()) as Record<string, unknown>;
    expect(metadata.resource).toBe(`${gw.base}/api`);
    const perServer = await rest('/fixture/api/tools/test_simple_text', {});
    expect(perServer.headers.get('www-authenticate')).toContain(`resource_metadata="${gw.base}/.well-known/oauth-protected-resource/fixture/api"`);
  });

  it('calls a tool: content as JSON (text as strings, images with MIME type and data)', async () => {
    const res = await rest('/api/tools/fixture__test_multiple_content_types', {}, accessToken);
    expect(res.status).toBe(200);
    const [text, image, resource] = res.json as [string, Record<string, unknown>, Record<string, unknown>];
    expect(text).toBe('Multiple content types test:');
    expect(image).toMatchObject({ type: 'image', mimeType: 'image/png' });
    expect(typeof image.data).toBe('string');
    expect(resource).toMatchObject({ type: 'resource', uri: 'test://mixed-content-resource', mimeType: 'application/json' });
  });

  it('answers with structuredContent when the tool gives it', async () => {
    const res = await rest('/api/tools/reference__get-structured-content', { location: 'Chicago' }, accessToken);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 });
  });

  it('serves the older /api/tools/call/{tool} route too', async () => {
    const res = await rest('/api/tools/call/reference__echo', { message: 'older route' }, accessToken);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).toContain('older route');
  });

  it('turns a tool error into a 422 problem', async () => {
    const res = await rest('/api/tools/fixture__test_error_handling', {}, accessToken);
    expect(res.status).toBe(422);
    expect(res.type).toContain('application/problem+json');
    expect(res.json).toMatchObject({ type: 'urn:gatehouse:problem:tool-error', status: 422, tool: 'fixture__test_error_handling' });
    expect((res.json as { detail: string }).detail).toContain('intentionally returns an error');
  });

  it('checks the arguments first and lists every error', async () => {
    const res = await rest('/api/tools/fixture__json_schema_2020_12_tool', { name: 5, address: { city: 7 }, contactMethod: 'fax', extra: true }, accessToken);
    expect(res.status).toBe(400);
    const body = res.json as { type: string; errors: { pointer: string; detail: string }[] };
    expect(body.type).toBe('urn:gatehouse:problem:invalid-arguments');
    const pointers = body.errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/name', '/address/city', '/contactMethod', '/extra']));
    const missing = await rest('/api/tools/reference__echo', {}, accessToken);
    expect(missing.status).toBe(400);
    expect((missing.json as { errors: { pointer: string; detail: string }[] }).errors).toEqual([{ pointer: '/message', detail: 'is required' }]);
    expect((await rest('/api/tools/reference__echo', '[1,2]', accessToken)).status).toBe(400);
    expect((await rest('/api/tools/reference__echo', '{not json', accessToken)).status).toBe(400);
  });

  it('answers 404 for an unknown tool and for a blocked one, which never reaches the server', async () => {
    expect((await rest('/api/tools/fixture__no_such_tool', {}, accessToken)).status).toBe(404);
    expect((await rest('/api/tools/nosuchserver__echo', {}, accessToken)).status).toBe(404);
    expect((await rest('/api/tools/no-separator', {}, accessToken)).status).toBe(404);
    const blocked = await rest('/api/tools/fixture__test_audio_content', {}, accessToken);
    expect(blocked.status).toBe(404);
    expect(blocked.json).toMatchObject({ type: 'urn:gatehouse:problem:unknown-tool' });
  });

  it('rejects a token issued for another resource, both ways', async () => {
    // Its own tokens (client_credentials, RFC 8707 resource), each shown to work where it belongs.
    const tokenFor = async (resource: string): Promise<string> => {
      const issued = await token({ grant_type: 'client_credentials', scope: 'mcp', resource: `${gw.base}${resource}` }, { id: ROBOT.id, secret: ROBOT.secret });
      expect(issued.status).toBe(200);
      return issued.json.access_token as string;
    };
    const initialize = (path: string, bearer: string) =>
      fetch(`${gw.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
      });
    const [mcpToken, restToken, fixtureRestToken, fixtureMcpToken] = await Promise.all(['/mcp', '/api', '/fixture/api', '/fixture/mcp'].map(tokenFor));
    expect((await initialize('/mcp', mcpToken!)).status).toBe(200);
    expect((await rest('/api/tools/fixture__test_simple_text', {}, restToken)).status).toBe(200);
    expect((await rest('/fixture/api/tools/test_simple_text', {}, fixtureRestToken)).status).toBe(200);
    expect((await initialize('/fixture/mcp', fixtureMcpToken!)).status).toBe(200);

    // A token for an MCP endpoint does not open the REST API...
    for (const other of [mcpToken!, fixtureMcpToken!]) {
      const refused = await rest('/api/tools/fixture__test_simple_text', {}, other);
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect((await rest('/fixture/api/tools/test_simple_text', {}, other)).status).toBe(401);
    }
    // ...nor does a token for one server's REST resource open another server's...
    expect((await rest('/reference/api/tools/echo', { message: 'x' }, fixtureRestToken)).status).toBe(401);
    // ...and a REST token opens no MCP endpoint: not the aggregate one, not a server's own.
    for (const other of [restToken!, fixtureRestToken!]) {
      expect((await initialize('/mcp', other)).status).toBe(401);
      expect((await initialize('/fixture/mcp', other)).status).toBe(401);
      expect((await initialize('/reference/mcp', other)).status).toBe(401);
    }
  });

  it('accepts a static token from auth.tokens', async () => {
    const res = await rest('/fixture/api/tools/test_simple_text', {}, STATIC_TOKEN);
    expect(res.status).toBe(200);
    expect((await rest('/fixture/api/tools/test_simple_text', {}, 'not-a-known-token')).status).toBe(401);
  });

  it('advertises the OAuth flow and bearer in the document, which needs no token to fetch', async () => {
    const doc = (await (await fetch(`${gw.base}/openapi.json`)).json()) as { components: { securitySchemes: Record<string, unknown> }; security: unknown };
    expect(doc.components.securitySchemes.oauth2).toEqual({
      type: 'oauth2',
      flows: {
        authorizationCode: {
          authorizationUrl: `${gw.base}/oauth/authorize`,
          tokenUrl: `${gw.base}/oauth/token`,
          refreshUrl: `${gw.base}/oauth/token`,
          scopes: { mcp: expect.any(String) as unknown },
        },
      },
    });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ oauth2: ['mcp'] }, { bearer: [] }]);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });
});

describe('REST calls behind the IP allowlist', () => {
  it('refuses an address outside auth.allowedIps before anything else', async () => {
    const fenced = await startTestGateway({ auth: { mode: 'none', allowedIps: ['10.1.2.0/24'] }, servers: { fixture: everythingStdio() } });
    try {
      const res = await fetch(`${fenced.base}/fixture/api/tools/test_simple_text`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(403);
      expect((await fetch(`${fenced.base}/openapi.json`)).status).toBe(403);
    } finally {
      await fenced.close();
    }
  });
});

// RFC 8707 §2 invalid_target for a resource the gateway does not protect, at the token and the
// authorization endpoint of a real gateway: error_description names the refused indicator and the
// resource URLs the gateway protects (config's protectedResourceList under the issuer), exactly,
// at most five and then how many in all, the one with the refused indicator's path first.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protectedResourceList } from '../src/config/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { TEST_REDIRECT } from './helpers/oauth.js';

const ROBOT_SECRET = 'robot-secret-0123456789abcdefghijkl';
let gw: Awaited<ReturnType<typeof startTestGateway>>;
/** Every protected resource URL, in config order. */
let urls: string[];

beforeAll(async () => {
  gw = await startTestGateway({
    auth: {
      mode: 'oauth',
      clients: [{ clientId: 'robot', clientSecret: ROBOT_SECRET, redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'] }],
    },
    openapi: { enabled: true },
    servers: { a: rawStdio(), b: rawStdio(), c: rawStdio() },
  });
  urls = protectedResourceList(['a', 'b', 'c'], true).map((r) => `${gw.base}${r.path}`);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

async function clientCredentials(resource: string): Promise<{ status: number; body: { error?: string; error_description?: string; access_token?: string } }> {
  const res = await fetch(`${gw.base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`robot:${ROBOT_SECRET}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp', resource }).toString(),
  });
  return { status: res.status, body: (await res.json()) as { error?: string; error_description?: string } };
}

/** The description for a refused indicator: `first` leads the list, then the others in config order. */
const expected = (shown: string, first?: string) => {
  const ordered = first === undefined ? urls : [first, ...urls.filter((u) => u !== first)];
  return `unknown resource ${shown}; this gateway protects ${ordered.slice(0, 5).join(', ')}, ... (${urls.length} in all)`;
};

describe('invalid_target for an unknown resource', () => {
  it('at the token endpoint, names the refused resource and the ones this gateway protects', async () => {
    expect(urls).toHaveLength(13); // 3 servers × (mcp, sse, api), /mcp, /sse, /mcp/sse, /api
    const res = await clientCredentials('https://elsewhere.example/nope');
    expect(res.status).toBe(400);
    expect(res.body.access_token).toBeUndefined();
    expect(res.body).toEqual({ error: 'invalid_target', error_description: expected('https://elsewhere.example/nope') });
  });

  it('puts the protected resource with the refused one\'s path first (another origin, a trailing slash)', async () => {
    // https where the issuer is http://127.0.0.1:PORT: the usual mistake behind a proxy without publicUrl.
    for (const [resource, path] of [['https://gw.example/c/api', '/c/api'], ['https://gw.example/mcp', '/mcp'], [`${gw.base}/b/sse/`, '/b/sse']] as const) {
      const res = await clientCredentials(resource);
      expect(res.body, resource).toEqual({ error: 'invalid_target', error_description: expected(resource, `${gw.base}${path}`) });
    }
  });

  it('shows a refused resource only in the characters RFC 6749 §5.2 allows in error_description', async () => {
    const res = await clientCredentials('https://elsewhere.example/"x\\y\u00e9');
    expect(res.body.error_description).toBe(expected('https://elsewhere.example/%22x%5Cy%C3%A9'));
    const long = `https://elsewhere.example/${'x'.repeat(300)}`;
    expect((await clientCredentials(long)).body.error_description).toBe(expected(`${long.slice(0, 200)}...`));
  });

  it('at the authorization endpoint, sends the same description back to the client', async () => {
    const registered = await fetch(`${gw.base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [TEST_REDIRECT], token_endpoint_auth_method: 'none' }),
    });
    expect(registered.status).toBe(201);
    const { client_id: clientId } = (await registered.json()) as { client_id: string };
    const challenge = createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: TEST_REDIRECT,
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: 'https://elsewhere.example/a/mcp',
    });
    const res = await fetch(`${gw.base}/oauth/authorize?${query.toString()}`, { redirect: 'manual' });
    const back = new URL(res.headers.get('location')!);
    expect(`${back.origin}${back.pathname}`).toBe(TEST_REDIRECT);
    expect(back.searchParams.get('error')).toBe('invalid_target');
    expect(back.searchParams.get('error_description')).toBe(expected('https://elsewhere.example/a/mcp', `${gw.base}/a/mcp`));
  });
});

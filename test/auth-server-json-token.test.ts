// POST /oauth/token with a JSON body (seed 000's curl), through the real gateway: a flat object of
// strings is the form it stands for, so every answer matches the form's, client authentication
// included; anything else with a JSON type is a 400 invalid_request that says what is wrong.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const ROBOT_SECRET = 'robot-secret-0123456789abcdefghijkl';
const ACTIONS_SECRET = 'actions-secret-0123456789abcdefghij';
const APP_ORIGIN = 'https://app.example.com';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({
    auth: {
      mode: 'oauth',
      clients: [
        // Seed 000's client: a secret, client_credentials, a resource of its own (the seed sends none).
        { clientId: 'robot', clientSecret: ROBOT_SECRET, redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'], resource: '/raw/mcp' },
        // A secret but only the code flow.
        { clientId: 'actions', clientSecret: ACTIONS_SECRET, redirectUris: ['https://actions.example/cb'] },
        // Public: token_endpoint_auth_method none, so no secret may authenticate it.
        { clientId: 'public', redirectUris: ['https://public.example/cb'] },
      ],
    },
    // A browser client's origin (the MCP routes' list; the token endpoint's CORS is the provider's).
    cors: { origins: [APP_ORIGIN] },
    servers: { raw: rawStdio() },
  });
});

afterAll(async () => {
  await gw.close();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function asForm(fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gw.base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function asJson(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${gw.base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe('a JSON token request', () => {
  it('gets seed 000 a client_credentials token that opens its resource', async () => {
    const res = await asJson({ grant_type: 'client_credentials', client_id: 'robot', client_secret: ROBOT_SECRET });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    const token = res.body.access_token as string;
    expect(typeof token).toBe('string');
    const call = await rawPost(`${gw.base}/raw/mcp`, INIT(), { authorization: `Bearer ${token}` });
    expect(call.status).toBe(200);
    // Parameters on the media type change nothing.
    const withCharset = await asJson({ grant_type: 'client_credentials', client_id: 'robot', client_secret: ROBOT_SECRET }, { 'content-type': 'application/json; charset=utf-8' });
    expect(withCharset.status).toBe(200);
  });

  // Each case as a form and as JSON: the provider sees the same parameters, so it answers the same.
  const cases: [string, Record<string, string>, Record<string, string>?][] = [
    ['a wrong secret in the body', { grant_type: 'client_credentials', client_id: 'robot', client_secret: 'wrong' }],
    ['a secret for a public client (auth method none)', { grant_type: 'authorization_code', code: 'x', client_id: 'public', client_secret: 'anything' }],
    ['a secret in the body and a Basic header', { grant_type: 'client_credentials', client_id: 'robot', client_secret: ROBOT_SECRET }, { authorization: basic('robot', ROBOT_SECRET) }],
    ['a grant the client may not use', { grant_type: 'client_credentials', client_id: 'actions', client_secret: ACTIONS_SECRET }],
    ['no client authentication', { grant_type: 'client_credentials' }],
    ['no grant_type', { client_id: 'robot', client_secret: ROBOT_SECRET }],
    ['an unknown resource', { grant_type: 'client_credentials', client_id: 'robot', client_secret: ROBOT_SECRET, resource: 'https://elsewhere.example/mcp' }],
  ];
  it.each(cases)('is refused like the same form: %s', async (_name, fields, headers = {}) => {
    const form = await asForm(fields, headers);
    const json = await asJson(fields, headers);
    expect(form.status).toBeGreaterThanOrEqual(400);
    expect(json.body.access_token).toBeUndefined();
    expect({ status: json.status, error: json.body.error, description: json.body.error_description }).toEqual({
      status: form.status,
      error: form.body.error,
      description: form.body.error_description,
    });
  });

  it('never lets a body secret authenticate a public client', async () => {
    const res = await asJson({ grant_type: 'authorization_code', code: 'x', client_id: 'public', client_secret: 'anything' });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  const malformed: [string, string | Uint8Array, RegExp][] = [
    ['an array', '[["grant_type","client_credentials"]]', /object of string parameters/],
    ['a string', '"grant_type=client_credentials"', /object of string parameters/],
    ['null', 'null', /object of string parameters/],
    ['a nested object', JSON.stringify({ grant_type: 'client_credentials', client: { id: 'robot' } }), /"client" must be a string .*an object/],
    ['an array value', JSON.stringify({ grant_type: 'client_credentials', resource: ['a', 'b'] }), /"resource" must be a string .*an array/],
    ['a number value', JSON.stringify({ grant_type: 'client_credentials', expires_in: 5 }), /"expires_in" must be a string .*a number/],
    ['a null value', JSON.stringify({ grant_type: 'client_credentials', scope: null }), /"scope" must be a string .*null/],
    ['a boolean value', JSON.stringify({ grant_type: 'client_credentials', x: true }), /"x" must be a string .*a boolean/],
    ['invalid JSON', '{"grant_type": "client_credentials",', /not valid JSON/],
    ['an empty body', '', /not valid JSON/],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x22, 0x22, 0x7d]), /not valid UTF-8/],
  ];
  it.each(malformed)('with %s is a 400 invalid_request that says why', async (_name, body, description) => {
    const res = await asJson(body, { authorization: basic('robot', ROBOT_SECRET) });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.body.error_description).toMatch(description);
    expect(res.body.access_token).toBeUndefined();
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('is held to the provider\'s body limit, as a form is', async () => {
    const big = { grant_type: 'client_credentials', client_id: 'robot', client_secret: ROBOT_SECRET, pad: 'x'.repeat(60 * 1024) };
    const json = await asJson(big);
    expect(json.status).toBe(400);
    expect(json.body).toMatchObject({ error: 'invalid_request', error_description: expect.stringMatching(/larger than 57344 bytes/) as unknown });
    const form = await asForm(big);
    expect(form.status).toBe(400);
    expect(form.body.error).toBe('invalid_request');
    // Without a Content-Length (chunked), counted as it arrives.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${gw.base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write('{"grant_type":"client_credentials","pad":"');
      for (let i = 0; i < 8; i++) req.write('x'.repeat(8 * 1024));
      req.end('"}');
    });
    expect(chunked.status).toBe(400);
    expect(chunked.body).toMatch(/larger than 57344 bytes/);
  });

  it('leaves the other endpoints to their own body rules', async () => {
    const res = await fetch(`${gw.base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic('robot', ROBOT_SECRET) },
      body: JSON.stringify({ token: 'x' }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toMatch(/only application\/x-www-form-urlencoded/);
  });
});

describe('CORS on our refusals of a JSON token request', () => {
  const CORS_HEADERS = ['access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-credentials', 'vary'];
  const corsOf = (headers: Headers) => Object.fromEntries(CORS_HEADERS.map((name) => [name, headers.get(name)]));
  const post = (contentType: string, body: string, origin: string | undefined) =>
    fetch(`${gw.base}/oauth/token`, { method: 'POST', headers: { 'content-type': contentType, ...(origin === undefined ? {} : { origin }) }, body });
  /** What the provider itself answers a form it cannot read, from this Origin: refused before it knows any client, as ours are. */
  const providerCors = async (origin: string | undefined) => {
    const res = await post('application/x-www-form-urlencoded', `grant_type=client_credentials&pad=${'x'.repeat(60 * 1024)}`, origin);
    expect(res.status).toBe(400);
    await res.body?.cancel();
    return corsOf(res.headers);
  };
  const refusals: [string, string, RegExp][] = [
    ['malformed JSON', '{"grant_type": "client_credentials",', /not valid JSON/],
    ['a member given twice', '{"grant_type":"client_credentials","client_id":"robot","client_id":"public"}', /"client_id" must not be provided twice/],
    ['a body over the limit', JSON.stringify({ grant_type: 'client_credentials', pad: 'x'.repeat(60 * 1024) }), /larger than 57344 bytes/],
  ];
  // An origin of cors.origins, a loopback page, any other site, a sandboxed page, and no Origin (not a browser).
  const origins: (string | undefined)[] = [APP_ORIGIN, 'http://localhost:6274', 'https://elsewhere.example', 'null', undefined];
  it.each(refusals)('%s: the provider\'s CORS answer headers for each Origin, so a page can read the reason', async (_name, body, description) => {
    for (const origin of origins) {
      const res = await post('application/json', body, origin);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error_description: string }).error_description).toMatch(description);
      expect(corsOf(res.headers), String(origin)).toEqual(await providerCors(origin));
    }
    // Spelled out for the allowed origin: the page may read the answer, with no credentials.
    const res = await post('application/json', body, APP_ORIGIN);
    await res.body?.cancel();
    expect(corsOf(res.headers)).toEqual({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-expose-headers': 'WWW-Authenticate',
      'access-control-allow-credentials': null,
      vary: 'Origin',
    });
  });
});

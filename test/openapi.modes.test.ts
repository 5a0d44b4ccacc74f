// The OpenAPI bridge in `auth.mode: tokens` (per-server tokens decide what a document shows
// and what a call may reach), an upstream that dies mid-call (502), and the config rules of
// the ChatGPT client keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/index.js';
import { startModernOnlyServer } from './fixtures/modern-only-server.js';
import { everythingStdio, rawStdio, startTestGateway } from './helpers/gateway.js';

const ALL = 'token-for-every-server-0001';
const ONLY_B = 'token-for-server-b-only-0002';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  gw = await startTestGateway({
    auth: { mode: 'tokens', tokens: [ALL] },
    servers: {
      a: rawStdio({ tools: { allow: ['echo', 'crash'] } }),
      b: rawStdio({ tools: { allow: ['echo'] }, tokens: [ONLY_B, ALL] }),
    },
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const get = (path: string, token?: string) => fetch(`${gw.base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const post = (path: string, body: unknown, token?: string) =>
  fetch(`${gw.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

describe('auth.mode tokens', () => {
  it('needs a token for the document, and shows only the servers the token opens', async () => {
    const none = await get('/openapi.json');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const all = (await (await get('/openapi.json', ALL)).json()) as { paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown> } };
    expect(Object.keys(all.paths).sort()).toEqual(['/api/tools/a__crash', '/api/tools/a__echo', '/api/tools/b__echo']);
    expect(Object.keys(all.components.securitySchemes)).toEqual(['bearer']);
    const onlyB = (await (await get('/openapi.json', ONLY_B)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(onlyB.paths)).toEqual(['/api/tools/b__echo']);
    expect((await get('/a/openapi.json', ONLY_B)).status).toBe(401);
  });

  it('challenges without error= when no credentials were sent (RFC 6750 §3.1), with a quoted error when a bad token was', async () => {
    for (const path of ['/openapi.json', '/a/api/tools/echo']) {
      const bare = path.endsWith('.json') ? await get(path) : await post(path, {});
      expect(bare.status).toBe(401);
      expect(bare.headers.get('www-authenticate')).toBe('Bearer realm="gatehouse"');
      const wrong = path.endsWith('.json') ? await get(path, 'not-a-known-token') : await post(path, {}, 'not-a-known-token');
      expect(wrong.status).toBe(401);
      const challenge = wrong.headers.get('www-authenticate')!;
      expect(challenge).toMatch(/^Bearer realm="gatehouse", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"$/);
    }
  });

  it('refuses a body nested deeper than 64 levels with 400, not 500', async () => {
    const depth = 100_000;
    const deep = `{"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const res = await fetch(`${gw.base}/a/api/tools/echo`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ALL}` }, body: deep });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { title: string }).title).toBe('The body is nested too deeply');
    const fine = `{"x":${'['.repeat(40)}${']'.repeat(40)}}`;
    expect((await fetch(`${gw.base}/a/api/tools/echo`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ALL}` }, body: fine })).status).toBe(200);
  });

  it('lets a per-server token call its server only', async () => {
    const ok = await post('/b/api/tools/echo', { hello: 'b' }, ONLY_B);
    expect(ok.status).toBe(200);
    expect(JSON.stringify(await ok.json())).toContain('hello');
    expect((await post('/api/tools/b__echo', { hello: 'b' }, ONLY_B)).status).toBe(200);
    expect((await post('/a/api/tools/echo', {}, ONLY_B)).status).toBe(401);
    // Through the aggregate route, server a is simply not there for this token.
    expect((await post('/api/tools/a__echo', {}, ONLY_B)).status).toBe(404);
  });

  it('refuses a body that is not JSON (a form or text/plain POST needs no CORS preflight)', async () => {
    const res = await fetch(`${gw.base}/a/api/tools/echo`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${ALL}` }, body: '{}' });
    expect(res.status).toBe(415);
    const form = await fetch(`${gw.base}/a/api/tools/echo`, { method: 'POST', headers: { authorization: `Bearer ${ALL}` }, body: new URLSearchParams({ a: '1' }) });
    expect(form.status).toBe(415);
  });

  it('answers 405 to a GET on a tool and 413 to a body over maxBodySize', async () => {
    const res = await get('/a/api/tools/echo', ALL);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    const big = await post('/a/api/tools/echo', { blob: 'x'.repeat(5 * 1024 * 1024) }, ALL);
    expect(big.status).toBe(413);
  });

  it('answers 502 with a clear problem when the server dies during the call, and recovers', async () => {
    const res = await post('/a/api/tools/crash', {}, ALL);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const body = (await res.json()) as { type: string; title: string; detail: string };
    expect(body.type).toBe('urn:gatehouse:problem:upstream-failure');
    expect(body.detail.length).toBeGreaterThan(0);
    // The supervisor restarts the child; a later call goes through (polled, no timing asserted).
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await post('/a/api/tools/echo', { again: true }, ALL)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});

describe('openapi.callTimeout', () => {
  it('answers 504 when a call takes longer, and defaults to 40 s (under GPT Actions\' 45 s)', async () => {
    const resolved = resolveConfig({ format: 'native', location: 'test', baseDir: process.cwd(), doc: {} }, {});
    expect((resolved.openapi as { callTimeout?: unknown }).callTimeout).toBe(40_000);
    expect(() => resolveConfig({ format: 'native', location: 'test', baseDir: process.cwd(), doc: { openapi: { callTimeout: 'soon' } } }, {})).toThrow(/callTimeout/);
    const quick = await startTestGateway({ openapi: { callTimeout: '300ms' }, servers: { raw: rawStdio() } });
    try {
      const res = await fetch(`${quick.base}/raw/api/tools/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":60000}' });
      expect(res.status).toBe(504);
      expect(((await res.json()) as { type: string }).type).toBe('urn:gatehouse:problem:upstream-timeout');
      const ok = await fetch(`${quick.base}/raw/api/tools/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":1}' });
      expect(ok.status).toBe(200);
    } finally {
      await quick.close();
    }
  });
});

describe('remote upstreams', () => {
  it('calls a tool of a remote server that speaks only 2026-07-28, through the gateway', async () => {
    const remote = await startModernOnlyServer();
    const gw2 = await startTestGateway({ servers: { remote: { url: remote.url }, local: everythingStdio() } });
    try {
      const doc = (await (await fetch(`${gw2.base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/api/tools/remote__test_simple_text');
      const res = await fetch(`${gw2.base}/api/tools/remote__test_simple_text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(['This is a simple text response for testing.']);
    } finally {
      await gw2.close();
      await remote.close();
    }
  });
});

describe('tool filters', () => {
  it('answer 404 for a blocked tool without the server ever seeing the call', async () => {
    const gw5 = await startTestGateway({ servers: { raw: rawStdio({ tools: { block: ['echo'] } }) } });
    const call = (tool: string) => fetch(`${gw5.base}/raw/api/tools/${tool}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    try {
      expect((await call('echo')).status).toBe(404);
      expect((await fetch(`${gw5.base}/api/tools/raw__echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(404);
      const [text] = (await (await call('state')).json()) as [string];
      const seen = (JSON.parse(text) as { tools: string[] }).tools;
      expect(seen).toEqual(['state']);
    } finally {
      await gw5.close();
    }
  });
});

describe('servers that isolate their clients', () => {
  it('give each REST caller a session of its own on sharing: per-session, one for all on shared', async () => {
    const [one, two] = ['caller-one-token-000001', 'caller-two-token-000002'];
    const gw4 = await startTestGateway({
      auth: { mode: 'tokens', tokens: [one, two] },
      servers: { iso: rawStdio({ sharing: 'per-session' }), shared: rawStdio() },
    });
    const pid = async (server: string, token: string) => {
      const res = await fetch(`${gw4.base}/${server}/api/tools/whoami`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{}' });
      expect(res.status).toBe(200);
      const [text] = (await res.json()) as [string];
      return (JSON.parse(text) as { pid: number }).pid;
    };
    try {
      const isoOne = await pid('iso', one);
      expect(await pid('iso', one)).toBe(isoOne);
      expect(await pid('iso', two)).not.toBe(isoOne);
      expect(await pid('shared', two)).toBe(await pid('shared', one));
    } finally {
      await gw4.close();
    }
  });
});

describe('shutdown', () => {
  it('lets a REST call in flight finish before the upstream sessions close', async () => {
    const gw3 = await startTestGateway({ servers: { raw: rawStdio() } });
    const call = fetch(`${gw3.base}/raw/api/tools/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms":400}' });
    // Close once the call has reached the server (its state lists it as started).
    for (let i = 0; i < 100; i++) {
      const [text] = (await (await fetch(`${gw3.base}/raw/api/tools/state`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as [string];
      if ((JSON.parse(text) as { started: unknown[] }).started.length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const closed = gw3.close();
    const res = await call;
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('400');
    await closed;
  });
});

describe('config of the ChatGPT client keys', () => {
  const resolve = (client: Record<string, unknown>) =>
    resolveConfig(
      { format: 'native', location: 'test', baseDir: process.cwd(), doc: { auth: { mode: 'oauth', clients: [{ clientId: 'c', redirectUris: ['https://x.example/cb'], ...client }] } } },
      {},
    );

  it('refuses requirePkce: false for a client without a secret', () => {
    expect(() => resolve({ requirePkce: false })).toThrow(/auth\.clients\[0\]\.requirePkce: only a confidential client/);
    expect(() => resolve({ requirePkce: false, clientSecret: 's3cret-s3cret' })).not.toThrow();
  });

  it('refuses at start a resource that the gateway does not protect', async () => {
    const client = { clientId: 'c', clientSecret: 's3cret-s3cret', redirectUris: ['https://x.example/cb'], resource: '/api' };
    await expect(startTestGateway({ store: 'memory', openapi: { enabled: false }, auth: { mode: 'oauth', clients: [client] }, servers: { a: rawStdio() } })).rejects.toThrow(
      /resource \/api is not a protected resource/,
    );
  });

  it('takes resource as a path or an absolute URL', () => {
    expect(resolve({ resource: '/api' }).auth.clients[0]!.resource).toBe('/api');
    expect(() => resolve({ resource: 'api' })).toThrow(/resource/);
  });
});

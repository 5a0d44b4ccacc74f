// CORS on the MCP routes and the REST bridge (docs/decisions/0015-cors.md): browser-based
// MCP clients (ChatGPT connectors, claude.ai, the MCP Inspector) get their preflights answered
// and may read every answer, 401s included; any other origin gets nothing, and a loopback bind
// still refuses it (DNS rebinding). Raw HTTP, so Host, Origin and OPTIONS are ours to set.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../src/config/index.js';
import { createCorsPolicy } from '../src/http/index.js';
import { INIT, rawStdio, startTestGateway } from './helpers/gateway.js';

const TOKEN = 'cors-test-token-0123456789';
const PUBLIC = 'https://mcp.example.com';
const CHATGPT = 'https://chatgpt.com';
const EVIL = 'https://evil.example';
const MCP_HEADERS = ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'accept'];

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP exchange (node:http lets us set Host and send OPTIONS as they are). */
function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const preflight = (port: number, path: string, origin: string | undefined, extra: Record<string, string> = {}) =>
  send(port, 'OPTIONS', path, {
    ...(origin === undefined ? {} : { origin }),
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type, mcp-protocol-version, mcp-session-id',
    ...extra,
  });

const initialize = (port: number, path: string, headers: Record<string, string>) =>
  send(port, 'POST', path, { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, JSON.stringify(INIT()));

const list = (v: string | string[] | undefined) => String(v ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

/** A granted preflight, as a browser needs it; never credentials. */
function expectGranted(a: Answer, origin: string, methods: string): void {
  expect(a.status).toBe(204);
  expect(a.headers['access-control-allow-origin']).toBe(origin);
  expect(a.headers['access-control-allow-methods']).toBe(methods);
  expect(list(a.headers['access-control-allow-headers'])).toEqual(expect.arrayContaining(MCP_HEADERS));
  expect(Number(a.headers['access-control-max-age'])).toBeGreaterThan(0);
  expect(list(a.headers.vary)).toContain('origin');
  expect(a.headers['access-control-allow-credentials']).toBeUndefined();
}

/** What a browser needs on a real answer to read it, its session id and its challenge. */
function expectReadable(a: Answer, origin: string): void {
  expect(a.headers['access-control-allow-origin']).toBe(origin);
  expect(list(a.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['mcp-session-id', 'www-authenticate']));
  expect(list(a.headers.vary)).toContain('origin');
  expect(a.headers['access-control-allow-credentials']).toBeUndefined();
}

function expectNoCors(a: Answer): void {
  for (const name of Object.keys(a.headers)) expect(name.startsWith('access-control-'), name).toBe(false);
}

describe('loopback bind with publicUrl (the usual tunnel setup)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ publicUrl: PUBLIC, auth: { mode: 'tokens', tokens: [TOKEN] }, servers: { raw: rawStdio() } });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('answers a preflight from chatgpt.com on /mcp, through the tunnel (Host = publicUrl) and direct', async () => {
    for (const host of [new URL(PUBLIC).host, `127.0.0.1:${gw.port}`]) {
      expectGranted(await preflight(gw.port, '/mcp', CHATGPT, { host }), CHATGPT, 'GET, POST, DELETE, OPTIONS');
    }
  });

  it('answers preflights on every MCP route and the REST bridge, with the methods each takes', async () => {
    const routes: [string, string][] = [
      ['/raw/mcp', 'GET, POST, DELETE, OPTIONS'],
      ['/sse', 'GET, OPTIONS'],
      ['/raw/sse', 'GET, OPTIONS'],
      ['/message', 'POST, OPTIONS'],
      ['/raw/messages', 'POST, OPTIONS'],
      ['/mcp/sse', 'GET, OPTIONS'],
      ['/api/tools/raw__echo', 'POST, OPTIONS'],
      ['/raw/api/tools/echo', 'POST, OPTIONS'],
    ];
    for (const [path, methods] of routes) expectGranted(await preflight(gw.port, path, 'https://claude.ai'), 'https://claude.ai', methods);
  });

  it('varies a preflight on what it reflects (Origin and the requested headers), not on Origin alone', async () => {
    const a = await preflight(gw.port, '/raw/mcp', CHATGPT);
    expect(list(a.headers.vary)).toEqual(expect.arrayContaining(['origin', 'access-control-request-headers']));
  });

  it('adds any other header the allowed page asks to send, and answers Private Network Access', async () => {
    const a = await preflight(gw.port, '/mcp', CHATGPT, { 'access-control-request-headers': 'content-type, x-custom-trace', 'access-control-request-private-network': 'true' });
    expectGranted(a, CHATGPT, 'GET, POST, DELETE, OPTIONS');
    expect(list(a.headers['access-control-allow-headers'])).toContain('x-custom-trace');
    expect(a.headers['access-control-allow-private-network']).toBe('true');
  });

  it('lets chatgpt.com read a 401 and its challenge (was 403), then the session id once it has a token', async () => {
    const denied = await initialize(gw.port, '/mcp', { origin: CHATGPT, host: new URL(PUBLIC).host });
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toMatch(/^Bearer /);
    expectReadable(denied, CHATGPT);

    const ok = await initialize(gw.port, '/mcp', { origin: CHATGPT, host: new URL(PUBLIC).host, authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['mcp-session-id']).toBeTruthy();
    expectReadable(ok, CHATGPT);
  });

  it('admits publicUrl’s own origin and loopback origins of any port (the MCP Inspector)', async () => {
    for (const origin of [PUBLIC, 'http://localhost:6274', 'http://127.0.0.1:6274', 'http://[::1]:8080']) {
      expectGranted(await preflight(gw.port, '/mcp', origin), origin, 'GET, POST, DELETE, OPTIONS');
      const a = await initialize(gw.port, '/raw/mcp', { origin, authorization: `Bearer ${TOKEN}` });
      expect(a.status, origin).toBe(200);
      expectReadable(a, origin);
    }
  });

  it('lets the REST bridge be read from an allowed origin: 401 with its challenge, 200 with the result', async () => {
    const call = (headers: Record<string, string>) =>
      send(gw.port, 'POST', '/api/tools/raw__echo', { 'content-type': 'application/json', origin: CHATGPT, ...headers }, '{"message":"hi"}');
    const denied = await call({});
    expect(denied.status).toBe(401);
    expect(denied.headers['www-authenticate']).toMatch(/^Bearer /);
    expectReadable(denied, CHATGPT);
    const ok = await call({ authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('hi');
    expectReadable(ok, CHATGPT);
  });

  it('still refuses a foreign Origin with 403 and no CORS headers: preflight, MCP call with a valid token, REST call', async () => {
    for (const origin of [EVIL, 'https://chatgpt.com.evil.example', 'http://chatgpt.com', 'https://chatgpt.com:8443']) {
      const pre = await preflight(gw.port, '/mcp', origin);
      expect(pre.status, origin).toBe(403);
      expectNoCors(pre);
      const post = await initialize(gw.port, '/mcp', { origin, authorization: `Bearer ${TOKEN}` });
      expect(post.status, origin).toBe(403);
      expectNoCors(post);
      const rest = await send(gw.port, 'POST', '/api/tools/raw__echo', { 'content-type': 'application/json', origin, authorization: `Bearer ${TOKEN}` }, '{}');
      expect(rest.status, origin).toBe(403);
      expectNoCors(rest);
    }
  });

  it('still refuses a rebound Host name, even with an allowed Origin', async () => {
    const a = await initialize(gw.port, '/mcp', { host: 'evil.example', origin: CHATGPT, authorization: `Bearer ${TOKEN}` });
    expect(a.status).toBe(403);
    expect(a.body).toContain('Host');
    expect((await preflight(gw.port, '/mcp', CHATGPT, { host: 'evil.example' })).status).toBe(403);
  });

  it('grants nothing to Origin: null (sandboxed and file: pages)', async () => {
    const pre = await preflight(gw.port, '/mcp', 'null');
    expect(pre.status).toBe(403);
    expectNoCors(pre);
    const post = await initialize(gw.port, '/raw/mcp', { origin: 'null', authorization: `Bearer ${TOKEN}` });
    expectNoCors(post);
  });

  it('adds no CORS headers for a caller without Origin (curl, server-side clients), and answers a plain OPTIONS with Allow', async () => {
    const a = await initialize(gw.port, '/raw/mcp', { authorization: `Bearer ${TOKEN}` });
    expect(a.status).toBe(200);
    expectNoCors(a);
    const options = await send(gw.port, 'OPTIONS', '/mcp');
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('GET, POST, DELETE, OPTIONS');
    expectNoCors(options);
  });

  it('keeps the other routes to the loopback guard as it was: cors.origins open the MCP and REST routes only', async () => {
    const a = await send(gw.port, 'GET', '/healthz', { origin: CHATGPT });
    expect(a.status).toBe(403);
    expectNoCors(a);
  });
});

describe('auth.mode none (a Claude Desktop file converts to it)', () => {
  // Nothing but the rebinding guard stands between a page and the tools there, so the listed
  // origins get nothing; the gateway's own and loopback origins stay as they always were.
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ auth: { mode: 'none' }, servers: { raw: rawStdio() } });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('refuses claude.ai and chatgpt.com on a loopback bind: no session, no CORS headers', async () => {
    for (const origin of ['https://claude.ai', CHATGPT]) {
      const call = await initialize(gw.port, '/raw/mcp', { origin });
      expect(call.status).toBe(403);
      expect(call.headers['mcp-session-id']).toBeUndefined();
      expectNoCors(call);
      const pre = await preflight(gw.port, '/raw/mcp', origin);
      expect(pre.status).toBe(403);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('still serves a loopback page (the MCP Inspector) and callers without Origin', async () => {
    const inspector = await initialize(gw.port, '/raw/mcp', { origin: 'http://localhost:6274' });
    expect(inspector.status).toBe(200);
    expectReadable(inspector, 'http://localhost:6274');
    expect((await initialize(gw.port, '/raw/mcp', {})).status).toBe(200);
  });
});

describe('non-loopback bind', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ listen: '0.0.0.0:0', auth: { mode: 'tokens', tokens: [TOKEN] }, servers: { raw: rawStdio() } });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('answers a preflight from an allowed origin (was 405)', async () => {
    expectGranted(await preflight(gw.port, '/mcp', CHATGPT), CHATGPT, 'GET, POST, DELETE, OPTIONS');
    expectGranted(await preflight(gw.port, '/api/tools/raw__echo', CHATGPT), CHATGPT, 'POST, OPTIONS');
  });

  it('lets an allowed origin read the 401 and the session id', async () => {
    const denied = await initialize(gw.port, '/mcp', { origin: 'https://claude.ai' });
    expect(denied.status).toBe(401);
    expectReadable(denied, 'https://claude.ai');
    const ok = await initialize(gw.port, '/raw/mcp', { origin: 'https://claude.ai', authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.headers['mcp-session-id']).toBeTruthy();
    expectReadable(ok, 'https://claude.ai');
  });

  it('refuses a foreign preflight, and lets a foreign page read nothing (the bearer token is what guards the call)', async () => {
    const pre = await preflight(gw.port, '/mcp', EVIL);
    expect(pre.status).toBe(403);
    expectNoCors(pre);
    const denied = await initialize(gw.port, '/mcp', { origin: EVIL });
    expect(denied.status).toBe(401);
    expectNoCors(denied);
  });
});

describe('cors.origins', () => {
  it('replaces the default list: only the configured origins (and publicUrl, loopback) pass a loopback bind', async () => {
    const gw = await startTestGateway({ cors: { origins: ['https://app.example.com:8443/'] }, servers: { raw: rawStdio() } });
    try {
      expectGranted(await preflight(gw.port, '/raw/mcp', 'https://app.example.com:8443'), 'https://app.example.com:8443', 'GET, POST, DELETE, OPTIONS');
      const ok = await initialize(gw.port, '/raw/mcp', { origin: 'https://app.example.com:8443' });
      expect(ok.status).toBe(200);
      expectReadable(ok, 'https://app.example.com:8443');
      for (const origin of [CHATGPT, 'https://app.example.com']) {
        expect((await preflight(gw.port, '/raw/mcp', origin)).status, origin).toBe(403);
        expect((await initialize(gw.port, '/raw/mcp', { origin })).status, origin).toBe(403);
      }
    } finally {
      await gw.close();
    }
  });

  it('defaults to chatgpt.com, claude.ai and claude.com (none with auth.mode none), normalised as a browser sends them', () => {
    const resolve = (doc: Record<string, unknown>) => resolveConfig({ format: 'native', location: 'test', baseDir: process.cwd(), doc }, {});
    const tokens = { auth: { mode: 'tokens', tokens: [TOKEN] } };
    expect(resolve(tokens).cors.origins).toEqual(['https://chatgpt.com', 'https://claude.ai', 'https://claude.com']);
    expect(resolve({ auth: { mode: 'none' } }).cors.origins).toEqual([]);
    // A list the operator writes is used as written, whatever the auth mode.
    expect(resolve({ auth: { mode: 'none' }, cors: { origins: ['HTTPS://App.Example.com:443'] } }).cors.origins).toEqual(['https://app.example.com']);
    expect(resolve({ ...tokens, cors: { origins: [] } }).cors.origins).toEqual([]);
  });

  it('refuses anything that is not an origin, naming each entry', () => {
    const bad = ['*', 'https://*.example.com', 'https://example.com/path', 'null', 'ftp://example.com', 'example.com'];
    try {
      resolveConfig({ format: 'native', location: 'test', baseDir: process.cwd(), doc: { cors: { origins: bad } } }, {});
      expect.unreachable('resolveConfig accepted bad origins');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const paths = (err as ConfigError).issues.map((i) => i.path);
      expect(paths).toEqual(bad.map((_, i) => `cors.origins[${i}]`));
    }
  });
});

describe('the origin rule', () => {
  const policy = createCorsPolicy(['https://chatgpt.com'], 'https://mcp.example.com/base');
  it('takes listed origins, publicUrl’s origin and loopback hosts as they are, on any port', () => {
    for (const origin of ['https://chatgpt.com', 'https://mcp.example.com', 'http://localhost:6274', 'https://localhost', 'http://127.0.0.1:3000', 'http://127.9.9.9', 'http://[::1]:6274']) {
      expect(policy.allows(origin), origin).toBe(true);
    }
  });
  it('takes nothing that only looks like one', () => {
    for (const origin of [
      'https://chatgpt.com.evil.example', 'https://evil.example', 'http://chatgpt.com', 'https://chatgpt.com:444',
      'http://127.0.0.1.dead.beef', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example', 'http://mcp.example.com',
      'null', '', 'file://', 'chrome-extension://abc', 'not a url',
    ]) {
      expect(policy.allows(origin), origin).toBe(false);
    }
  });
});

// A gateway without credentials (auth.mode none) on a non-loopback bind: a container that binds
// 0.0.0.0 and is published on the host's loopback, or a LAN box. Nothing but the Host and Origin
// headers stands between a web page (by DNS rebinding, or cross-origin) and the tools there, so
// the MCP and REST routes refuse every foreign Origin whatever the bind, and check Host where the
// gateway knows its names (docs/decisions/0015-cors.md, "auth.mode none on any bind"). Real
// gateways on 0.0.0.0, reached on 127.0.0.1 with the Host and Origin a client would send.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { INIT, rawStdio, startTestGateway } from './helpers/gateway.js';

const PUBLIC = 'https://mcp.example.com';
const EVIL = 'https://evil.example';
const TOKEN = 'open-bind-test-token-0123456789';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP exchange to 127.0.0.1 (node:http lets us set Host as a client elsewhere would send it). */
function send(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const all = body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = request({ host: '127.0.0.1', port, method, path, headers: all }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const initialize = (port: number, path: string, headers: Record<string, string> = {}) =>
  send(port, 'POST', path, { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, JSON.stringify(INIT()));

const restCall = (port: number, headers: Record<string, string> = {}) =>
  send(port, 'POST', '/api/tools/raw__echo', { 'content-type': 'application/json', ...headers }, '{"message":"hi"}');

/** Opens the legacy SSE stream with these headers and returns the endpoint it names, and a way to close it. */
function openSse(port: number, headers: Record<string, string>): Promise<{ endpoint: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'GET', path: '/raw/sse', headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`GET /raw/sse: ${res.statusCode}`));
        res.resume();
        return;
      }
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        const m = /event: endpoint\ndata: (\S+)/.exec(text);
        if (m) resolve({ endpoint: m[1]!, close: () => req.destroy() });
      });
      res.on('error', () => undefined);
    });
    req.on('error', () => undefined);
    req.end();
  });
}

function expectNoCors(a: Answer): void {
  for (const name of Object.keys(a.headers)) expect(name.startsWith('access-control-'), name).toBe(false);
}

describe('auth.mode none on 0.0.0.0 without publicUrl', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ listen: '0.0.0.0:0', auth: { mode: 'none' }, servers: { raw: rawStdio() } });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('refuses a foreign Origin with 403 and no CORS headers on the MCP routes, the legacy pair and the REST bridge (was 200)', async () => {
    // A rebound page's POST is same-origin, and a browser sends Origin with it all the same.
    for (const origin of [EVIL, 'http://evil.example:8080', 'null', 'https://claude.ai']) {
      for (const path of ['/mcp', '/raw/mcp']) {
        const a = await initialize(gw.port, path, { origin, host: 'evil.example:8080' });
        expect(a.status, `${origin} ${path}`).toBe(403);
        expect(a.headers['mcp-session-id']).toBeUndefined();
        expect(a.body).toContain('Origin');
        expectNoCors(a);
      }
      expect((await restCall(gw.port, { origin })).status, origin).toBe(403);
      expect((await send(gw.port, 'POST', '/message?sessionId=x', { origin, 'content-type': 'application/json' }, '{}')).status, origin).toBe(403);
      expect((await send(gw.port, 'GET', '/sse', { origin, accept: 'text/event-stream' })).status, origin).toBe(403);
      const pre = await send(gw.port, 'OPTIONS', '/mcp', { origin, 'access-control-request-method': 'POST' });
      expect(pre.status, origin).toBe(403);
      expectNoCors(pre);
    }
  });

  it('serves a request without Origin (curl, server-side clients) by any Host: an interface address, a compose service name', async () => {
    for (const host of ['10.0.0.5:8080', `127.0.0.1:${gw.port}`, 'gatehouse:8080', '[fd00::5]:8080']) {
      const a = await initialize(gw.port, '/raw/mcp', { host });
      expect(a.status, host).toBe(200);
      expect(a.headers['mcp-session-id']).toBeTruthy();
      expectNoCors(a);
    }
    const rest = await restCall(gw.port, { host: '10.0.0.5:8080' });
    expect(rest.status).toBe(200);
    expect(rest.body).toContain('hi');
  });

  it('serves a loopback page (the MCP Inspector) and lets it read the answer', async () => {
    for (const origin of ['http://localhost:6274', 'http://127.0.0.1:6274', 'http://[::1]:6274']) {
      const a = await initialize(gw.port, '/raw/mcp', { origin });
      expect(a.status, origin).toBe(200);
      expect(a.headers['access-control-allow-origin']).toBe(origin);
    }
    expect((await restCall(gw.port, { origin: 'http://localhost:6274' })).status).toBe(200);
  });

  it('lets a rebound page open the legacy stream (a same-origin GET carries no Origin) but not post to it, not even from a sandboxed frame (Origin: null, text/plain)', async () => {
    // Host is not checked here (no publicUrl, wildcard bind), so the rebound GET gets its session.
    const sse = await openSse(gw.port, { host: 'evil.example:8080' });
    try {
      const path = new URL(sse.endpoint).pathname + new URL(sse.endpoint).search;
      const message = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
      for (const origin of ['http://evil.example:8080', 'null']) {
        const a = await send(gw.port, 'POST', path, { host: 'evil.example:8080', origin, 'content-type': 'text/plain' }, message);
        expect(a.status, origin).toBe(403);
      }
      // The same session, posted to without Origin (a non-browser client), is served: the refusals above were the guard's.
      const ok = await send(gw.port, 'POST', path, { 'content-type': 'application/json' }, JSON.stringify(INIT()));
      expect(ok.status).toBe(202);
    } finally {
      sse.close();
    }
  });

  it('keeps the other routes as they were: /healthz answers a foreign Origin', async () => {
    expect((await send(gw.port, 'GET', '/healthz', { origin: EVIL, host: 'evil.example' })).status).toBe(200);
  });
});

describe('auth.mode none on 0.0.0.0 with publicUrl and cors.origins', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      listen: '0.0.0.0:0',
      publicUrl: PUBLIC,
      auth: { mode: 'none' },
      cors: { origins: ['https://app.example.com'] },
      servers: { raw: rawStdio() },
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  it('admits publicUrl’s origin, a listed origin and a loopback origin, and refuses any other', async () => {
    for (const origin of [PUBLIC, 'https://app.example.com', 'http://localhost:6274']) {
      const a = await initialize(gw.port, '/raw/mcp', { origin, host: new URL(PUBLIC).host });
      expect(a.status, origin).toBe(200);
      expect(a.headers['access-control-allow-origin']).toBe(origin);
    }
    for (const origin of [EVIL, 'http://mcp.example.com', 'https://app.example.com:8443']) {
      expect((await initialize(gw.port, '/raw/mcp', { origin, host: new URL(PUBLIC).host })).status, origin).toBe(403);
    }
  });

  it('refuses a rebound Host name even without Origin (a rebound page’s GET sends none), and serves IP literals, loopback and publicUrl’s host', async () => {
    for (const host of ['evil.example:8080', 'mcp.example.com.evil.example', 'gatehouse:8080']) {
      const a = await initialize(gw.port, '/raw/mcp', { host });
      expect(a.status, host).toBe(403);
      expect(a.body).toContain('Host');
      expect((await send(gw.port, 'GET', '/openapi.json', { host })).status, host).toBe(403);
    }
    for (const host of ['10.0.0.5:8080', '[fd00::5]:8080', `127.0.0.1:${gw.port}`, `localhost:${gw.port}`, 'mcp.example.com']) {
      expect((await initialize(gw.port, '/raw/mcp', { host })).status, host).toBe(200);
    }
    expect((await send(gw.port, 'GET', '/openapi.json', { host: '10.0.0.5:8080' })).status).toBe(200);
  });
});

describe('tokens and oauth on 0.0.0.0: unchanged, the credential guards the call', () => {
  let tokens: Gateway;
  let oauth: Gateway;
  beforeAll(async () => {
    [tokens, oauth] = await Promise.all([
      startTestGateway({ listen: '0.0.0.0:0', auth: { mode: 'tokens', tokens: [TOKEN] }, servers: { raw: rawStdio() } }),
      startTestGateway({
        listen: '0.0.0.0:0',
        store: 'memory',
        auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword('alice password, long enough') } } },
        servers: { raw: rawStdio() },
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([tokens?.close(), oauth?.close()]);
  });

  it('tokens: a foreign Origin and a rebound Host are no refusal reason; a token gets 200, none gets 401', async () => {
    const headers = { origin: EVIL, host: 'evil.example:8080' };
    const ok = await initialize(tokens.port, '/raw/mcp', { ...headers, authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expectNoCors(ok);
    expect((await initialize(tokens.port, '/raw/mcp', headers)).status).toBe(401);
    expect((await restCall(tokens.port, headers)).status).toBe(401);
  });

  it('oauth: a foreign Origin without a token gets the 401 challenge, not 403', async () => {
    const a = await initialize(oauth.port, '/mcp', { origin: EVIL, host: 'evil.example:8080' });
    expect(a.status).toBe(401);
    expect(a.headers['www-authenticate']).toMatch(/^Bearer /);
    expectNoCors(a);
  });
});

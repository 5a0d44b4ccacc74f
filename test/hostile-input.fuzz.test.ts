// Generated hostile input against the inbound routes: JSON-RPC bodies and headers on the MCP
// and legacy SSE message routes, REST calls, and OAuth parameters on the authorization server's
// endpoints. Whatever comes, the answer is a clear client error or a normal answer: never a 5xx,
// never a hang, never a body that says it is JSON and is not; an authorization request never
// sends the browser anywhere but the client's registered redirect URI; and the gateway keeps
// serving a session that was opened before (DESIGN.md: bad input gets a clear error and the
// process keeps running). The generator is seeded: a failure names the seed and the case, so
// it can be replayed with FUZZ_SEED.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generator } from './helpers/fuzz.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const CASES = Number(process.env.FUZZ_CASES ?? 300);

type Gen = ReturnType<typeof generator>;

const STRINGS = ['', ' ', 'echo', 'tools/call', '__proto__', 'constructor', '../../etc/passwd', '%00', '\u0000', '\ud800', '😀', '\r\n', 'a'.repeat(2000), '<script>', 'null', '2025-06-18', 'http://169.254.169.254/'];
const NUMBERS = [0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER + 2];

function randomValue(g: Gen, depth = 0): unknown {
  switch (g.int(depth > 3 ? 5 : 7)) {
    case 0:
      return null;
    case 1:
      return g.chance(0.5);
    case 2:
      return g.pick(NUMBERS);
    case 3:
      return g.pick(STRINGS);
    case 4:
      return String.fromCharCode(...Array.from({ length: g.int(20) }, () => g.int(0x3000)));
    case 5:
      return Array.from({ length: g.int(4) }, () => randomValue(g, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = g.int(4); i > 0; i--) o[g.pick(['id', 'method', 'params', 'jsonrpc', 'result', 'error', '_meta', 'name', 'arguments', 'uri', g.pick(STRINGS)])] = randomValue(g, depth + 1);
      return o;
    }
  }
}

/** Well-formed messages of every kind a client sends, to be bent by `mutate`. */
function templates(id: number): Record<string, unknown>[] {
  return [
    INIT(),
    { jsonrpc: '2.0', id, method: 'tools/list' },
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } },
    { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' }, _meta: { progressToken: 'p' } } },
    { jsonrpc: '2.0', id, method: 'resources/list', params: { cursor: 'c' } },
    { jsonrpc: '2.0', id, method: 'resources/read', params: { uri: 'test://static-text' } },
    { jsonrpc: '2.0', id, method: 'resources/subscribe', params: { uri: 'test://static-text' } },
    { jsonrpc: '2.0', id, method: 'prompts/get', params: { name: 'p', arguments: { a: 'b' } } },
    { jsonrpc: '2.0', id, method: 'completion/complete', params: { ref: { type: 'ref/prompt', name: 'p' }, argument: { name: 'a', value: 'b' } } },
    { jsonrpc: '2.0', id, method: 'logging/setLevel', params: { level: 'debug' } },
    { jsonrpc: '2.0', id, method: 'ping' },
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason: 'x' } },
    { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p', progress: 1 } },
    { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
    { jsonrpc: '2.0', id, result: { roots: [] } },
    { jsonrpc: '2.0', id, error: { code: -32601, message: 'no' } },
  ];
}

function mutate(g: Gen, message: Record<string, unknown>): unknown {
  const m: Record<string, unknown> = structuredClone(message);
  for (let n = 1 + g.int(3); n > 0; n--) {
    const params = (typeof m.params === 'object' && m.params !== null ? m.params : undefined) as Record<string, unknown> | undefined;
    switch (g.int(7)) {
      case 0:
        m[g.pick(['id', 'method', 'params', 'jsonrpc', 'result', 'error'])] = randomValue(g);
        break;
      case 1:
        delete m[g.pick(Object.keys(m))];
        break;
      case 2:
        if (params) params[g.pick([...Object.keys(params), '_meta', 'name', 'arguments', 'uri', 'progressToken'])] = randomValue(g);
        break;
      case 3:
        m.id = g.pick([null, true, [], {}, 1.5, -1, 2 ** 60, '', 'x'.repeat(500), g.int(5)]);
        break;
      case 4:
        m.method = g.pick([...STRINGS, 'initialize', 'notifications/initialized', 'sampling/createMessage', 'tools/call', 'resources/unsubscribe', 12, null]);
        break;
      case 5: {
        // The stateless 2026-07-28 revision: the version claimed in each request's _meta.
        const p = (params && !Array.isArray(params) ? params : (m.params = {}));
        p._meta = {
          progressToken: randomValue(g),
          'io.modelcontextprotocol/protocolVersion': g.pick(['2026-07-28', '2026-07-28', '2025-06-18', 'x', 5]),
          'io.modelcontextprotocol/clientInfo': g.chance(0.5) ? { name: 'fuzz', version: '1' } : randomValue(g),
          'io.modelcontextprotocol/clientCapabilities': g.chance(0.5) ? {} : randomValue(g),
        };
        break;
      }
      default:
        if (params && typeof params.arguments === 'object' && params.arguments !== null) (params.arguments as Record<string, unknown>).text = randomValue(g);
    }
  }
  return m;
}

/** A request body: mutated messages, batches, random JSON, or text that is not JSON. */
function body(g: Gen, id: number): string {
  switch (g.int(6)) {
    case 0:
      return JSON.stringify(randomValue(g));
    case 1:
      return JSON.stringify(Array.from({ length: g.int(5) }, (_, i) => mutate(g, g.pick(templates(id * 10 + i)))));
    case 2: {
      const text = JSON.stringify(mutate(g, g.pick(templates(id))));
      return g.pick([text.slice(0, g.int(text.length)), `${text}garbage`, `\ufeff${text}`, text.replace(/"/g, "'"), '['.repeat(5000), `{"__proto__":{"polluted":1},"jsonrpc":"2.0","id":${id},"method":"ping"}`]);
    }
    default:
      return JSON.stringify(mutate(g, g.pick(templates(id))));
  }
}

interface Answer {
  readonly status: number;
  readonly type: string;
  readonly text: string;
  readonly location: string | undefined;
}

/** One request on its own connection, from `localAddress` (the rate limits count per address). */
function send(url: string, method: string, headers: Record<string, string>, payload: string | undefined, localAddress?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, localAddress, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8'), location: res.headers.location }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(payload);
  });
}

/** What is wrong with an answer, or undefined. */
function judge(a: Answer): string | undefined {
  if (a.status >= 500) return `HTTP ${a.status}: ${a.text.slice(0, 200)}`;
  if (a.type.includes('application/json') && a.text !== '') {
    try {
      const parsed = JSON.parse(a.text) as unknown;
      if (a.status >= 400 && (typeof parsed !== 'object' || parsed === null || !('error' in parsed))) return `HTTP ${a.status} without an error member: ${a.text.slice(0, 200)}`;
    } catch {
      return `HTTP ${a.status} says JSON but is not: ${a.text.slice(0, 200)}`;
    }
  }
  return undefined;
}

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('generated hostile input', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let victim: string;

  beforeAll(async () => {
    gw = await startTestGateway({ maxBodySize: '64kb', servers: { raw: rawStdio(), other: rawStdio() } });
    const opened = await rawPost(`${gw.base}/raw/mcp`, INIT());
    expect(opened.status).toBe(200);
    victim = opened.headers.get('mcp-session-id')!;
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  it(`MCP and legacy SSE routes: ${CASES} generated requests (seed ${SEED}) each get an answer that is not a 5xx, and an earlier session keeps working`, async () => {
    const g = generator(SEED);
    const fuzzed = await rawPost(`${gw.base}/raw/mcp`, INIT());
    const session = fuzzed.headers.get('mcp-session-id')!;
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const payload = body(g, i + 1);
      const headers: Record<string, string> = { ...MCP_HEADERS };
      if (g.chance(0.75)) headers['mcp-session-id'] = session;
      else if (g.chance(0.5)) headers['mcp-session-id'] = g.pick(['', 'x', 'a'.repeat(300), session.toUpperCase(), `${session} `]);
      if (g.chance(0.2)) headers['mcp-protocol-version'] = g.pick(['2025-06-18', '2025-03-26', '2026-07-28', '2024-11-05', 'x', '9999-12-31']);
      if (g.chance(0.1)) headers['content-type'] = g.pick(['text/plain', 'application/json; charset=latin1', 'application/jsonx', 'multipart/form-data; boundary=x']);
      if (g.chance(0.1)) headers.accept = g.pick(['text/html', '*/*', 'application/json', 'text/event-stream;q=0', '']);
      const route = g.pick(['/raw/mcp', '/raw/mcp', '/raw/mcp', '/mcp', '/other/mcp', '/raw/message?sessionId=' + g.pick(['', 'nope', session])]);
      try {
        const answer = await send(`${gw.base}${route}`, 'POST', headers, payload);
        const wrong = judge(answer);
        if (wrong) failures.push(`case ${i} POST ${route} ${JSON.stringify(headers)} ${payload.slice(0, 300)} -> ${wrong}`);
      } catch (err) {
        failures.push(`case ${i} POST ${route} ${payload.slice(0, 300)} -> ${(err as Error).message}`);
      }
    }
    expect(failures.slice(0, 5), `seed ${SEED}: ${failures.length} of ${CASES} cases failed`).toEqual([]);

    // The session opened before the storm still works, and so does the process.
    const call = await rawPost(`${gw.base}/raw/mcp`, { jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name: 'echo', arguments: { text: 'still here' } } }, { 'mcp-session-id': victim, 'mcp-protocol-version': '2025-06-18' });
    expect(call.status).toBe(200);
    expect(JSON.stringify(call.json)).toContain('still here');
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  }, 120_000);

  it(`REST routes: ${CASES} generated tool calls each get an answer that is not a 5xx`, async () => {
    const g = generator(SEED + 1);
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const path = g.pick(['/raw/api/tools/echo', '/raw/api/tools/echo', '/raw/api/tools/' + encodeURIComponent(String(g.pick(STRINGS)).replace(/[\ud800-\udfff]/g, '?')), '/api/tools/call/raw__echo', '/raw/openapi.json']);
      const payload = g.chance(0.7) ? JSON.stringify(g.chance(0.5) ? { text: randomValue(g) } : randomValue(g)) : String(g.pick(STRINGS));
      const headers = { 'content-type': g.chance(0.85) ? 'application/json' : g.pick(['text/plain', 'application/x-www-form-urlencoded']) };
      try {
        const answer = await send(`${gw.base}${path}`, path.endsWith('.json') ? 'GET' : 'POST', headers, path.endsWith('.json') ? undefined : payload);
        const wrong = judge(answer);
        if (wrong) failures.push(`case ${i} ${path} ${payload.slice(0, 300)} -> ${wrong}`);
      } catch (err) {
        failures.push(`case ${i} ${path} ${payload.slice(0, 300)} -> ${(err as Error).message}`);
      }
    }
    expect(failures.slice(0, 5), `seed ${SEED + 1}: ${failures.length} of ${CASES} cases failed`).toEqual([]);
  }, 120_000);
});

describe('generated hostile OAuth parameters', () => {
  const REDIRECT = 'https://app.example/cb';
  const ROBOT_REDIRECT = 'https://robot.example/cb';
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    gw = await startTestGateway({
      store: 'memory',
      auth: {
        mode: 'oauth',
        clients: [
          { clientId: 'app', redirectUris: [REDIRECT] },
          { clientId: 'robot', clientSecret: 'robot-secret-0123456789abcdefghijkl', redirectUris: [ROBOT_REDIRECT], grants: ['client_credentials'], resource: '/raw/mcp' },
        ],
      },
      servers: { raw: rawStdio() },
    });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  it('refuses a registration whose grant_types or response_types is not a list of strings as invalid_client_metadata (was a 500)', async () => {
    for (const field of ['grant_types', 'response_types']) {
      for (const value of ['authorization_code', 0, true, {}, null, [1], ['code', null]]) {
        const metadata = { redirect_uris: ['http://127.0.0.1:7777/callback'], token_endpoint_auth_method: 'none', [field]: value };
        const answer = await send(`${gw.base}/oauth/register`, 'POST', { 'content-type': 'application/json' }, JSON.stringify(metadata), '127.0.9.1');
        expect([answer.status, JSON.parse(answer.text)], `${field}: ${JSON.stringify(value)}`).toEqual([
          400,
          { error: 'invalid_client_metadata', error_description: value === null ? expect.any(String) : `${field} must be an array of strings` },
        ]);
      }
    }
  });

  it(`${CASES} generated requests to register, token, authorize, revoke and introspect: client errors only, and no redirect but to the registered URI`, async () => {
    const g = generator(SEED + 2);
    const failures: string[] = [];
    const word = (): string => String(g.pick([...STRINGS, REDIRECT, `${REDIRECT}/../x`, 'https://evil.example/cb', 'app', 'robot', 'S256', 'plain', 'code', 'token', 'mcp', 'openid']));
    for (let i = 0; i < CASES; i++) {
      // The limits count per client address (20 registrations, 120 token requests a minute): spread over loopback.
      const from = `127.0.${10 + Math.floor(i / 10)}.${1 + (i % 10)}`;
      const endpoint = g.pick(['register', 'token', 'token', 'authorize', 'revoke', 'introspect', 'metadata']);
      let method = 'POST';
      let path = `/oauth/${endpoint}`;
      let headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      let payload: string | undefined;
      if (endpoint === 'register') {
        // A loopback redirect (RFC 8252), which the registration policy admits: the rest of the metadata is what is judged.
        const metadata: Record<string, unknown> = { redirect_uris: [g.chance(0.8) ? 'http://127.0.0.1:7777/callback' : word()], client_name: 'x', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
        for (let n = 1 + g.int(3); n > 0; n--) metadata[g.pick([...Object.keys(metadata), 'scope', 'logo_uri', 'jwks_uri', 'client_uri', 'software_statement', '__proto__'])] = g.chance(0.3) ? [word(), word()] : randomValue(g);
        headers = { 'content-type': 'application/json' };
        payload = g.chance(0.9) ? JSON.stringify(metadata) : word();
      } else {
        const fields = new URLSearchParams();
        const names = ['grant_type', 'code', 'redirect_uri', 'code_verifier', 'refresh_token', 'client_id', 'client_secret', 'resource', 'scope', 'token', 'token_type_hint', 'response_type', 'state', 'code_challenge', 'code_challenge_method', 'prompt', 'request_uri'];
        for (let n = g.int(7); n > 0; n--) fields.append(g.pick(names), g.chance(0.3) ? g.pick(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'password']) : word());
        if (g.chance(0.3)) headers.authorization = g.pick(['Basic ' + Buffer.from(`robot:${word()}`).toString('base64'), 'Basic !!!', 'Bearer x', 'Basic ' + Buffer.from(word()).toString('base64')]);
        if (endpoint === 'authorize') {
          method = 'GET';
          path = `/oauth/authorize?${fields.toString()}`;
          payload = undefined;
        } else if (endpoint === 'metadata') {
          method = 'GET';
          path = g.pick(['/.well-known/oauth-protected-resource/', '/.well-known/oauth-authorization-server/', '/.well-known/openid-configuration/']) + encodeURIComponent(word().replace(/[\ud800-\udfff]/g, '?'));
          payload = undefined;
        } else payload = g.chance(0.9) ? fields.toString() : word();
      }
      try {
        const answer = await send(`${gw.base}${path}`, method, headers, payload, from);
        let wrong = judge(answer);
        if (!wrong && answer.status >= 300 && answer.status < 400 && answer.location !== undefined) {
          // The authorization server's own pages (login, consent) are fine; a client's redirect must be its registered URI.
          const target = new URL(answer.location, gw.base);
          // Only the named client's own registered URI (clients registered above use the loopback one).
          const client = endpoint === 'authorize' ? new URL(path, gw.base).searchParams.get('client_id') : null;
          const registered = client === 'app' ? [REDIRECT] : client === 'robot' ? [ROBOT_REDIRECT] : client === null ? [] : ['http://127.0.0.1:7777/callback'];
          if (target.origin !== new URL(gw.base).origin && !registered.includes(`${target.origin}${target.pathname}`)) {
            wrong = `redirected to ${answer.location}`;
          }
        }
        if (wrong) failures.push(`case ${i} ${method} ${path} ${JSON.stringify(headers)} ${payload?.slice(0, 300) ?? ''} -> ${wrong}`);
      } catch (err) {
        failures.push(`case ${i} ${method} ${path} ${payload?.slice(0, 300) ?? ''} -> ${(err as Error).message}`);
      }
    }
    expect(failures.slice(0, 5), `seed ${SEED + 2}: ${failures.length} of ${CASES} cases failed`).toEqual([]);
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  }, 120_000);
});

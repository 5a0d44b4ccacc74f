// `auth.mode: none` with a server that has `tokens` of its own (TBXark mcp-proxy's shape: a
// server with authTokens is protected, one without is open). The protected server needs one
// of its tokens on every route to it, answered exactly as `tokens` mode answers; the open one
// stays open; the aggregate /mcp and /openapi.json show the open servers, plus those the
// presented token opens. Real gateways, real sockets.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const SECRET = 'secret-server-token-0001';
const OTHER = 'other-server-token-0002';
const servers = {
  secret: rawStdio({ tokens: [SECRET], tools: { allow: ['echo'] } }),
  other: rawStdio({ tokens: [OTHER], tools: { allow: ['echo'] } }),
  open: rawStdio({ tools: { allow: ['echo'] } }),
};

let gw: Awaited<ReturnType<typeof startTestGateway>>;
// The same servers in `tokens` mode: the protected server's refusals must read the same.
let tokensGw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  [gw, tokensGw] = await Promise.all([
    startTestGateway({ auth: { mode: 'none' }, servers }),
    startTestGateway({ auth: { mode: 'tokens' }, servers }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([gw?.close(), tokensGw?.close()]);
});

const bearer = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function refusal(base: string, method: string, path: string, token?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...bearer(token) },
    ...(method === 'POST' ? { body: JSON.stringify(path.includes('/api/') ? {} : INIT()) } : {}),
  });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.text() };
}

/** The tool names a caller sees through the aggregate /mcp. */
async function aggregateTools(token?: string): Promise<string[]> {
  const init = await rawPost(`${gw.base}/mcp`, INIT(), bearer(token));
  expect(init.status).toBe(200);
  const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, ...bearer(token) };
  await rawPost(`${gw.base}/mcp`, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
  const list = await rawPost(`${gw.base}/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, session);
  expect(list.status).toBe(200);
  const body = (Array.isArray(list.json) ? list.json[0] : list.json) as { result: { tools: { name: string }[] } };
  return body.result.tools.map((t) => t.name.split('__')[0]!).filter((s, i, a) => a.indexOf(s) === i).sort();
}

describe('auth.mode none: a server with its own tokens', () => {
  it('refuses every route to it without a token and with a wrong one, exactly as tokens mode does', async () => {
    const routes: [string, string][] = [
      ['POST', '/secret/mcp'],
      ['GET', '/secret/sse'],
      ['POST', '/secret/message?sessionId=x'],
      ['POST', '/secret/api/tools/echo'],
      ['GET', '/secret/openapi.json'],
    ];
    for (const [method, path] of routes) {
      for (const token of [undefined, 'wrong-token', OTHER]) {
        const got = await refusal(gw.base, method, path, token);
        expect(got.status, `${method} ${path} ${token}`).toBe(401);
        expect(got.challenge).toMatch(/^Bearer realm="gatehouse"/);
        expect(got).toEqual(await refusal(tokensGw.base, method, path, token));
      }
    }
  });

  it('accepts one of its tokens on each route', async () => {
    expect((await rawPost(`${gw.base}/secret/mcp`, INIT(), bearer(SECRET))).status).toBe(200);
    const call = await fetch(`${gw.base}/secret/api/tools/echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(SECRET) }, body: '{"hello":"secret"}' });
    expect(call.status).toBe(200);
    expect(await call.text()).toContain('secret');
    const doc = await fetch(`${gw.base}/secret/openapi.json`, { headers: bearer(SECRET) });
    expect(doc.status).toBe(200);
    const secretDoc = (await doc.json()) as { paths: object; security?: unknown; components: { securitySchemes?: Record<string, unknown> } };
    expect(Object.keys(secretDoc.paths)).toEqual(['/secret/api/tools/echo']);
    // Its document says that its calls take a bearer token; an open server's says nothing of the kind.
    expect(secretDoc.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(secretDoc.components.securitySchemes ?? {})).toEqual(['bearer']);
    const openDoc = (await (await fetch(`${gw.base}/open/openapi.json`)).json()) as { security?: unknown };
    expect(openDoc.security).toBeUndefined();
    const stop = new AbortController();
    const sse = await fetch(`${gw.base}/secret/sse`, { headers: bearer(SECRET), signal: stop.signal });
    expect(sse.status).toBe(200);
    stop.abort();
  });

  it('leaves a server without tokens open, whatever token is sent (or none)', async () => {
    for (const token of [undefined, 'wrong-token', SECRET]) {
      expect((await rawPost(`${gw.base}/open/mcp`, INIT(), bearer(token))).status).toBe(200);
      const call = await fetch(`${gw.base}/open/api/tools/echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: '{}' });
      expect(call.status).toBe(200);
    }
  });

  it('shows through the aggregate /mcp and /openapi.json the open servers, plus those the token opens', async () => {
    expect(await aggregateTools()).toEqual(['open']);
    expect(await aggregateTools('wrong-token')).toEqual(['open']);
    expect(await aggregateTools(SECRET)).toEqual(['open', 'secret']);
    expect(await aggregateTools(OTHER)).toEqual(['open', 'other']);
    const paths = async (token?: string) => Object.keys(((await (await fetch(`${gw.base}/openapi.json`, { headers: bearer(token) })).json()) as { paths: object }).paths);
    expect(await paths()).toEqual(['/api/tools/open__echo']);
    expect((await paths(SECRET)).sort()).toEqual(['/api/tools/open__echo', '/api/tools/secret__echo']);
    // Through the aggregate REST route too, the protected server is not there without its token.
    const post = (token?: string) => fetch(`${gw.base}/api/tools/secret__echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: '{}' });
    expect((await post()).status).toBe(404);
    expect((await post(SECRET)).status).toBe(200);
  });
});

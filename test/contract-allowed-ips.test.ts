// CONTRACT: `auth.allowedIps` ("CIDRs allowed to reach the gateway at all") on the MCP routes
// `/{name}/mcp`, `/mcp` and the legacy SSE pairs `/{name}/sse` + `/{name}/message`,
// `/sse` + `/message`. The caller's address is the socket's, or, from a hop in `trustProxy`
// (default: loopback), the last X-Forwarded-For entry that is not a trusted proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshRequest } from './helpers/contract.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { openSse } from './helpers/sse.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const TOKEN = 'contract-allowed-ips-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const INSIDE = { 'x-forwarded-for': '203.0.113.7' };
const OUTSIDE = { 'x-forwarded-for': '198.51.100.9' };

describe('auth.allowedIps through a trusted proxy (X-Forwarded-For from loopback)', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway({ auth: { mode: 'tokens', tokens: [TOKEN], allowedIps: ['203.0.113.0/24'] }, servers: { raw: rawStdio() } });
  }, 60_000);
  afterAll(() => gw?.close());

  for (const path of ['/raw/mcp', '/mcp']) {
    it(`${path}: an address outside the list gets 403, one inside gets through`, async () => {
      const outside = await rawPost(`${gw.base}${path}`, INIT(), { ...AUTH, ...OUTSIDE });
      expect(outside.status).toBe(403);
      expect(outside.json).toMatchObject({ error: 'access_denied' });
      // The loopback peer itself (no forwarding header) is not in the list either.
      expect((await rawPost(`${gw.base}${path}`, INIT(), AUTH)).status).toBe(403);
      // Refused before authentication: no credential, still 403 (not a 401 challenge).
      expect((await rawPost(`${gw.base}${path}`, INIT(), OUTSIDE)).status).toBe(403);

      const inside = await rawPost(`${gw.base}${path}`, INIT(), { ...AUTH, ...INSIDE });
      expect(inside.status, inside.text).toBe(200);
      expect(inside.json).toMatchObject({ id: 0, result: { protocolVersion: expect.any(String) } });
      // Inside the list, the credential is still required.
      expect((await rawPost(`${gw.base}${path}`, INIT(), INSIDE)).status).toBe(401);
    });
  }

  for (const [sse, message] of [
    ['/raw/sse', '/raw/message'],
    ['/sse', '/message'],
  ] as const) {
    it(`${sse} + ${message}: outside gets 403 on both, inside opens the stream and posts`, async () => {
      const refused = await openSse(`${gw.base}${sse}`, { ...AUTH, ...OUTSIDE });
      expect(refused.status).toBe(403);

      const stream = await openSse(`${gw.base}${sse}`, { ...AUTH, ...INSIDE });
      try {
        expect(stream.status).toBe(200);
        expect(stream.endpoint).toBeDefined();
        const endpoint = new URL(stream.endpoint!, gw.base);
        expect(endpoint.pathname).toBe(message);
        const target = `${gw.base}${endpoint.pathname}${endpoint.search}`;
        // The message route is fenced on its own: a session id is no way past the list.
        const outsidePost = await freshRequest(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...AUTH, ...OUTSIDE },
          body: JSON.stringify(INIT()),
        });
        expect(outsidePost.status).toBe(403);
        const insidePost = await freshRequest(target, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...AUTH, ...INSIDE },
          body: JSON.stringify(INIT()),
        });
        expect(insidePost.status, insidePost.text).toBe(202);
      } finally {
        stream.close();
      }
    });
  }
});

describe('auth.allowedIps against the socket address (no trusted proxy)', () => {
  it('lets loopback in when loopback is listed', async () => {
    const gw = await startTestGateway({ trustProxy: [], auth: { mode: 'tokens', tokens: [TOKEN], allowedIps: ['127.0.0.0/8', '::1'] }, servers: { raw: rawStdio() } });
    try {
      expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), AUTH)).status).toBe(200);
      expect((await rawPost(`${gw.base}/mcp`, INIT(), AUTH)).status).toBe(200);
      const stream = await openSse(`${gw.base}/raw/sse`, AUTH);
      stream.close();
      expect(stream.status).toBe(200);
      // An X-Forwarded-For naming an outside address is not believed from an untrusted peer.
      expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), { ...AUTH, ...OUTSIDE })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('keeps loopback out when it is not listed, whatever X-Forwarded-For claims', async () => {
    const gw = await startTestGateway({ trustProxy: [], auth: { mode: 'tokens', tokens: [TOKEN], allowedIps: ['203.0.113.0/24'] }, servers: { raw: rawStdio() } });
    try {
      for (const path of ['/raw/mcp', '/mcp']) {
        expect((await rawPost(`${gw.base}${path}`, INIT(), AUTH)).status, path).toBe(403);
        // The peer is not a trusted proxy: its claim to be an allowed address counts for nothing.
        expect((await rawPost(`${gw.base}${path}`, INIT(), { ...AUTH, ...INSIDE })).status, path).toBe(403);
      }
      for (const path of ['/raw/sse', '/sse']) {
        const stream = await openSse(`${gw.base}${path}`, { ...AUTH, ...INSIDE });
        stream.close();
        expect(stream.status, path).toBe(403);
      }
      for (const path of ['/raw/message?sessionId=x', '/message?sessionId=x']) {
        const post = await freshRequest(`${gw.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(INIT()) });
        expect(post.status, path).toBe(403);
      }
    } finally {
      await gw.close();
    }
  });
});

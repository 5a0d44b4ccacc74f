// "No such session" is one answer on every route: 404 with JSON-RPC code -32001 "Session not
// found" (SESSION_NOT_FOUND, what the SDK's Streamable HTTP server transport answers), on
// Streamable HTTP (`/{name}/mcp`, `/mcp`) and on the legacy HTTP+SSE message endpoints
// (`/{name}/message`, `/message`), which used to answer -32600.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio() } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
const NOT_FOUND = { jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } };

/** Opens a legacy SSE stream on `prefix` and returns its message endpoint; closing the stream ends the session. */
async function legacySession(prefix: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const res = await fetch(`${gw.base}${prefix}/sse`, { headers: { accept: 'text/event-stream' } });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  let match: RegExpExecArray | null = null;
  while (!(match = /event: endpoint\ndata: (.*)\n/.exec(text))) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the stream ended before the endpoint event: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return { endpoint: match[1]!, close: () => reader.cancel() };
}

describe('an unknown session', () => {
  for (const prefix of ['/raw', '']) {
    it(`gets 404 -32001 "Session not found" on ${prefix}/message, as on ${prefix}/mcp`, async () => {
      const streamable = await rawPost(`${gw.base}${prefix}/mcp`, ping, { 'mcp-session-id': 'no-such-session' });
      expect(streamable.status).toBe(404);
      expect(streamable.json).toEqual(NOT_FOUND);

      for (const query of ['?sessionId=no-such-session', '?session_id=no-such-session', '']) {
        const legacy = await rawPost(`${gw.base}${prefix}/message${query}`, ping);
        expect(legacy.status).toBe(404);
        expect(legacy.json).toEqual(NOT_FOUND);
      }
    });
  }

  it('includes a legacy SSE session that has ended', async () => {
    const { endpoint, close } = await legacySession('/raw');
    expect((await rawPost(endpoint, { jsonrpc: '2.0', method: 'notifications/initialized' })).status).toBe(202);
    await close();
    await expect.poll(async () => (await rawPost(endpoint, ping)).status, { timeout: 20_000, interval: 50 }).toBe(404);
    expect((await rawPost(endpoint, ping)).json).toEqual(NOT_FOUND);
  });
});

// notifications/progress travels on the response stream of the request that carries its
// progressToken (docs/decisions/0002-sessions-and-streams.md), on the aggregate endpoint `/mcp`
// as on `/{name}/mcp`: not on the session's GET stream, and, for a 2026-07-28 client (no
// session, no GET stream), not nowhere. The upstream is the raw stdio fixture's `progress`
// tool, which sends three progress notifications with the request's token, then answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio() } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

interface Message {
  id?: unknown;
  method?: string;
  params?: { progressToken?: unknown; progress?: number };
  result?: { content: { text: string }[] };
}

const progressCall = (id: number, name: string, token: string, meta: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: { steps: 3 }, _meta: { ...meta, progressToken: token } },
});

/** The POST answered as an SSE stream: every progress notification with our token, then the reply. */
function expectProgressOnPost(r: { status: number; headers: Headers; json: unknown }, id: number, token: string): void {
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toContain('text/event-stream');
  const messages = r.json as Message[];
  const progress = messages.filter((m) => m.method === 'notifications/progress');
  expect(progress.map((m) => m.params)).toEqual([1, 2, 3].map((progress) => ({ progressToken: token, progress, total: 3 })));
  const reply = messages.at(-1)!;
  expect(reply.id).toBe(id);
  // The shared child saw a token the multiplexer assigned; the client sees its own back.
  expect(reply.result!.content[0]!.text).toContain('token');
}

describe('progress notifications of a call', () => {
  for (const [route, tool] of [
    ['mcp', 'raw__progress'],
    ['raw/mcp', 'progress'],
  ] as const) {
    it(`travel on the POST of the call on /${route}, while the session has a GET stream open`, async () => {
      const url = `${gw.base}/${route}`;
      const init = await rawPost(url, INIT('2025-11-25'));
      expect(init.status).toBe(200);
      const session = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
      // With a GET stream open, a message no request claims goes there: progress must not.
      const get = await fetch(url, { headers: { ...session, accept: 'text/event-stream' } });
      expect(get.status).toBe(200);
      try {
        const token = `progress-${route}`;
        expectProgressOnPost(await rawPost(url, progressCall(7, tool, token), session), 7, token);
      } finally {
        await get.body?.cancel();
      }
    });
  }

  it('reach a 2026-07-28 client on the aggregate endpoint (its POST is the only stream it has)', async () => {
    const version = '2026-07-28';
    const envelope = {
      'io.modelcontextprotocol/protocolVersion': version,
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: 'progress-test', version: '1' },
    };
    const token = 'progress-2026-aggregate';
    const r = await rawPost(`${gw.base}/mcp`, progressCall(8, 'raw__progress', token, envelope), {
      'mcp-protocol-version': version,
      'mcp-method': 'tools/call',
      'mcp-name': 'raw__progress',
    });
    expectProgressOnPost(r, 8, token);
  });
});

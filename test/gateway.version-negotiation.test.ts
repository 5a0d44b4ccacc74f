// Which protocol revision an initialize is answered with, on both session-era transports
// (Streamable HTTP and legacy HTTP+SSE), through the real gateway and real stdio upstreams:
// a revision we support comes back as asked, anything else as our newest, and the upstream
// session is opened with the revision the client got. The MCP-Protocol-Version header check
// takes exactly those revisions (docs/decisions/0018-session-era-versions.md).
import { Client, SSEClientTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  // rawps: one child per session, so `whoami` tells what initialize the upstream got.
  gw = await startTestGateway({ servers: { raw: rawStdio(), rawps: rawStdio({ sharing: 'per-session' }) } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const NEWEST = '2025-11-25';
const SUPPORTED = ['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25'];
/** What initialize asks for (`absent`: no protocolVersion at all) and what it must be answered with. */
const CASES: [label: string, requested: unknown, answered: string][] = [
  ...SUPPORTED.map((v): [string, unknown, string] => [v, v, v]),
  ['an unknown future date', '2099-01-01', NEWEST],
  ['2026-07-28 (which has no initialize)', '2026-07-28', NEWEST],
  ['the 2024-10-07 draft', '2024-10-07', NEWEST],
  ['a version with spaces', ' 2025-06-18', NEWEST],
  ['a number', 20250618, NEWEST],
  ['null', null, NEWEST],
  ['a list', ['2025-06-18'], NEWEST],
  ['absent', undefined, NEWEST],
];

const initialize = (requested: unknown, id = 0) => {
  const message = INIT();
  const params: Record<string, unknown> = { ...message.params };
  if (requested === undefined) delete params.protocolVersion;
  else params.protocolVersion = requested;
  return { ...message, id, params };
};

const whoami = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'whoami', arguments: {} } });
const whoamiVersion = (reply: unknown): unknown => {
  const text = (reply as { result: { content: { text: string }[] } }).result.content[0]!.text;
  return (JSON.parse(text) as { protocolVersion?: unknown }).protocolVersion;
};

/** A legacy SSE session: its message endpoint, and the JSON-RPC replies the stream carries, by id. */
async function openLegacy(path: string): Promise<{ send: (m: unknown) => Promise<number>; reply: (id: number) => Promise<unknown>; close: () => void }> {
  const controller = new AbortController();
  const res = await fetch(`${gw.base}${path}`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const replies = new Map<number, unknown>();
  let endpoint: string | undefined;
  let buffer = '';
  const readMore = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) throw new Error('the SSE stream ended');
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = /^data: ?(.*)$/m.exec(frame)?.[1];
      if (data === undefined) continue;
      if (/^event: endpoint$/m.test(frame)) endpoint = data;
      else {
        const m = JSON.parse(data) as { id?: number; method?: string };
        if (m.id !== undefined && m.method === undefined) replies.set(m.id, m);
      }
    }
  };
  while (endpoint === undefined) await readMore();
  const url = endpoint;
  return {
    send: async (m) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(m) })).status,
    reply: async (id) => {
      const deadline = Date.now() + 10_000;
      while (!replies.has(id)) {
        if (Date.now() > deadline) throw new Error(`no reply ${id} on the SSE stream`);
        await readMore();
      }
      return replies.get(id);
    },
    close: () => controller.abort(),
  };
}

describe('initialize over legacy SSE (/{name}/sse + /message)', () => {
  for (const [label, requested, answered] of CASES) {
    it(`asked ${label}: answers ${answered}, and opens the upstream session with it`, async () => {
      const s = await openLegacy('/rawps/sse');
      try {
        expect(await s.send(initialize(requested, 1))).toBe(202);
        expect(await s.reply(1)).toMatchObject({ id: 1, result: { protocolVersion: answered, serverInfo: { name: 'raw-fixture' } } });
        expect(await s.send({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBe(202);
        expect(await s.send(whoami(2))).toBe(202);
        expect(whoamiVersion(await s.reply(2))).toBe(answered);
      } finally {
        s.close();
      }
    });
  }

  it('the aggregate /sse answers the same way', async () => {
    for (const [requested, answered] of [['2024-11-05', '2024-11-05'], ['2099-01-01', NEWEST]]) {
      const s = await openLegacy('/sse');
      try {
        expect(await s.send(initialize(requested, 1))).toBe(202);
        expect(await s.reply(1)).toMatchObject({ id: 1, result: { protocolVersion: answered } });
      } finally {
        s.close();
      }
    }
  });
});

describe('initialize over Streamable HTTP (/{name}/mcp)', () => {
  for (const [label, requested, answered] of CASES) {
    it(`asked ${label}: answers ${answered}; the session takes that MCP-Protocol-Version`, async () => {
      const url = `${gw.base}/rawps/mcp`;
      const init = await rawPost(url, initialize(requested));
      expect(init.status, init.text).toBe(200);
      expect(init.json).toMatchObject({ result: { protocolVersion: answered } });
      const headers = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': answered };
      const who = await rawPost(url, whoami(2), headers);
      expect(who.status, who.text).toBe(200);
      const reply = Array.isArray(who.json) ? who.json.find((m: { id?: unknown }) => m.id === 2) : who.json;
      expect(whoamiVersion(reply)).toBe(answered);
      const get = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' } });
      expect(get.status).toBe(200);
      await get.body?.cancel();
      expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(200);
    });
  }

  it('takes in MCP-Protocol-Version every revision initialize can answer, and no other session-era date', async () => {
    const url = `${gw.base}/raw/mcp`;
    const init = await rawPost(url, initialize('2025-06-18'));
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const list = { jsonrpc: '2.0', id: 5, method: 'tools/list' };
    for (const v of SUPPORTED) {
      const r = await rawPost(url, list, { ...session, 'mcp-protocol-version': v });
      expect(r.status, `${v}: ${r.text}`).toBe(200);
    }
    for (const v of ['2024-10-07', '2025-01-01', '2025-06-18x', ' ']) {
      const r = await rawPost(url, list, { ...session, 'mcp-protocol-version': v });
      expect(r.status, v).toBe(400);
      expect((r.json as { error: { message: string } }).error.message).toContain('unsupported MCP-Protocol-Version');
    }
  });
});

describe('a real SDK client that speaks one revision only', () => {
  const connectOnly = async (version: string, transport: Transport): Promise<Client> => {
    // Refuses any other answer ("Server's protocol version is not supported"), as the SDK 1.0
    // clients behind older mcp-remote did for everything but 2024-11-05.
    const client = new Client({ name: `only-${version}`, version: '1' }, { supportedProtocolVersions: [version], versionNegotiation: { mode: 'legacy' } });
    await client.connect(transport);
    return client;
  };

  for (const version of SUPPORTED) {
    for (const kind of ['sse', 'streamable'] as const) {
      it(`${version} over ${kind === 'sse' ? 'legacy SSE' : 'Streamable HTTP'}: connects, negotiates it and calls a tool`, async () => {
        const transport =
          kind === 'sse' ? new SSEClientTransport(new URL(`${gw.base}/rawps/sse`)) : new StreamableHTTPClientTransport(new URL(`${gw.base}/rawps/mcp`));
        const client = await connectOnly(version, transport);
        try {
          expect(client.getNegotiatedProtocolVersion()).toBe(version);
          const who = await client.callTool({ name: 'whoami', arguments: {} });
          expect(JSON.parse((who.content as { text: string }[])[0]!.text)).toMatchObject({ protocolVersion: version });
        } finally {
          await client.close();
        }
      });
    }
  }
});

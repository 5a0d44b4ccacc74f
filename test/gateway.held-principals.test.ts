// 2026-07-28 (stateless) clients of a 2025-era upstream are served over upstream sessions the
// gateway holds (src/gateway/held-sessions.ts). Those sessions belong to one principal: a call
// by one credential never rides the held session of another (its state, subscriptions, server
// requests and log lines), and a principal's held sessions end when it has gone quiet.
// The upstream is the raw stdio fixture with `sharing: per-session`, so each held session is a
// child process of its own and `whoami` tells them apart (pid, the clientInfo it was opened with).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUpstream } from '../src/app.js';
import { resolveConfig } from '../src/config/index.js';
import { Gateway, isStreamReply, type McpCall } from '../src/gateway/index.js';
import { silentLogger } from '../src/observability/index.js';
import type { Upstream } from '../src/upstream/index.js';
import { rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const VERSION = '2026-07-28';
const TOKEN_A = 'tok-held-a-5f1e';
const TOKEN_B = 'tok-held-b-82c9';

const envelope = (client: string) => ({
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: client, version: '1' },
});

let nextId = 0;
const whoamiRequest = (client: string) => ({ jsonrpc: '2.0', id: ++nextId, method: 'tools/call', params: { name: 'whoami', arguments: {}, _meta: envelope(client) } });
const HEADERS = { 'mcp-protocol-version': VERSION, 'mcp-method': 'tools/call', 'mcp-name': 'whoami' };

interface Whoami {
  pid: number;
  clientInfo: { name: string };
}

function whoamiOf(body: unknown): Whoami {
  const reply = (Array.isArray(body) ? body.at(-1) : body) as { result: { content: { text: string }[] } };
  return JSON.parse(reply.result.content[0]!.text) as Whoami;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('held upstream sessions of 2026 clients, over HTTP', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    gw = await startTestGateway({
      auth: { mode: 'tokens', tokens: [TOKEN_A, TOKEN_B] },
      servers: { raw: rawStdio({ sharing: 'per-session' }) },
    });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  const whoami = async (route: string, token: string, client: string): Promise<Whoami> => {
    const r = await rawPost(`${gw.base}${route}`, whoamiRequest(client), { ...HEADERS, authorization: `Bearer ${token}` });
    expect(r.status).toBe(200);
    return whoamiOf(r.json);
  };

  it('gives each principal held sessions of its own on /{name}/mcp; one principal reuses its own', async () => {
    const a1 = await whoami('/raw/mcp', TOKEN_A, 'client-of-a');
    const b1 = await whoami('/raw/mcp', TOKEN_B, 'client-of-b');
    // Before: B's call rode A's held session (same child, opened with A's clientInfo).
    expect(b1.pid).not.toBe(a1.pid);
    expect(b1.clientInfo.name).toBe('client-of-b');
    expect(a1.clientInfo.name).toBe('client-of-a');
    // Pooling still works within one principal: A's next call takes A's free held session.
    const a2 = await whoami('/raw/mcp', TOKEN_A, 'client-of-a');
    expect(a2.pid).toBe(a1.pid);
    const b2 = await whoami('/raw/mcp', TOKEN_B, 'client-of-b');
    expect(b2.pid).toBe(b1.pid);
  });

  it('does not hand one principal\'s change notifications to another principal\'s listener', async () => {
    const secret = 'file:///b-only';
    const barrier = 'file:///a-barrier';
    const abort = new AbortController();
    const res = await fetch(`${gw.base}/raw/mcp`, {
      method: 'POST',
      signal: abort.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': VERSION,
        'mcp-method': 'subscriptions/listen',
        authorization: `Bearer ${TOKEN_A}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'listen-a',
        method: 'subscriptions/listen',
        params: { notifications: { resourceSubscriptions: [secret, barrier] }, _meta: envelope('listener-a') },
      }),
    });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const seen: { method?: string; params?: { uri?: string } }[] = [];
    let buffer = '';
    const until = async (done: () => boolean) => {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error(`the listen stream ended: ${JSON.stringify(seen)}`);
        buffer += decoder.decode(value, { stream: true });
        for (let cut; (cut = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(cut + 1)) {
          const line = buffer.slice(0, cut);
          if (line.startsWith('data: ') && line.length > 6) seen.push(JSON.parse(line.slice(6)) as (typeof seen)[number]);
        }
      }
    };
    const update = async (token: string, client: string, uri: string) => {
      const r = await rawPost(
        `${gw.base}/raw/mcp`,
        { jsonrpc: '2.0', id: ++nextId, method: 'tools/call', params: { name: 'update', arguments: { uri }, _meta: envelope(client) } },
        { ...HEADERS, 'mcp-name': 'update', authorization: `Bearer ${token}` },
      );
      expect(r.status).toBe(200);
    };
    try {
      await until(() => seen.some((m) => m.method === 'notifications/subscriptions/acknowledged'));
      // B's server (its own held session) reports a change; then A's does. A's listener sees
      // A's change, and B's never came first: before, every listener of the route got both.
      await update(TOKEN_B, 'client-of-b', secret);
      await update(TOKEN_A, 'client-of-a', barrier);
      await until(() => seen.some((m) => m.method === 'notifications/resources/updated'));
      const updates = seen.filter((m) => m.method === 'notifications/resources/updated').map((m) => m.params?.uri);
      expect(updates).toEqual([barrier]);
    } finally {
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
  });

  it('does the same on the aggregate endpoint /mcp', async () => {
    const call = async (token: string, client: string) => {
      const r = await rawPost(
        `${gw.base}/mcp`,
        { ...whoamiRequest(client), params: { name: 'raw__whoami', arguments: {}, _meta: envelope(client) } },
        { ...HEADERS, 'mcp-name': 'raw__whoami', authorization: `Bearer ${token}` },
      );
      expect(r.status).toBe(200);
      return whoamiOf(r.json);
    };
    const a = await call(TOKEN_A, 'aggregate-a');
    const b = await call(TOKEN_B, 'aggregate-b');
    expect(b.pid).not.toBe(a.pid);
    expect(b.clientInfo.name).toBe('aggregate-b');
  });
});

describe('held upstream sessions of a principal that went quiet', () => {
  let upstream: Upstream;
  let gateway: Gateway;

  beforeAll(async () => {
    const config = resolveConfig(
      { format: 'native', location: 'test', baseDir: process.cwd(), doc: { listen: '127.0.0.1:0', auth: { mode: 'none' }, servers: { raw: rawStdio({ sharing: 'per-session' }) } } },
      process.env,
    );
    upstream = await buildUpstream(config.servers[0]!, silentLogger());
    await upstream.start();
    // A short idle time, so the sweeper runs often; nothing below depends on how long anything takes.
    gateway = new Gateway({ servers: config.servers, upstreams: new Map([['raw', upstream]]), logger: silentLogger(), sessionIdleMs: 200 });
  }, 60_000);
  afterAll(async () => {
    await gateway?.close(0);
    await upstream?.close();
  });

  const whoami = async (principal: string): Promise<Whoami> => {
    const body = JSON.stringify(whoamiRequest(principal));
    const headers = new Headers({ 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...HEADERS });
    const call: McpCall = {
      request: { method: 'POST', url: 'http://127.0.0.1/raw/mcp', headers, body },
      server: 'raw',
      allowedServers: ['raw'],
      principal,
      baseUrl: 'http://127.0.0.1',
      routePrefix: '/raw',
    };
    const reply = await gateway.handleStreamable(call);
    expect(reply.status).toBe(200);
    expect(isStreamReply(reply)).toBe(false);
    return whoamiOf(JSON.parse((reply as { body: string }).body));
  };

  it('closes them once nothing is in flight, and opens new ones when the principal comes back', async () => {
    const first = await whoami('user:quiet');
    expect(alive(first.pid)).toBe(true);
    // The endpoint is swept: its held session (here a child process) ends.
    await expect.poll(() => alive(first.pid), { timeout: 20_000, interval: 50 }).toBe(false);
    const again = await whoami('user:quiet');
    expect(again.pid).not.toBe(first.pid);
    expect(again.clientInfo.name).toBe('user:quiet');
  }, 60_000);
});

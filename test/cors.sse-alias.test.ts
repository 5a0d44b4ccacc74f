// Seed 000 (an OAuth proxy in front of one MCP server) serves legacy SSE at /mcp/sse and
// /mcp/message. Gatehouse takes them as the aggregate's /sse and /message, unless a server is
// named mcp (then that server has them). And a browser client may use the pair too (CORS).
import { SSEClientTransport } from '@modelcontextprotocol/client';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/index.js';
import type { McpCall, Reply } from '../src/gateway/index.js';
import { createEdge, createMcpListener, type McpEndpoints } from '../src/http/index.js';
import { silentLogger } from '../src/observability/index.js';
import { connectClient } from './helpers/client.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  // auth.mode none here: the default origins are off there, so the one a test uses is listed.
  gw = await startTestGateway({ cors: { origins: ['https://chatgpt.com'] }, servers: { raw: rawStdio(), other: rawStdio() } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

/** The first SSE event of a GET, then the stream is let go. */
async function firstEvent(url: string, headers: Record<string, string> = {}): Promise<{ res: Response; event: string; data: string }> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!buffer.includes('\n\n')) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
  }
  ac.abort();
  const frame = buffer.slice(0, buffer.indexOf('\n\n'));
  return { res, event: /^event: (.*)$/m.exec(frame)?.[1] ?? '', data: /^data: ?(.*)$/m.exec(frame)?.[1] ?? '' };
}

describe('/mcp/sse and /mcp/message', () => {
  it('serve the SDK SSE client as the aggregate endpoint (was 404 unknown server "mcp")', async () => {
    const transport = new SSEClientTransport(new URL(`${gw.base}/mcp/sse`));
    const client = await connectClient(transport);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['raw__echo', 'other__echo']));
      const echo = await client.callTool({ name: 'other__echo', arguments: { message: 'through the alias' } });
      expect(JSON.stringify(echo.content)).toContain('through the alias');
    } finally {
      await client.close();
    }
  });

  it('name /mcp/message in the endpoint event, so a client given /mcp/sse stays under /mcp', async () => {
    const { res, event, data } = await firstEvent(`${gw.base}/mcp/sse`);
    expect(res.status).toBe(200);
    expect(event).toBe('endpoint');
    expect(new URL(data, gw.base).pathname).toBe('/mcp/message');
    expect(new URL(data, gw.base).searchParams.get('sessionId')).toBeTruthy();
  });

  it('answer an unknown session on /mcp/message like /message does (404 Session not found), and /mcp/messages too', async () => {
    for (const path of ['/mcp/message', '/mcp/messages', '/message']) {
      const res = await fetch(`${gw.base}${path}?sessionId=nope`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).toContain('Session not found');
    }
  });

  it('keep the methods of the pair (405) and leave /{other}/sse to its server (404 for an unknown one)', async () => {
    expect((await fetch(`${gw.base}/mcp/sse`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(405);
    expect((await fetch(`${gw.base}/mcp/message`)).status).toBe(405);
    const unknown = await fetch(`${gw.base}/nope/sse`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error_description: string }).error_description).toBe('unknown server "nope"');
  });

  it('let an allowed browser origin open the stream and read it (CORS)', async () => {
    const { res, event } = await firstEvent(`${gw.base}/mcp/sse`, { origin: 'https://chatgpt.com' });
    expect(res.status).toBe(200);
    expect(event).toBe('endpoint');
    expect(res.headers.get('access-control-allow-origin')).toBe('https://chatgpt.com');
  });
});

describe('a server named mcp', () => {
  // The config refuses `mcp` as a server name (it is a route of the gateway), so this drives
  // the listener with an McpEndpoints that has one: the alias must give way to it.
  let server: Server;
  let base: string;
  const calls: { kind: string; server: string | undefined; routePrefix: string }[] = [];
  const answer = (kind: string) => (call: McpCall): Reply => {
    calls.push({ kind, server: call.server, routePrefix: call.routePrefix });
    return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
  };

  beforeAll(async () => {
    const config = resolveConfig({ format: 'native', location: 'test', baseDir: process.cwd(), doc: { listen: '127.0.0.1:0', auth: { mode: 'none' } } }, {});
    const mcp: McpEndpoints = {
      hasServer: (name) => name === 'mcp',
      handleStreamable: (call) => Promise.resolve(answer('mcp')(call)),
      handleSseOpen: answer('sse'),
      handleSseMessage: (call) => Promise.resolve(answer('message')(call)),
    };
    const listener = createMcpListener({
      config,
      mcp,
      authenticator: { authenticate: () => ({ ok: true, principal: 'anyone', allowedServers: ['mcp'] }) },
      edge: createEdge(config),
      logger: silentLogger(),
    });
    server = createServer((req, res) => {
      if (!listener(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gets /mcp/sse and /mcp/message itself', async () => {
    expect((await fetch(`${base}/mcp/sse`)).status).toBe(200);
    expect((await fetch(`${base}/mcp/message?sessionId=x`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    expect(calls).toEqual([
      { kind: 'sse', server: 'mcp', routePrefix: '/mcp' },
      { kind: 'message', server: 'mcp', routePrefix: '/mcp' },
    ]);
  });
});

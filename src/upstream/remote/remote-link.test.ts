// Remote links against real MCP servers started in this process on 127.0.0.1: the SDK v2
// server over Streamable HTTP (plain and https with a self-signed certificate), and the v1
// SDK's legacy SSE server. Nothing under test is mocked.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { McpServer as LegacyMcpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer, type EventId, type EventStore, type JSONRPCMessage, type StreamId } from '@modelcontextprotocol/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { remoteServer } from '../../../test/helpers/remote-server.js';
import * as z from 'zod';

import type { ResolvedRemoteServer } from '../../config/resolved.js';
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse, JsonRpcSuccess } from '../../jsonrpc/index.js';
import { silentLogger } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { createRemoteLinkFactory, RemoteLinkError, type RemoteLinkFactory, type RemoteLinkFactoryOptions } from './index.js';
import { hasOpenssl } from '../../../test/helpers/openssl.js';

// --- servers ----------------------------------------------------------------------------

interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

interface TestServer {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

async function listen(server: Server, scheme: 'http' | 'https', path: string): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

function buildMcpServer(resumed: () => Promise<void>): McpServer {
  const server = new McpServer({ name: 'remote-test-server', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });
  server.registerTool('echo', { description: 'Echoes its text', inputSchema: z.object({ text: z.string() }) }, ({ text }) => ({
    content: [{ type: 'text', text: `echo: ${text}` }],
    structuredContent: { echoed: text },
  }));
  // Closes its own response stream mid-call and answers only once the client has come back
  // with Last-Event-ID (needs the event store).
  server.registerTool('interrupted', { description: 'Answers after a resumption' }, async (ctx) => {
    const back = resumed();
    ctx.http?.closeSSE?.();
    await back;
    return { content: [{ type: 'text', text: 'answered after resumption' }] };
  });
  return server;
}

/** In-memory SSE event store (resumability), ids ordered within the store. */
function memoryEventStore(): EventStore {
  const events = new Map<EventId, { streamId: StreamId; message: JSONRPCMessage }>();
  let counter = 0;
  return {
    storeEvent(streamId, message) {
      const eventId = `${streamId}::${String(++counter).padStart(10, '0')}`;
      events.set(eventId, { streamId, message });
      return Promise.resolve(eventId);
    },
    getStreamIdForEventId(eventId) {
      return Promise.resolve(events.get(eventId)?.streamId);
    },
    async replayEventsAfter(lastEventId, { send }) {
      const streamId = events.get(lastEventId)?.streamId ?? lastEventId.split('::')[0] ?? lastEventId;
      for (const [eventId, event] of events) {
        if (event.streamId === streamId && eventId > lastEventId) await send(eventId, event.message);
      }
      return streamId;
    },
  };
}

interface StreamableServer extends TestServer {
  sessions: Map<string, { transport: NodeStreamableHTTPServerTransport; server: McpServer }>;
  /** Resolves when a GET (the standalone event stream) arrives for a session. */
  streamOpened(): Promise<string>;
  /** Forgets every session, as a restarted server would. */
  forgetSessions(): void;
}

interface StreamableOptions {
  https?: { key: string; cert: string };
  /** Answer 401 unless this Cookie arrives. */
  requireCookie?: string;
  /** Answer requests with one JSON body instead of an event stream. */
  jsonResponse?: boolean;
  /** Keep events for resumption (Last-Event-ID). */
  resumable?: boolean;
}

/**
 * SDK v2 server, one McpServer + transport per session. Calls of the tool names `http500`
 * get HTTP 500, `hang` no answer at all, `cut` an event stream that ends without an answer.
 */
async function startStreamableServer(options: StreamableOptions = {}): Promise<StreamableServer> {
  const sessions: StreamableServer['sessions'] = new Map();
  const seen: SeenRequest[] = [];
  const streamWaiters: ((id: string) => void)[] = [];
  const resumeWaiters: (() => void)[] = [];
  const resumed = () => new Promise<void>((resolve) => resumeWaiters.push(resolve));
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
    if (options.requireCookie !== undefined && req.headers.cookie !== options.requireCookie) {
      res.writeHead(401, { 'www-authenticate': 'Bearer' }).end('unauthorized');
      return;
    }
    const call = body as { method?: string; params?: { name?: string } } | undefined;
    if (call?.method === 'tools/call' && call.params?.name === 'http500') {
      res.writeHead(500).end('boom');
      return;
    }
    if (call?.method === 'tools/call' && call.params?.name === 'hang') return; // never answers
    if (call?.method === 'tools/call' && call.params?.name === 'cut') {
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(); // a stream that ends with no answer and no event id
      return;
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } }));
        return;
      }
      if (req.method === 'GET') for (const w of streamWaiters.splice(0)) w(sessionId);
      if (req.method === 'GET' && req.headers['last-event-id']) setImmediate(() => resumeWaiters.splice(0).forEach((w) => w()));
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(400).end('no session');
      return;
    }
    const server = buildMcpServer(resumed);
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: options.jsonResponse === true,
      ...(options.resumable ? { eventStore: memoryEventStore(), retryInterval: 10 } : {}),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server });
      },
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  };
  const http = options.https ? createHttpsServer(options.https, onRequest) : createServer(onRequest);
  const { url, close } = await listen(http, options.https ? 'https' : 'http', '/mcp');
  return {
    url,
    seen,
    sessions,
    streamOpened: () => new Promise((resolve) => streamWaiters.push(resolve)),
    forgetSessions: () => sessions.clear(),
    close: async () => {
      await close();
      await Promise.allSettled([...sessions.values()].map((s) => s.transport.close()));
    },
  };
}

/** The v1 SDK's legacy HTTP+SSE server: GET /sse opens a session, POST /messages?sessionId= feeds it; anything else 404. */
async function startLegacySseServer(): Promise<TestServer & { streams: number; dropStreams(): void }> {
  const seen: SeenRequest[] = [];
  const transports = new Map<string, SSEServerTransport>();
  const state = { streams: 0 };
  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = req.url ?? '';
    if (req.method === 'GET' && path === '/sse') {
      seen.push({ method: 'GET', path, headers: req.headers, body: undefined });
      state.streams++;
      const transport = new SSEServerTransport('/messages', res);
      transports.set(transport.sessionId, transport);
      res.on('close', () => transports.delete(transport.sessionId));
      const server = new LegacyMcpServer({ name: 'legacy-sse-server', version: '1.0.0' });
      server.registerTool('echo', { description: 'Echoes its text', inputSchema: { text: z.string() } }, ({ text }) => ({
        content: [{ type: 'text', text: `legacy echo: ${text}` }],
      }));
      await server.connect(transport);
      return;
    }
    if (req.method === 'POST' && path.startsWith('/messages')) {
      const body = await readBody(req);
      seen.push({ method: 'POST', path, headers: req.headers, body });
      const transport = transports.get(new URL(path, 'http://x').searchParams.get('sessionId') ?? '');
      if (!transport) {
        res.writeHead(404).end('unknown session');
        return;
      }
      await transport.handlePostMessage(req, res, body);
      return;
    }
    seen.push({ method: req.method ?? '', path, headers: req.headers, body: undefined });
    res.writeHead(404, { 'content-type': 'text/html' }).end(`<pre>Cannot ${req.method} ${path}</pre>`);
  };
  const http = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  const { url, close } = await listen(http, 'http', '/sse');
  return {
    url,
    seen,
    get streams() {
      return state.streams;
    },
    dropStreams: () => {
      for (const t of transports.values()) void t.close();
    },
    close,
  };
}

// --- a client of the link ---------------------------------------------------------------

class Probe implements LinkHandlers {
  readonly messages: JsonRpcMessage[] = [];
  readonly #waiters = new Map<JsonRpcId, (m: JsonRpcResponse) => void>();
  readonly #notificationWaiters: { method: string; resolve: (m: JsonRpcMessage) => void }[] = [];
  closeReasons: Error[] = [];
  readonly closed: Promise<Error>;
  #resolveClosed!: (e: Error) => void;

  constructor() {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  onMessage(message: JsonRpcMessage): void {
    this.messages.push(message);
    if ('method' in message) {
      for (const w of this.#notificationWaiters.filter((n) => n.method === message.method)) w.resolve(message);
      return;
    }
    const waiter = message.id === null ? undefined : this.#waiters.get(message.id);
    waiter?.(message);
  }

  onClose(reason: Error): void {
    this.closeReasons.push(reason);
    this.#resolveClosed(reason);
  }

  async request(link: Link, id: JsonRpcId, method: string, params: Record<string, unknown> = {}): Promise<JsonRpcResponse> {
    const reply = new Promise<JsonRpcResponse>((resolve) => this.#waiters.set(id, resolve));
    await link.send({ jsonrpc: '2.0', id, method, params });
    return reply;
  }

  notification(method: string): Promise<JsonRpcMessage> {
    return new Promise((resolve) => this.#notificationWaiters.push({ method, resolve }));
  }
}

const PROTOCOL = '2025-06-18';

async function handshake(link: Link, probe: Probe, protocolVersion = PROTOCOL): Promise<Record<string, unknown>> {
  const reply = await probe.request(link, 'init', 'initialize', {
    protocolVersion,
    capabilities: {},
    clientInfo: { name: 'gatehouse-test', version: '0.0.0' },
  });
  const result = resultOf<Record<string, unknown>>(reply);
  link.setProtocolVersion?.(result.protocolVersion as string);
  await link.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return result;
}

const remote = (url: string, overrides: Partial<ResolvedRemoteServer> = {}): ResolvedRemoteServer => remoteServer(url, overrides, 'test-remote');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

function factoryFor(server: ResolvedRemoteServer, options: Partial<RemoteLinkFactoryOptions> = {}): RemoteLinkFactory {
  const factory = createRemoteLinkFactory(server, { logger: silentLogger(), ...options });
  cleanups.push(() => factory.close());
  return factory;
}

async function openLink(factory: RemoteLinkFactory, probe = new Probe()): Promise<{ link: Link; probe: Probe }> {
  const link = await factory(probe);
  cleanups.push(() => link.close());
  return { link, probe };
}

function resultOf<T>(reply: JsonRpcResponse): T {
  expect(reply).toHaveProperty('result');
  return (reply as JsonRpcSuccess).result as T;
}

function toolText(reply: JsonRpcResponse): string {
  return resultOf<{ content: { text: string }[] }>(reply).content[0]!.text;
}

// --- Streamable HTTP --------------------------------------------------------------------

describe('Streamable HTTP', () => {
  it('initializes, lists and calls tools, and sends the static headers and protocol version on every request', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const factory = factoryFor(remote(server.url, { transport: 'streamable-http', headers: { Cookie: 'LtpaToken2=secret-value', 'X-Tenant': 'acme' } }));
    const { link, probe } = await openLink(factory);
    expect(link.description).toContain('streamable-http');

    const init = await handshake(link, probe);
    expect(init.serverInfo).toMatchObject({ name: 'remote-test-server' });
    expect(init.protocolVersion).toBe(PROTOCOL);

    const list = await probe.request(link, 2, 'tools/list');
    expect(resultOf<{ tools: { name: string }[] }>(list).tools.map((t) => t.name)).toEqual(['echo', 'interrupted']);

    const call = await probe.request(link, 3, 'tools/call', { name: 'echo', arguments: { text: 'hello' } });
    expect(toolText(call)).toBe('echo: hello');
    expect(resultOf<{ structuredContent: unknown }>(call).structuredContent).toEqual({ echoed: 'hello' });

    const posts = server.seen.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(4);
    for (const r of server.seen) {
      expect(r.headers.cookie).toBe('LtpaToken2=secret-value');
      expect(r.headers['x-tenant']).toBe('acme');
    }
    // MCP-Protocol-Version follows the negotiated version once initialize is done, and the session id travels.
    const afterInit = posts.slice(1);
    for (const r of afterInit) {
      expect(r.headers['mcp-protocol-version']).toBe(PROTOCOL);
      expect(r.headers['mcp-session-id']).toBeTypeOf('string');
    }
    expect(factory.detectedTransport).toBe('streamable-http');
  });

  it('receives server notifications on the standalone GET stream', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url, { transport: 'streamable-http' })));
    const opened = server.streamOpened();
    await handshake(link, probe);
    const sessionId = await opened;
    const notified = probe.notification('notifications/tools/list_changed');
    server.sessions.get(sessionId)!.server.sendToolListChanged();
    await expect(notified).resolves.toMatchObject({ method: 'notifications/tools/list_changed' });
  });

  it('works with a server that answers with JSON bodies instead of event streams', async () => {
    const server = await startStreamableServer({ jsonResponse: true });
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    const [a, b] = await Promise.all([
      probe.request(link, 'a', 'tools/call', { name: 'echo', arguments: { text: 'one' } }),
      probe.request(link, 'b', 'tools/call', { name: 'echo', arguments: { text: 'two' } }),
    ]);
    expect([toolText(a), toolText(b)]).toEqual(['echo: one', 'echo: two']);
  });

  it('closes the link with a clear reason when the server answers with a web page', async () => {
    const page = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>Please log in</html>'));
    const { url, close } = await listen(page, 'http', '/mcp');
    cleanups.push(close);
    const { link, probe } = await openLink(factoryFor(remote(url, { transport: 'streamable-http' })));
    await link.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('protocol');
    expect(reason.message).toBe(`${url} answered with text/html, not JSON or an event stream (a login page? check the URL and the configured headers)`);
  });

  it('resumes a response stream the server cut short (Last-Event-ID) and delivers the reply', async () => {
    const server = await startStreamableServer({ resumable: true });
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    // Priming event ids (what makes a stream resumable) come with 2025-11-25.
    await handshake(link, probe, '2025-11-25');
    const reply = await probe.request(link, 42, 'tools/call', { name: 'interrupted', arguments: {} });
    expect(reply.id).toBe(42);
    expect(toolText(reply)).toBe('answered after resumption');
    expect(server.seen.some((r) => r.method === 'GET' && typeof r.headers['last-event-id'] === 'string')).toBe(true);
    expect(probe.messages.filter((m) => 'id' in m && m.id === 42)).toHaveLength(1);
    expect(probe.closeReasons).toEqual([]);
  });

  it('counts a streamed reply as the answer even when the handler rewrites its id (as the multiplexer does)', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const seen: JsonRpcMessage[] = [];
    const rewriting: LinkHandlers = {
      onMessage: (m) => {
        seen.push({ ...m });
        if ('id' in m && !('method' in m) && typeof m.id === 'number') (m as { id: JsonRpcId }).id = `client-${m.id}`;
      },
      onClose: () => undefined,
    };
    const link = await factoryFor(remote(server.url))(rewriting);
    cleanups.push(() => link.close());
    await link.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: PROTOCOL, capabilities: {}, clientInfo: { name: 't', version: '0' } } });
    await expect.poll(() => seen.length).toBe(1);
    link.setProtocolVersion?.(PROTOCOL);
    await link.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'x' } } });
    await expect.poll(() => seen.length).toBe(2);
    // One more round trip: a spurious "ended without answering" error would have come by now.
    await link.send({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    await expect.poll(() => seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.filter((m) => 'error' in m)).toEqual([]);
    expect(seen.map((m) => ('id' in m ? m.id : undefined))).toEqual([1, 2, 3]);
  });

  it('answers a request whose event stream ends without a reply (and cannot resume) with a JSON-RPC error', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    const reply = await probe.request(link, 11, 'tools/call', { name: 'cut', arguments: {} });
    expect(reply).toMatchObject({ id: 11, error: { code: -32000, message: 'upstream "test-remote" ended the response stream without answering' } });
    expect(probe.closeReasons).toEqual([]);
  });

  it('answers a request whose POST fails with HTTP 500 with a JSON-RPC error, and keeps the link', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    const failed = await probe.request(link, 7, 'tools/call', { name: 'http500', arguments: {} });
    expect(failed).toMatchObject({ id: 7, error: { code: -32000, message: 'upstream "test-remote" answered HTTP 500' } });
    const ok = await probe.request(link, 8, 'tools/call', { name: 'echo', arguments: { text: 'still here' } });
    expect(toolText(ok)).toBe('echo: still here');
    expect(probe.closeReasons).toEqual([]);
  });

  it('answers a request that gets no response headers within timeoutMs with a timeout error', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url, { timeoutMs: 500 })));
    await handshake(link, probe);
    const failed = await probe.request(link, 9, 'tools/call', { name: 'hang', arguments: {} });
    expect(failed).toMatchObject({ id: 9, error: { code: -32001 } });
    const ok = await probe.request(link, 10, 'tools/list');
    expect(ok).toHaveProperty('result');
  });

  it('closes the link with a clear reason when the server answers 404 for an expired session', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    server.forgetSessions();
    await link.send({ jsonrpc: '2.0', id: 5, method: 'tools/list' });
    const reason = await probe.closed;
    expect(reason).toBeInstanceOf(RemoteLinkError);
    expect((reason as RemoteLinkError).code).toBe('session-expired');
    expect(reason.message).toMatch(/^session expired: .* answered HTTP 404/);
    await expect(link.send({ jsonrpc: '2.0', id: 6, method: 'tools/list' })).rejects.toBe(reason);
    expect(probe.closeReasons).toHaveLength(1);
  });

  it('closes an idle link when the server goes away', async () => {
    const server = await startStreamableServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    const opened = server.streamOpened();
    await handshake(link, probe);
    // A notification on the standalone stream proves the client holds that stream.
    const notified = probe.notification('notifications/tools/list_changed');
    server.sessions.get(await opened)!.server.sendToolListChanged();
    await notified;
    await server.close();
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('connection-refused');
    expect(reason.message).toBe(`lost the event stream: connection refused by ${new URL(server.url).host} (${server.url}): is the server running?`);
  });

  it('closes the link when the standalone stream cannot be reopened (retrying after the server\'s retry: delay)', async () => {
    // A hand-written server: its GET stream opens once with `retry: 10`, ends, and every
    // later GET gets HTTP 503.
    let gets = 0;
    const flaky = createServer((req, res) => {
      if (req.method === 'GET') {
        gets++;
        if (gets === 1) res.writeHead(200, { 'content-type': 'text/event-stream' }).end('retry: 10\n\n');
        else res.writeHead(503).end();
        return;
      }
      void readBody(req).then((body) => {
        const message = body as { id?: number; method: string };
        if (message.method === 'initialize') {
          res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'flaky-1' });
          res.end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: PROTOCOL, capabilities: {}, serverInfo: { name: 'flaky', version: '1' } } }));
        } else res.writeHead(202).end();
      });
    });
    const { url, close } = await listen(flaky, 'http', '/mcp');
    cleanups.push(close);
    const { link, probe } = await openLink(factoryFor(remote(url)));
    await handshake(link, probe);
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('connection-lost');
    expect(reason.message).toBe(`lost the event stream from ${url} and could not reopen it after 5 attempts: HTTP 503 from ${url}: server error`);
    expect(gets).toBe(6); // the stream, then five attempts
  });

  it('closes the link when a request finds the server gone', async () => {
    const server = await startStreamableServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    await server.close();
    await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' }).catch(() => undefined); // the stream may have noticed first
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('connection-refused');
    expect(reason.message).toContain(`connection refused by ${new URL(server.url).host}`);
  });

  it('closes the link with "connection refused" when nothing listens', async () => {
    const server = await startStreamableServer();
    const url = server.url;
    await server.close();
    const { link, probe } = await openLink(factoryFor(remote(url)));
    await link.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('connection-refused');
    expect(reason.message).toMatch(/^connection refused by 127\.0\.0\.1:\d+ .*is the server running\?/);
  });

  it('closes the link with "HTTP 401 ... needs credentials" when the server wants credentials', async () => {
    const server = await startStreamableServer({ requireCookie: 'session=good' });
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url, { headers: { Cookie: 'session=bad' } })));
    await link.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('http-status');
    expect(reason.status).toBe(401);
    expect(reason.message).toBe(`HTTP 401 from ${server.url}: needs credentials (set headers or oauth for this server)`);
    expect(reason.message).not.toContain('session=bad');
  });

  it('terminates the session with DELETE when the gateway closes the link', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    await link.close();
    expect(server.seen.some((r) => r.method === 'DELETE')).toBe(true);
    expect((probe.closeReasons[0] as RemoteLinkError).code).toBe('closed');
    await link.close(); // idempotent
    expect(probe.closeReasons).toHaveLength(1);
  });
});

// --- legacy SSE and auto ----------------------------------------------------------------

describe('legacy HTTP+SSE', () => {
  it('speaks the legacy transport when configured, with the static headers on the stream and the POSTs', async () => {
    const server = await startLegacySseServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url, { transport: 'sse', headers: { Cookie: 'LtpaToken2=abc' } })));
    expect(link.description).toContain('(sse)');
    const init = await handshake(link, probe);
    expect(init.serverInfo).toMatchObject({ name: 'legacy-sse-server' });
    const call = await probe.request(link, 2, 'tools/call', { name: 'echo', arguments: { text: 'old' } });
    expect(toolText(call)).toBe('legacy echo: old');
    expect(server.seen.length).toBeGreaterThanOrEqual(4);
    for (const r of server.seen) expect(r.headers.cookie).toBe('LtpaToken2=abc');
    const later = server.seen.filter((r) => r.method === 'POST').slice(1);
    for (const r of later) expect(r.headers['mcp-protocol-version']).toBe(init.protocolVersion);
  });

  it('auto falls back to SSE against an SSE-only server, and later links go straight to SSE', async () => {
    const server = await startLegacySseServer();
    cleanups.push(() => server.close());
    const factory = factoryFor(remote(server.url, { transport: 'auto' }));
    expect(factory.detectedTransport).toBeUndefined();

    const first = await openLink(factory);
    await handshake(first.link, first.probe);
    const call = await first.probe.request(first.link, 2, 'tools/call', { name: 'echo', arguments: { text: 'fallback' } });
    expect(toolText(call)).toBe('legacy echo: fallback');
    expect(factory.detectedTransport).toBe('sse');
    expect(first.link.description).toContain('(sse)');
    const probesBefore = server.seen.filter((r) => r.method === 'POST' && r.path === '/sse').length;
    expect(probesBefore).toBe(1); // the one Streamable HTTP attempt, answered 404

    const second = await openLink(factory);
    await handshake(second.link, second.probe);
    expect(server.seen.filter((r) => r.method === 'POST' && r.path === '/sse').length).toBe(probesBefore);
    expect(server.streams).toBe(2);
  });

  it('auto stays on Streamable HTTP against a Streamable HTTP server', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const factory = factoryFor(remote(server.url, { transport: 'auto' }));
    const { link, probe } = await openLink(factory);
    await handshake(link, probe);
    expect(factory.detectedTransport).toBe('streamable-http');
    expect(server.seen.some((r) => r.method === 'GET' && r.headers.accept === 'text/event-stream' && !r.headers['mcp-session-id'])).toBe(false);
  });

  it('auto probes with the lean Streamable HTTP link, so that the first link of a server is the fast one too', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url, { transport: 'auto' })));
    // The bridge makes one link for its whole life: it used to probe with the SDK transport
    // and stay on it (issue 4's figures). The probe is the lean link now.
    expect(link.description).toBe(`remote "test-remote" (streamable-http) ${server.url}`);
    await handshake(link, probe);
    expect(toolText(await probe.request(link, 2, 'tools/call', { name: 'echo', arguments: { text: 'lean' } }))).toBe('echo: lean');
  });

  it('auto closes the link naming both attempts when the URL speaks neither transport', async () => {
    const nothing = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('no such page'));
    const { url, close } = await listen(nothing, 'http', '/mcp');
    cleanups.push(close);
    const factory = factoryFor(remote(url, { transport: 'auto' }));
    const { link, probe } = await openLink(factory);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('http-status');
    expect(reason.message).toBe(`${url} speaks neither MCP transport: a Streamable HTTP POST got HTTP 404, and legacy SSE failed: HTTP 404 from ${url}: not found (check the URL)`);
    expect(probe.closeReasons).toHaveLength(1);
    await expect(link.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })).rejects.toBe(reason);
    expect(factory.detectedTransport).toBeUndefined();
  });

  it('closes an SSE link with a clear reason when the server drops the stream', async () => {
    const server = await startLegacySseServer();
    cleanups.push(() => server.close());
    const { link, probe } = await openLink(factoryFor(remote(server.url, { transport: 'sse' })));
    await handshake(link, probe);
    server.dropStreams();
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('connection-lost');
    expect(reason.message).toBe(`the server closed the event stream of ${server.url} (a legacy SSE session cannot be resumed)`);
  });

  it('closes an SSE link when a message finds the server gone', async () => {
    const server = await startLegacySseServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url, { transport: 'sse' })));
    await handshake(link, probe);
    await server.close();
    await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' }).catch(() => undefined);
    const reason = (await probe.closed) as RemoteLinkError;
    expect(['connection-lost', 'connection-refused']).toContain(reason.code);
    expect(reason.message).toContain(new URL(server.url).host);
  });

  it('rejects the factory with a clear reason when the SSE stream cannot be opened', async () => {
    const server = await startStreamableServer();
    cleanups.push(() => server.close());
    // A Streamable HTTP server answers a GET without a session with 400.
    const factory = factoryFor(remote(server.url, { transport: 'sse' }));
    const error = await factory(new Probe()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteLinkError);
    expect((error as RemoteLinkError).message).toBe(`HTTP 400 from ${server.url}: request refused`);
  });
});

// --- TLS --------------------------------------------------------------------------------


describe.skipIf(!hasOpenssl)('https with a self-signed certificate', () => {
  let dir: string;
  let certPath: string;
  let cert: string;
  let server: StreamableServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tls-'));
    certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    cert = readFileSync(certPath, 'utf8');
    server = await startStreamableServer({ https: { key: readFileSync(keyPath, 'utf8'), cert } });
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is refused by default with a TLS error that says why', async () => {
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await link.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} });
    const reason = (await probe.closed) as RemoteLinkError;
    expect(reason.code).toBe('tls');
    expect(reason.message).toContain('TLS error talking to 127.0.0.1');
    expect(reason.message).toContain('self-signed certificate');
  });

  it('is accepted with tls.ca as PEM text', async () => {
    const { link, probe } = await openLink(factoryFor(remote(server.url, { tls: { rejectUnauthorized: true, ca: cert } })));
    await handshake(link, probe);
    expect(await probe.request(link, 2, 'tools/list')).toHaveProperty('result');
  });

  it('is accepted with tls.ca as a file path', async () => {
    const { link, probe } = await openLink(factoryFor(remote(server.url, { tls: { rejectUnauthorized: true, ca: certPath } })));
    await handshake(link, probe);
    expect(await probe.request(link, 2, 'tools/list')).toHaveProperty('result');
  });

  it('is accepted with rejectUnauthorized: false', async () => {
    const { link, probe } = await openLink(factoryFor(remote(server.url, { tls: { rejectUnauthorized: false, ca: undefined } })));
    await handshake(link, probe);
    expect(await probe.request(link, 2, 'tools/list')).toHaveProperty('result');
  });

  it('refuses a tls.ca path that cannot be read, or holds no certificate, when the factory is made', () => {
    expect(() => createRemoteLinkFactory(remote(server.url, { tls: { rejectUnauthorized: true, ca: join(dir, 'missing.pem') } }), { logger: silentLogger() })).toThrow(
      /^tls\.ca: cannot read .*missing\.pem \(ENOENT\)$/,
    );
    const notPem = join(dir, 'not-pem.txt');
    writeFileSync(notPem, 'hello');
    expect(() => createRemoteLinkFactory(remote(server.url, { tls: { rejectUnauthorized: true, ca: notPem } }), { logger: silentLogger() })).toThrow(/holds no PEM certificate/);
  });
});

// --- URL policy at the factory ------------------------------------------------------------

describe('URL policy', () => {
  it('refuses plain http to a non-loopback host unless allowHttp is set', () => {
    const server = remote('http://mcp.example.com/mcp');
    expect(() => createRemoteLinkFactory(server, { logger: silentLogger() })).toThrow(RemoteLinkError);
    expect(() => createRemoteLinkFactory(server, { logger: silentLogger() })).toThrow(/refusing plain http to mcp\.example\.com .*--allow-http/);
    const allowed = createRemoteLinkFactory(server, { logger: silentLogger(), allowHttp: true });
    cleanups.push(() => allowed.close());
  });

  it('accepts http to loopback and https anywhere', () => {
    for (const url of ['http://127.0.0.1:3000/mcp', 'http://localhost/mcp', 'http://[::1]:8080/mcp', 'https://mcp.example.com/mcp']) {
      const factory = createRemoteLinkFactory(remote(url), { logger: silentLogger() });
      cleanups.push(() => factory.close());
    }
  });

  it('refuses a header that cannot be sent, naming it but not showing its value', () => {
    expect(() => createRemoteLinkFactory(remote('https://x.example/mcp', { headers: { Cookie: 'a=b\nInjected: yes' } }), { logger: silentLogger() })).toThrow(
      /^headers: "Cookie" is not a valid HTTP header name, or its value/,
    );
  });
});

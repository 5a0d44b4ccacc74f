// ModernExchange alone, over a fetch double: the 2026 envelope and the headers the SDK derives
// from it, replies matched by id, in-band errors behind HTTP statuses, aborts, and shutting down.
// Against a real 2026-07-28 server: modern-adapter.test.ts.
import type { FetchLike } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import type { JsonRpcNotification } from '../../jsonrpc/index.js';
import { silentLogger } from '../../observability/index.js';
import { RemoteLinkError } from './errors.js';
import type { HttpClient } from './http-client.js';
import type { RemoteLinkContext } from './link-context.js';
import { ModernExchange } from './modern-exchange.js';

interface Seen {
  readonly headers: Headers;
  readonly body: { id: string; method: string; params: Record<string, unknown> };
}

type Answer = (seen: Seen, signal: AbortSignal | undefined) => Response | Promise<Response>;

const json = (body: unknown, status = 200): Response => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function setup(answer: Answer): { exchange: ModernExchange; seen: Seen[]; notes: JsonRpcNotification[]; close: (reason: RemoteLinkError) => void } {
  const seen: Seen[] = [];
  const notes: JsonRpcNotification[] = [];
  let closed: RemoteLinkError | undefined;
  const fetch: FetchLike = async (_url, init) => {
    const s: Seen = { headers: new Headers(init?.headers), body: JSON.parse(init?.body as string) as Seen['body'] };
    seen.push(s);
    return answer(s, init?.signal ?? undefined);
  };
  const http: HttpClient = { fetchFor: () => fetch, serverDispatcher: undefined as never, wire: undefined as never, close: () => Promise.resolve() };
  const ctx: RemoteLinkContext = { name: 'srv', url: new URL('http://upstream.test/mcp'), timeoutMs: 5_000, http, logger: silentLogger(), authProvider: undefined };
  const exchange = new ModernExchange({
    ctx,
    closed: () => closed,
    envelope: () => ({ 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'c', version: '1' } }),
    notification: (n) => notes.push(n),
  });
  return { exchange, seen, notes, close: (reason) => (closed = reason) };
}

describe('ModernExchange', () => {
  it('posts with the envelope (the request’s own _meta keys win), counts ids, and matches the reply', async () => {
    const { exchange, seen } = setup(({ body }) => json({ jsonrpc: '2.0', id: body.id, result: { tools: [] } }));
    await exchange.start();
    const reply = await exchange.post('tools/list', { cursor: 'c1', _meta: { 'io.modelcontextprotocol/clientInfo': { name: 'mine', version: '2' } } });
    expect(reply).toEqual({ jsonrpc: '2.0', id: 'g-1', result: { tools: [] } });
    expect(seen[0]!.body).toEqual({
      jsonrpc: '2.0',
      id: 'g-1',
      method: 'tools/list',
      params: {
        cursor: 'c1',
        _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 'mine', version: '2' } },
      },
    });
    expect(seen[0]!.headers.get('mcp-protocol-version')).toBe('2026-07-28');
    expect(seen[0]!.headers.get('mcp-method')).toBe('tools/list');

    expect(exchange.newId()).toBe('g-2');
    await exchange.post('tools/call', { name: 'echo', arguments: {} }, undefined, { 'Mcp-Param-Region': 'eu' });
    expect(seen[1]!.body.id).toBe('g-3');
    expect(seen[1]!.headers.get('mcp-name')).toBe('echo');
    expect(seen[1]!.headers.get('mcp-param-region')).toBe('eu');
    await exchange.post('ping', {}, undefined, undefined, 'own-id');
    expect(seen[2]!.body.id).toBe('own-id');
  });

  it('resolves with a JSON-RPC error sent behind an HTTP error status; rejects when the status has no JSON-RPC body', async () => {
    const { exchange } = setup(({ body }) =>
      body.method === 'nope' ? json({ jsonrpc: '2.0', id: body.id, error: { code: -32601, message: 'Method not found' } }, 404) : new Response('busy', { status: 503 }),
    );
    await exchange.start();
    await expect(exchange.post('nope', {})).resolves.toEqual({ jsonrpc: '2.0', id: 'g-1', error: { code: -32601, message: 'Method not found', data: undefined } });
    const failure = await exchange.post('tools/list', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RemoteLinkError);
  });

  it('hands notifications of a response stream to the host, then the reply to the caller', async () => {
    const { exchange, notes } = setup(({ body }) => {
      const events = [
        { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } },
        { jsonrpc: '2.0', id: body.id, result: { content: [] } },
      ];
      const text = events.map((e) => `event: message\ndata: ${JSON.stringify(e)}\n\n`).join('');
      return new Response(text, { headers: { 'content-type': 'text/event-stream' } });
    });
    await exchange.start();
    await expect(exchange.post('tools/call', { name: 'slow' })).resolves.toMatchObject({ id: 'g-1', result: { content: [] } });
    expect(notes).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 1 } }]);
  });

  it('rejects an aborted request, every request in flight on shut, and any request once the link is closed', async () => {
    const { exchange, close } = setup(
      (_seen, signal) =>
        new Promise<Response>((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
        }),
    );
    await exchange.start();
    const abort = new AbortController();
    const aborted = exchange.post('tools/call', { name: 'a' }, abort.signal);
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'closed', message: 'tools/call aborted' });

    const hanging = exchange.post('tools/list', {}, new AbortController().signal);
    const reason = new RemoteLinkError('closed', 'link closed by the gateway');
    close(reason);
    exchange.shut(reason, false);
    await expect(hanging).rejects.toBe(reason);
    await expect(exchange.post('ping', {})).rejects.toBe(reason);
    await exchange.close();
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Dispatcher, DownstreamSink } from '../gateway/index.js';
import { ErrorCode, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../jsonrpc/index.js';
import { silentLogger } from '../observability/index.js';
import { ToolCatalog } from './tool-catalog.js';

/** A fake server session: answers tools/list and tools/call `echo`; `hang` never answers. */
class FakeSession implements Dispatcher {
  readonly initializeResult = { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'fake', version: '1' } };
  readonly requests: JsonRpcRequest[] = [];
  readonly notifications: JsonRpcNotification[] = [];
  readonly responses: JsonRpcResponse[] = [];
  readonly #pending = new Map<string | number, (r: JsonRpcResponse) => void>();
  closed = false;
  constructor(readonly sink: DownstreamSink) {}
  get inFlight(): number {
    return this.#pending.size;
  }
  request(request: JsonRpcRequest): Promise<JsonRpcResponse> {
    this.requests.push(request);
    if (request.method === 'tools/list') return Promise.resolve({ jsonrpc: '2.0', id: request.id, result: { tools: [{ name: 'echo', inputSchema: { type: 'object' } }] } });
    if (request.params?.name === 'hang') return new Promise((resolve) => this.#pending.set(request.id, resolve));
    return Promise.resolve({ jsonrpc: '2.0', id: request.id, result: { content: [{ type: 'text', text: JSON.stringify(request.params?.arguments) }] } });
  }
  notify(notification: JsonRpcNotification): void {
    this.notifications.push(notification);
    const id = notification.params?.requestId as string | undefined;
    if (notification.method === 'notifications/cancelled' && id !== undefined) {
      this.#pending.get(id)?.({ jsonrpc: '2.0', id, error: { code: -32800, message: 'Request cancelled' } });
      this.#pending.delete(id);
    }
  }
  respond(response: JsonRpcResponse): void {
    this.responses.push(response);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

function catalog(options: { isolated?: string[]; idleMs?: number; callTimeoutMs?: number } = {}) {
  const sessions: { server: string; session: FakeSession }[] = [];
  const c = new ToolCatalog({
    open: (server, sink) => {
      const session = new FakeSession(sink);
      sessions.push({ server, session });
      return Promise.resolve(session);
    },
    clientInfo: { name: 'test', version: '1' },
    logger: silentLogger(),
    isolated: new Set(options.isolated ?? []),
    ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
    ...(options.callTimeoutMs !== undefined ? { callTimeoutMs: options.callTimeoutMs } : {}),
  });
  return { c, sessions };
}

const lists = (s: FakeSession) => s.requests.filter((r) => r.method === 'tools/list').length;

afterEach(() => {
  vi.useRealTimers();
});

describe('ToolCatalog', () => {
  it('keeps the tool list until the server announces a change', async () => {
    const { c, sessions } = catalog();
    expect((await c.tools('a')).map((t) => t.name)).toEqual(['echo']);
    await c.tools('a');
    const session = sessions[0]!.session;
    expect(lists(session)).toBe(1);
    session.sink.deliver({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }, undefined);
    await c.tools('a');
    expect(lists(session)).toBe(2);
    await c.close();
  });

  it('lists again after maxAge even without an announcement', async () => {
    vi.useFakeTimers();
    const { c, sessions } = catalog();
    await c.tools('a');
    vi.advanceTimersByTime(61_000);
    await c.tools('a');
    expect(lists(sessions[0]!.session)).toBe(2);
    await c.close();
  });

  it('opens a session per caller on isolated servers and closes it when idle', async () => {
    vi.useFakeTimers();
    const { c, sessions } = catalog({ isolated: ['iso'], idleMs: 60_000 });
    await c.call('iso', 'echo', { n: 1 }, 'user:alice');
    await c.call('iso', 'echo', { n: 2 }, 'user:alice');
    await c.call('iso', 'echo', { n: 3 }, 'user:bob');
    await c.call('shared', 'echo', {}, 'user:alice');
    await c.call('shared', 'echo', {}, 'user:bob');
    expect(sessions.map((s) => s.server)).toEqual(['iso', 'iso', 'shared']);
    expect(c.sessionCount).toBe(3);
    await vi.advanceTimersByTimeAsync(121_000);
    expect(c.sessionCount).toBe(1);
    expect(sessions.filter((s) => s.session.closed).map((s) => s.server)).toEqual(['iso', 'iso']);
    await c.close();
  });

  it('gives up on a call after callTimeoutMs: a timeout error, and the server is told to cancel', async () => {
    vi.useFakeTimers();
    const { c, sessions } = catalog({ callTimeoutMs: 5_000 });
    const reply = c.call('a', 'hang', {}, 'p');
    await vi.advanceTimersByTimeAsync(5_001);
    const r = await reply;
    expect('error' in r && r.error.code).toBe(ErrorCode.RequestTimeout);
    expect(sessions[0]!.session.notifications.map((n) => n.method)).toEqual(['notifications/cancelled']);
    await c.close();
  });

  it('answers server requests itself: ping with {}, anything else with an error', async () => {
    const { c, sessions } = catalog();
    await c.tools('a');
    const { session } = sessions[0]!;
    session.sink.deliver({ jsonrpc: '2.0', id: 's1', method: 'ping' }, undefined);
    session.sink.deliver({ jsonrpc: '2.0', id: 's2', method: 'sampling/createMessage', params: {} }, undefined);
    await new Promise((r) => setImmediate(r));
    expect(session.responses).toEqual([
      { jsonrpc: '2.0', id: 's1', result: {} },
      { jsonrpc: '2.0', id: 's2', error: { code: ErrorCode.MethodNotFound, message: 'sampling/createMessage is not available to REST callers' } },
    ]);
    await c.close();
  });

  it('opens a new session after the old one ended', async () => {
    const { c, sessions } = catalog();
    await c.tools('a');
    sessions[0]!.session.sink.closed?.(new Error('gone'));
    await c.call('a', 'echo', {}, 'p');
    expect(sessions).toHaveLength(2);
    await c.close();
  });
});

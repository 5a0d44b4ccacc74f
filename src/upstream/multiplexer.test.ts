import { describe, expect, it } from 'vitest';
import type { JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/index.js';
import { silentLogger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import { Multiplexer, type MultiplexerOptions, type MuxChannel } from './multiplexer.js';
import type { ChannelHandlers, InitializeResult, Link } from './types.js';

/** A message as the tests read it off the wire: loose on purpose, so assertions reach any field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Wire = any;

// The link is a recording double here; the real stdio link runs in upstream.test.ts.
class RecordingLink implements Link {
  readonly description = 'memory';
  readonly sent: JsonRpcMessage[] = [];
  send(message: JsonRpcMessage): Promise<void> {
    this.sent.push(structuredClone(message));
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  requests(method?: string): JsonRpcRequest[] {
    return this.sent.filter((m): m is JsonRpcRequest => 'id' in m && 'method' in m && (method === undefined || m.method === method));
  }
  notifications(method: string): JsonRpcMessage[] {
    return this.sent.filter((m) => 'method' in m && !('id' in m) && m.method === method);
  }
  last(): JsonRpcMessage {
    return this.sent[this.sent.length - 1]!;
  }
}

class Probe implements ChannelHandlers {
  readonly messages: JsonRpcMessage[] = [];
  closed: Error | undefined;
  onMessage(message: JsonRpcMessage): void {
    this.messages.push(structuredClone(message));
  }
  onClose(reason: Error): void {
    this.closed = reason;
  }
  response(id: string | number): Wire {
    return this.messages.find((m) => !('method' in m) && m.id === id);
  }
  notifications(method: string): Wire[] {
    return this.messages.filter((m) => 'method' in m && !('id' in m) && m.method === method);
  }
  requests(method: string): Wire[] {
    return this.messages.filter((m) => 'method' in m && 'id' in m && m.method === method);
  }
}

const INIT: InitializeResult = { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 'mem', version: '1' } };

function setup(options: Partial<MultiplexerOptions> = {}) {
  const mux = new Multiplexer({ name: 'mem', logger: silentLogger(), ...options });
  const link = new RecordingLink();
  mux.attachLink(link);
  mux.release();
  const open = (): { ch: MuxChannel; probe: Probe } => {
    const probe = new Probe();
    const ch = mux.openChannel(probe, { initializeResult: () => INIT });
    return { ch, probe };
  };
  return { mux, link, open };
}

const call = (id: string | number, name = 'echo', meta?: Record<string, unknown>): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: meta ? { name, arguments: {}, _meta: meta } : { name, arguments: {} },
});
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Multiplexer: ids and progress', () => {
  it('gives upstream unique integer ids and hands each reply back with the channel\'s own id', () => {
    const { link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(1));
    b.ch.send(call(1));
    b.ch.send(call('x'));
    const [ra, rb, rx] = link.requests('tools/call');
    expect(new Set([ra!.id, rb!.id, rx!.id]).size).toBe(3);
    for (const r of [ra, rb, rx]) expect(Number.isInteger(r!.id)).toBe(true);
    expect(a.ch.inFlight).toBe(1);
    expect(b.ch.inFlight).toBe(2);
  });

  it('routes replies, in any order, to the right channel', () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(1));
    b.ch.send(call(1));
    const [ra, rb] = link.requests('tools/call');
    mux.handleMessage({ jsonrpc: '2.0', id: rb!.id, result: { who: 'b' } });
    mux.handleMessage({ jsonrpc: '2.0', id: ra!.id, error: { code: -32602, message: 'bad' } });
    expect(a.probe.messages).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: -32602, message: 'bad' } }]);
    expect(b.probe.messages).toEqual([{ jsonrpc: '2.0', id: 1, result: { who: 'b' } }]);
    expect(a.ch.inFlight + b.ch.inFlight).toBe(0);
    // A second answer to the same id is dropped.
    mux.handleMessage({ jsonrpc: '2.0', id: ra!.id, result: {} });
    expect(a.probe.messages).toHaveLength(1);
  });

  it('does not change the message the channel passed in', () => {
    const { open } = setup();
    const a = open();
    const request = call(5, 'echo', { progressToken: 'p' });
    const before = structuredClone(request);
    a.ch.send(request);
    expect(request).toEqual(before);
  });

  it('gives each request a unique progress token and routes progress back with the channel\'s token', () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(1, 'progress', { progressToken: 'tok', other: 'kept' }));
    b.ch.send(call(1, 'progress', { progressToken: 'tok' }));
    const [ra, rb] = link.requests('tools/call');
    const ta = (ra!.params!._meta as Record<string, unknown>).progressToken;
    const tb = (rb!.params!._meta as Record<string, unknown>).progressToken;
    expect(ta).not.toBe(tb);
    expect((ra!.params!._meta as Record<string, unknown>).other).toBe('kept');

    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: tb, progress: 1 } });
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: ta, progress: 2 } });
    expect(a.probe.notifications('notifications/progress')).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok', progress: 2 } }]);
    expect(b.probe.notifications('notifications/progress')).toEqual([{ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'tok', progress: 1 } }]);

    // After the reply, progress for that token goes nowhere; unknown tokens too.
    mux.handleMessage({ jsonrpc: '2.0', id: ra!.id, result: {} });
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: ta, progress: 3 } });
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'nobody', progress: 3 } });
    expect(a.probe.notifications('notifications/progress')).toHaveLength(1);
  });

  it('maps a client cancellation to the upstream id and ignores the late reply', () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(7));
    b.ch.send(call(7));
    const [ra] = link.requests('tools/call');
    a.ch.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 7, reason: 'user' } });
    expect(link.notifications('notifications/cancelled')).toEqual([
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: ra!.id, reason: 'user' } },
    ]);
    expect(a.ch.inFlight).toBe(0);
    expect(b.ch.inFlight).toBe(1);
    mux.handleMessage({ jsonrpc: '2.0', id: ra!.id, result: {} });
    expect(a.probe.messages).toEqual([]);
    // Cancelling what is not in flight sends nothing.
    a.ch.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } });
    expect(link.notifications('notifications/cancelled')).toHaveLength(1);
  });
});

describe('Multiplexer: server-to-client requests', () => {
  it('sends them to the one channel with a call in flight, and returns the answer with the server\'s id', () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(1));
    b.ch.send({ jsonrpc: '2.0', id: 1, method: 'tools/list' }); // cannot have caused it
    mux.handleMessage({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: { messages: [] } });
    a.ch.send(call(2)); // a second call of the same channel: still unambiguous
    mux.handleMessage({ jsonrpc: '2.0', id: 'srv-2', method: 'roots/list' });
    expect(b.probe.requests('sampling/createMessage')).toEqual([]);
    expect(b.probe.requests('roots/list')).toEqual([]);
    expect(a.probe.requests('roots/list')).toHaveLength(1);
    const [req] = a.probe.requests('sampling/createMessage');
    expect(req.id).not.toBe('srv-1');
    a.ch.send({ jsonrpc: '2.0', id: req.id, result: { role: 'assistant', content: { type: 'text', text: 'ok' } } });
    expect(link.last()).toEqual({ jsonrpc: '2.0', id: 'srv-1', result: { role: 'assistant', content: { type: 'text', text: 'ok' } } });
    // Only the owner may answer, and only once.
    b.ch.send({ jsonrpc: '2.0', id: req.id, result: {} });
    a.ch.send({ jsonrpc: '2.0', id: req.id, result: {} });
    expect(link.sent.filter((m) => !('method' in m))).toHaveLength(1);
  });

  it('refuses them when several channels have a call in flight, or none has and several are open', () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    mux.handleMessage({ jsonrpc: '2.0', id: 'idle', method: 'roots/list' });
    expect(link.last()).toMatchObject({ id: 'idle', error: { code: -32603, message: expect.stringContaining('cannot tell which client') } });
    a.ch.send(call(1));
    b.ch.send(call(1));
    mux.handleMessage({ jsonrpc: '2.0', id: 'busy', method: 'sampling/createMessage', params: { messages: [] } });
    expect(link.last()).toMatchObject({ id: 'busy', error: { code: -32603, message: expect.stringContaining('sharing: per-session') } });
    mux.handleMessage({ jsonrpc: '2.0', id: 1, result: {} }); // a's call is done: only b's is left
    mux.handleMessage({ jsonrpc: '2.0', id: 'b', method: 'elicitation/create', params: {} });
    expect(b.probe.requests('elicitation/create')).toHaveLength(1);
    expect(a.probe.messages.filter((m) => 'method' in m)).toEqual([]);
  });

  it('sends them to the only channel open when nothing is in flight', () => {
    const { mux, open } = setup();
    const a = open();
    mux.handleMessage({ jsonrpc: '2.0', id: 3, method: 'roots/list' });
    expect(a.probe.requests('roots/list')).toHaveLength(1);
  });

  it('leaves out a channel waiting on its own question, except for what may be the rest of a burst', () => {
    const { mux, link, open } = setup();
    const x = open();
    const y = open();
    const noise = () => mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    y.ch.send(call(1));
    mux.handleMessage({ jsonrpc: '2.0', id: 'y1', method: 'elicitation/create', params: {} });
    const [y1] = y.probe.requests('elicitation/create');
    // y waits for its answer; x's call starts after y's question: x's question is x's.
    x.ch.send(call(1));
    mux.handleMessage({ jsonrpc: '2.0', id: 'x1', method: 'sampling/createMessage', params: {} });
    expect(x.probe.requests('sampling/createMessage')).toHaveLength(1);
    // Both wait. Right after x's question, with nobody live: the rest of x's burst.
    mux.handleMessage({ jsonrpc: '2.0', id: 'x2', method: 'sampling/createMessage', params: {} });
    expect(x.probe.requests('sampling/createMessage')).toHaveLength(2);
    expect(y.probe.requests('sampling/createMessage')).toEqual([]);
    // y answered: live again, with a call older than x's question. Right after x's
    // question the message could be x's or y's: refused.
    y.ch.send({ jsonrpc: '2.0', id: y1.id, result: { action: 'decline' } });
    mux.handleMessage({ jsonrpc: '2.0', id: 'r1', method: 'roots/list' });
    expect(link.last()).toMatchObject({ id: 'r1', error: { code: -32603 } });
    // Not right after: x is left out, y is the one live channel.
    noise();
    mux.handleMessage({ jsonrpc: '2.0', id: 'r2', method: 'roots/list' });
    expect(y.probe.requests('roots/list')).toHaveLength(1);
    expect(x.probe.requests('roots/list')).toEqual([]);
  });

  it('answers ping itself, and roots/list with no roots when no channel is open', () => {
    const { mux, link } = setup();
    mux.handleMessage({ jsonrpc: '2.0', id: 'p', method: 'ping' });
    expect(link.last()).toEqual({ jsonrpc: '2.0', id: 'p', result: {} });
    mux.handleMessage({ jsonrpc: '2.0', id: 'r', method: 'roots/list' });
    expect(link.last()).toEqual({ jsonrpc: '2.0', id: 'r', result: { roots: [] } });
    mux.handleMessage({ jsonrpc: '2.0', id: 's', method: 'sampling/createMessage', params: {} });
    expect(link.last()).toMatchObject({ id: 's', error: { code: -32603 } });
  });

  it('maps the server\'s cancellation of its own request, and routes elicitation completion to its channel', () => {
    const { mux, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(1));
    mux.handleMessage({ jsonrpc: '2.0', id: 41, method: 'sampling/createMessage', params: {} });
    const [req] = a.probe.requests('sampling/createMessage');
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 41 } });
    expect(a.probe.notifications('notifications/cancelled')).toEqual([{ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: req.id } }]);

    mux.handleMessage({ jsonrpc: '2.0', id: 42, method: 'elicitation/create', params: { mode: 'url', elicitationId: 'e1' } });
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/elicitation/complete', params: { elicitationId: 'e1' } });
    expect(a.probe.notifications('notifications/elicitation/complete')).toHaveLength(1);
    expect(b.probe.notifications('notifications/elicitation/complete')).toHaveLength(0);
  });
});

describe('Multiplexer: notifications and subscriptions', () => {
  it('sends list_changed to every channel, and log messages only to the one busy channel', async () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' });
    expect(a.probe.notifications('notifications/tools/list_changed')).toHaveLength(1);
    expect(b.probe.notifications('notifications/tools/list_changed')).toHaveLength(1);

    const log = (data: string) => mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } });
    log('idle'); // two channels open, none busy: nobody's for sure
    expect(a.probe.notifications('notifications/message')).toHaveLength(0);
    expect(b.probe.notifications('notifications/message')).toHaveLength(0);
    b.ch.send(call(1));
    log('b busy');
    expect(a.probe.notifications('notifications/message')).toHaveLength(0);
    expect(b.probe.notifications('notifications/message').map((n): unknown => n.params.data)).toEqual(['b busy']);
    a.ch.send(call(1));
    log('both busy');
    expect(a.probe.notifications('notifications/message')).toHaveLength(0);
    expect(b.probe.notifications('notifications/message')).toHaveLength(1);
    await b.ch.close();
    mux.handleMessage({ jsonrpc: '2.0', id: link.requests('tools/call')[1]!.id, result: {} });
    log('alone');
    expect(a.probe.notifications('notifications/message').map((n): unknown => n.params.data)).toEqual(['alone']);
  });

  it('subscribes upstream once per uri, unsubscribes with the last subscriber, and delivers updates to subscribers only', async () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    const c = open();
    const sub = (ch: MuxChannel, id: number, method = 'resources/subscribe') => ch.send({ jsonrpc: '2.0', id, method, params: { uri: 'file:///x' } });

    sub(a.ch, 1);
    expect(link.requests('resources/subscribe')).toHaveLength(1);
    mux.handleMessage({ jsonrpc: '2.0', id: link.requests('resources/subscribe')[0]!.id, result: {} });
    expect(a.probe.response(1)).toEqual({ jsonrpc: '2.0', id: 1, result: {} });
    sub(b.ch, 2);
    sub(b.ch, 3);
    await flush();
    expect(link.requests('resources/subscribe')).toHaveLength(1);
    expect(b.probe.response(2)).toEqual({ jsonrpc: '2.0', id: 2, result: {} });
    expect(b.probe.response(3)).toEqual({ jsonrpc: '2.0', id: 3, result: {} });

    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///x' } });
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///other' } });
    expect(a.probe.notifications('notifications/resources/updated')).toHaveLength(1);
    expect(b.probe.notifications('notifications/resources/updated')).toHaveLength(1);
    expect(c.probe.notifications('notifications/resources/updated')).toHaveLength(0);

    sub(c.ch, 4, 'resources/unsubscribe'); // not subscribed: answered here
    sub(a.ch, 5, 'resources/unsubscribe'); // b still holds it: answered here
    await flush();
    expect(link.requests('resources/unsubscribe')).toHaveLength(0);
    expect(c.probe.response(4)).toMatchObject({ result: {} });
    expect(a.probe.response(5)).toMatchObject({ result: {} });
    mux.handleMessage({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'file:///x' } });
    expect(a.probe.notifications('notifications/resources/updated')).toHaveLength(1);
    expect(b.probe.notifications('notifications/resources/updated')).toHaveLength(2);

    sub(b.ch, 6, 'resources/unsubscribe'); // the last one: forwarded
    const [unsub] = link.requests('resources/unsubscribe');
    expect(unsub!.params).toEqual({ uri: 'file:///x' });
    mux.handleMessage({ jsonrpc: '2.0', id: unsub!.id, result: {} });
    expect(b.probe.response(6)).toEqual({ jsonrpc: '2.0', id: 6, result: {} });
  });

  it('forgets a subscription the server refused, and unsubscribes for a channel that closes', async () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'u:1' } });
    mux.handleMessage({ jsonrpc: '2.0', id: link.requests('resources/subscribe')[0]!.id, error: { code: -32002, message: 'no such resource' } });
    b.ch.send({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'u:1' } });
    expect(link.requests('resources/subscribe')).toHaveLength(2);
    mux.handleMessage({ jsonrpc: '2.0', id: link.requests('resources/subscribe')[1]!.id, result: {} });

    await b.ch.close();
    expect(link.requests('resources/unsubscribe').map((r) => r.params)).toEqual([{ uri: 'u:1' }]);
    expect(b.probe.closed).toBeInstanceOf(UpstreamError);
  });
});

describe('Multiplexer: link failures, waiting and timeouts', () => {
  it('answers every request in flight at once when the link closes, naming the upstream', () => {
    const { mux, link, open } = setup();
    const a = open();
    const b = open();
    a.ch.send(call(1));
    b.ch.send(call('q'));
    mux.linkClosed(link, new UpstreamError('exited', 'mem', 'exited (code 1)'));
    expect(a.probe.response(1)).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'upstream "mem" exited (code 1)' } });
    expect(b.probe.response('q')).toEqual({ jsonrpc: '2.0', id: 'q', error: { code: -32000, message: 'upstream "mem" exited (code 1)' } });
    expect(a.ch.inFlight).toBe(0);
    // Another kind of error gets the name too.
    const other = setup();
    const c = other.open();
    c.ch.send(call(1));
    other.mux.linkClosed(other.link, new Error('connection reset'));
    expect(c.probe.response(1).error.message).toBe('upstream "mem": connection reset');
  });

  it('holds traffic while no link is up, sends it on the next link, and subscribes again', async () => {
    const needs: number[] = [];
    const { mux, link, open } = setup({ onNeedLink: () => needs.push(1) });
    const a = open();
    a.ch.send({ jsonrpc: '2.0', id: 1, method: 'resources/subscribe', params: { uri: 'u:1' } });
    mux.handleMessage({ jsonrpc: '2.0', id: link.requests()[0]!.id, result: {} });
    mux.linkClosed(link, new Error('gone'));

    a.ch.send(call(2));
    a.ch.send({ jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
    a.ch.send(call(3));
    a.ch.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 3 } });
    expect(needs.length).toBeGreaterThan(0);
    await flush();
    expect(a.probe.response(2)).toBeUndefined();

    const next = new RecordingLink();
    mux.attachLink(next);
    const init = mux.request('initialize', { protocolVersion: 'x' });
    expect(next.requests().map((r) => r.method)).toEqual(['initialize']); // the handshake goes first
    mux.handleMessage({ jsonrpc: '2.0', id: next.requests()[0]!.id, result: { ok: true } });
    await expect(init).resolves.toEqual({ ok: true });
    mux.release();
    expect(next.sent.map((m) => ('method' in m ? m.method : 'reply'))).toEqual([
      'initialize',
      'resources/subscribe',
      'tools/call',
      'notifications/roots/list_changed',
    ]);
  });

  it('gives up on waiting traffic after waitForLinkMs, and fails at once under setFailFast', async () => {
    const { mux, link, open } = setup({ waitForLinkMs: 30 });
    const a = open();
    mux.linkClosed(link, new Error('gone'));
    a.ch.send(call(1));
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(a.probe.response(1)).toMatchObject({ error: { code: -32000, message: expect.stringContaining('upstream "mem" is not connected') } });

    mux.setFailFast(new UpstreamError('command_not_found', 'mem', 'could not start: command not found: x'));
    a.ch.send(call(2));
    expect(a.probe.response(2)).toBeUndefined(); // never inside send
    await flush();
    expect(a.probe.response(2)).toMatchObject({ error: { code: -32000, message: 'upstream "mem" could not start: command not found: x' } });
  });

  it('answers -32001 after requestTimeoutMs and cancels upstream', async () => {
    const { mux, link, open } = setup({ requestTimeoutMs: 20 });
    const a = open();
    a.ch.send(call(1));
    const [r] = link.requests('tools/call');
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(a.probe.response(1)).toMatchObject({ error: { code: -32001, message: 'upstream "mem" did not answer tools/call within 20 ms' } });
    expect(link.notifications('notifications/cancelled')).toEqual([
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: r!.id, reason: 'no answer within 20 ms' } },
    ]);
    mux.handleMessage({ jsonrpc: '2.0', id: r!.id, result: {} });
    expect(a.probe.messages).toHaveLength(1);
  });

  it('on Channel.close cancels its requests upstream and answers its server requests', async () => {
    const { mux, link, open } = setup();
    const a = open();
    a.ch.send(call(1));
    mux.handleMessage({ jsonrpc: '2.0', id: 'srv', method: 'elicitation/create', params: {} });
    await a.ch.close();
    expect(link.notifications('notifications/cancelled')).toHaveLength(1);
    expect(link.sent.find((m) => !('method' in m))).toMatchObject({ id: 'srv', error: { code: -32603 } });
    expect(a.probe.closed).toBeDefined();
    a.ch.send(call(2));
    expect(link.requests('tools/call')).toHaveLength(1);
    await a.ch.close(); // idempotent
  });

  it('answers initialize itself and ends every channel on close', async () => {
    const { mux, open } = setup();
    const a = open();
    a.ch.send({ jsonrpc: '2.0', id: 'i', method: 'initialize', params: {} });
    await flush();
    expect(a.probe.response('i')).toEqual({ jsonrpc: '2.0', id: 'i', result: INIT });
    a.ch.send(call(1));
    mux.close(new UpstreamError('closed', 'mem', 'closed'));
    expect(a.probe.response(1)).toMatchObject({ error: { code: -32000, message: 'upstream "mem" closed' } });
    expect(a.probe.closed?.message).toBe('upstream "mem" closed');
    expect(() => mux.openChannel(new Probe(), { initializeResult: () => INIT })).toThrow('closed');
  });
});

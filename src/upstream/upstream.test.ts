import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedStdioServer } from '../config/resolved.js';
import type { JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/index.js';
import { createLogger, silentLogger, type Logger } from '../observability/index.js';
import {
  createStdioUpstream,
  GATEWAY_PROTOCOL_VERSION,
  UpstreamError,
  type Channel,
  type ChannelHandlers,
  type StdioUpstreamOptions,
  type Upstream,
} from './index.js';

/** A message as the tests read it off the wire: loose on purpose, so assertions reach any field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Wire = any;

const FIXTURE = fileURLToPath(new URL('./test-fixtures/raw-server.mjs', import.meta.url));
const require = createRequire(import.meta.url);
const EVERYTHING = join(dirname(require.resolve('@modelcontextprotocol/server-everything/package.json')), 'dist/index.js');
const CLIENT_INFO = { name: 'gatehouse', version: '0.1.0-test' };

function server(extra: Partial<ResolvedStdioServer> = {}): ResolvedStdioServer {
  return {
    kind: 'stdio',
    name: 'raw',
    command: process.execPath,
    args: [FIXTURE],
    env: {},
    cwd: undefined,
    sharing: 'shared',
    tools: undefined,
    tokens: undefined,
    description: undefined,
    ...extra,
  };
}

const upstreams: Upstream[] = [];
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

function make(s: ResolvedStdioServer, options: Partial<StdioUpstreamOptions> = {}): Upstream {
  const u = createStdioUpstream(s, {
    logger: silentLogger(),
    clientInfo: CLIENT_INFO,
    restartBackoff: { initialMs: 50 },
    link: { killGraceMs: 500 },
    ...options,
  });
  upstreams.push(u);
  return u;
}

/** A downstream session as the tests see it: what arrived, and ways to wait for more. */
class Client implements ChannelHandlers {
  readonly messages: JsonRpcMessage[] = [];
  closed: Error | undefined;
  channel!: Channel;
  #waiters: { pred: (m: Wire) => boolean; resolve: (m: Wire) => void }[] = [];
  /** Answers server requests by method, as a real client would. */
  answers: Record<string, (req: JsonRpcRequest) => Record<string, unknown>> = {};

  onMessage(m: JsonRpcMessage): void {
    this.messages.push(structuredClone(m));
    for (const w of [...this.#waiters]) {
      if (w.pred(m)) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(structuredClone(m));
      }
    }
    if ('method' in m && 'id' in m) {
      const answer = this.answers[m.method];
      if (answer) this.channel.send({ jsonrpc: '2.0', id: m.id, result: answer(m) });
    }
  }
  onClose(reason: Error): void {
    this.closed = reason;
  }
  next(pred: (m: Wire) => boolean, ms = 15_000): Promise<Wire> {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(structuredClone(found));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no such message arrived')), ms);
      this.#waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
  request(id: string | number, method: string, params?: Record<string, unknown>): Promise<Wire> {
    this.channel.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    return this.next((m) => !('method' in m) && m.id === id);
  }
  call(id: string | number, name: string, args: Record<string, unknown> = {}, meta?: Record<string, unknown>): Promise<Wire> {
    return this.request(id, 'tools/call', meta ? { name, arguments: args, _meta: meta } : { name, arguments: args });
  }
  notifications(method: string): Wire[] {
    return this.messages.filter((m) => 'method' in m && !('id' in m) && m.method === method);
  }
}

async function connect(u: Upstream, options?: Parameters<Upstream['open']>[1]): Promise<Client> {
  const c = new Client();
  c.channel = await u.open(c, options);
  return c;
}

const textOf = (reply: Wire): Wire => {
  const t = reply.result.content[0].text as string;
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function captureLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return {
    logger: createLogger({ level: 'debug', destination }),
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('shared stdio upstream', () => {
  it('initializes once with the gateway\'s own params, at the SDK\'s latest revision', async () => {
    expect(GATEWAY_PROTOCOL_VERSION).toBe(LATEST_PROTOCOL_VERSION);
    expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(GATEWAY_PROTOCOL_VERSION);
    const u = make(server());
    expect(u.state).toBe('starting');
    await u.start();
    expect(u.state).toBe('ready');
    expect(u.initializeResult?.serverInfo.name).toBe('raw-fixture');
    const c = await connect(u, { initialize: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'claude', version: '1' } } });
    expect(c.channel.initializeResult).toEqual(u.initializeResult);
    const who = textOf(await c.call(1, 'whoami'));
    expect(who.protocolVersion).toBe('2025-11-25');
    expect(who.clientInfo).toEqual(CLIENT_INFO);
    expect(who.capabilities).toEqual({ sampling: {}, elicitation: {}, roots: { listChanged: true } });
    const state = textOf(await c.call(2, 'state'));
    expect(state.initialized).toBe(true);
  });

  it('keeps two channels that use the same ids at the same time apart', async () => {
    const u = make(server());
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    const [ra, rb, ra2, rb2] = await Promise.all([
      a.call(1, 'slow', { ms: 150 }),
      b.call(1, 'slow', { ms: 50 }),
      a.call('two', 'echo', { from: 'a' }),
      b.call('two', 'echo', { from: 'b' }),
    ]);
    expect(textOf(ra).ms).toBe(150);
    expect(textOf(rb).ms).toBe(50);
    expect(textOf(ra2)).toEqual({ from: 'a' });
    expect(textOf(rb2)).toEqual({ from: 'b' });
    expect(a.messages.filter((m) => !('method' in m))).toHaveLength(2);
    expect(b.messages.filter((m) => !('method' in m))).toHaveLength(2);
    const { ids } = textOf(await a.call(3, 'state')) as { ids: unknown[] };
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('routes progress to the channel that asked, with its own token', async () => {
    const u = make(server());
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    const [ra, rb] = await Promise.all([a.call(1, 'progress', { steps: 3 }, { progressToken: 'p' }), b.call(1, 'progress', { steps: 2 }, { progressToken: 'p' })]);
    // The server saw distinct tokens.
    expect(textOf(ra).token).not.toBe(textOf(rb).token);
    expect(a.notifications('notifications/progress').map((n): unknown[] => [n.params.progressToken, n.params.total])).toEqual([
      ['p', 3],
      ['p', 3],
      ['p', 3],
    ]);
    expect(b.notifications('notifications/progress').map((n): unknown[] => [n.params.progressToken, n.params.total])).toEqual([
      ['p', 2],
      ['p', 2],
    ]);
  });

  it('shares subscriptions: one upstream subscribe per uri, updates to subscribers only', async () => {
    const u = make(server());
    const [a, b, c] = await Promise.all([connect(u), connect(u), connect(u)]);
    const uri = 'file:///watched';
    expect(await a.request(1, 'resources/subscribe', { uri })).toMatchObject({ result: {} });
    expect(await b.request(1, 'resources/subscribe', { uri })).toMatchObject({ result: {} });
    await c.call(1, 'update', { uri });
    await Promise.all([a.next((m) => m.method === 'notifications/resources/updated'), b.next((m) => m.method === 'notifications/resources/updated')]);
    expect(c.notifications('notifications/resources/updated')).toHaveLength(0);

    await a.request(2, 'resources/unsubscribe', { uri });
    let state = textOf(await c.call(2, 'state'));
    expect(state.subscribes).toEqual([uri]);
    expect(state.unsubscribes).toEqual([]);
    await b.request(2, 'resources/unsubscribe', { uri });
    state = textOf(await c.call(3, 'state'));
    expect(state.unsubscribes).toEqual([uri]);
  });

  it('sends server requests to the channel that caused them and their answers back', async () => {
    const u = make(server());
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    b.answers['sampling/createMessage'] = () => ({ role: 'assistant', content: { type: 'text', text: 'from b' }, model: 'm' });
    a.answers['elicitation/create'] = () => ({ action: 'accept' });
    const sampled = textOf(await b.call(1, 'sample'));
    expect(sampled.content.text).toBe('from b');
    expect(a.messages.some((m) => 'method' in m && m.method === 'sampling/createMessage')).toBe(false);

    // Server ping is answered by the gateway, not by a client.
    expect(textOf(await a.call(2, 'ping_client'))).toEqual({ pong: {} });
    expect(a.messages.some((m) => 'method' in m && m.method === 'ping')).toBe(false);

    // URL elicitation: the completion follows the request to its channel.
    expect(textOf(await a.call(3, 'elicit_url'))).toEqual({ action: 'accept' });
    await a.next((m) => m.method === 'notifications/elicitation/complete');
    expect(b.notifications('notifications/elicitation/complete')).toHaveLength(0);

    // The server withdrawing its request reaches the channel with the id it saw.
    delete b.answers['sampling/createMessage'];
    await b.call(4, 'sample_then_cancel');
    const withdrawn = b.messages.filter((m): m is JsonRpcRequest => 'method' in m && m.method === 'sampling/createMessage').at(-1)!;
    const cancel = await b.next((m) => m.method === 'notifications/cancelled');
    expect(cancel.params.requestId).toBe(withdrawn.id);
  });

  it('never hands one session\'s server request or log line to another: delivered only when one session is busy', async () => {
    const u = make(server());
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    a.answers['sampling/createMessage'] = () => ({ role: 'assistant', content: { type: 'text', text: 'injected by a' }, model: 'm' });
    b.answers['sampling/createMessage'] = () => ({ role: 'assistant', content: { type: 'text', text: 'from b' }, model: 'm' });
    const serverRequests = (c: Client) => c.messages.filter((m) => 'method' in m && 'id' in m);

    // A is busy too: B's sampling request is refused to the server, never shown to A.
    const slowA = a.call(1, 'slow', { ms: 1500 });
    const refused = textOf(await b.call(1, 'sample'));
    expect(refused.error).toMatchObject({ code: -32603, message: expect.stringContaining('cannot tell which client') });
    await b.call(2, 'log', { message: 'secret of b' });
    expect(serverRequests(a)).toEqual([]);
    expect(serverRequests(b)).toEqual([]);
    expect(a.notifications('notifications/message')).toEqual([]);
    expect(b.notifications('notifications/message')).toEqual([]);
    await slowA;

    // Only B busy: B gets its own request and log line; A still sees nothing.
    expect(textOf(await b.call(3, 'sample')).content.text).toBe('from b');
    await b.call(4, 'log', { message: 'for b' });
    expect(b.notifications('notifications/message').map((n): unknown => n.params.data)).toEqual(['for b']);
    expect(serverRequests(a)).toEqual([]);
    expect(a.notifications('notifications/message')).toEqual([]);
  });

  it('sends list_changed to every channel and log messages to the busy one', async () => {
    const u = make(server());
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    await a.call(1, 'list_changed');
    await Promise.all([a.next((m) => m.method === 'notifications/tools/list_changed'), b.next((m) => m.method === 'notifications/tools/list_changed')]);
    await a.call(2, 'log', { message: 'for a' });
    expect(a.notifications('notifications/message').map((n): unknown => n.params.data)).toEqual(['for a']);
    expect(b.notifications('notifications/message')).toHaveLength(0);
  });

  it('maps a client cancellation to the upstream id', async () => {
    const u = make(server());
    const a = await connect(u);
    a.channel.send({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: 'slow', arguments: { ms: 10_000 } } });
    let started: number[] = [];
    for (let i = 0; started.length === 0; i++) started = (textOf(await a.call(`state-${i}`, 'state')) as { started: number[] }).started;
    a.channel.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c', reason: 'user' } });
    expect(a.channel.inFlight).toBe(0);
    const state = textOf(await a.call('after', 'state'));
    expect(state.cancelled).toEqual(started);
    expect(a.messages.filter((m) => !('method' in m) && m.id === 'c')).toHaveLength(0);
  });

  it('times out with -32001 and cancels upstream', async () => {
    const u = make(server(), { requestTimeoutMs: 300 });
    const a = await connect(u);
    const timedOut = await a.call(1, 'slow', { ms: 10_000 });
    expect(timedOut.error).toEqual({ code: -32001, message: 'upstream "raw" did not answer tools/call within 300 ms' });
    const state = textOf(await a.call(2, 'state'));
    expect(state.cancelled).toEqual(state.started);
    expect(state.cancelled).toHaveLength(1);
  });

  it('fails calls in flight at once when the child crashes, restarts it, and the next call works', async () => {
    const { logger, lines } = captureLogger();
    const u = make(server(), { logger });
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    const before = textOf(await a.call(1, 'whoami')).pid as number;

    const slow = b.call(1, 'slow', { ms: 10_000 });
    const crashed = await a.call(2, 'crash', { code: 3 });
    expect(crashed.error).toEqual({ code: -32000, message: 'upstream "raw" exited (code 3)' });
    expect((await slow).error).toEqual({ code: -32000, message: 'upstream "raw" exited (code 3)' });
    expect(u.state === 'restarting' || u.state === 'ready').toBe(true);

    // Sent while restarting: waits for the new child.
    const after = textOf(await a.call(3, 'whoami')).pid as number;
    expect(after).not.toBe(before);
    expect(isAlive(before)).toBe(false);
    expect(u.state).toBe('ready');
    expect(textOf(await b.call(2, 'echo', { again: true }))).toEqual({ again: true });
    expect(a.closed).toBeUndefined();

    const crash = lines().find((l) => l.msg === 'upstream went away; restarting');
    expect(crash).toMatchObject({ upstream: 'raw', exitCode: 3, level: 'warn' });
    expect(String(crash?.stderrTail)).toContain('crashing as asked');
  });

  it('subscribes again after a restart', async () => {
    const u = make(server());
    const a = await connect(u);
    await a.request(1, 'resources/subscribe', { uri: 'file:///kept' });
    await a.call(2, 'crash');
    await waitFor(() => u.state === 'ready');
    await a.call(3, 'update', { uri: 'file:///kept' });
    await a.next((m) => m.method === 'notifications/resources/updated');
    expect(textOf(await a.call(4, 'state')).subscribes).toEqual(['file:///kept']);
  });

  it('close() answers what is in flight, ends channels, and leaves no process behind', async () => {
    const u = make(server({ env: { FIXTURE_IGNORE_EOF: '1' } }));
    const a = await connect(u);
    const { pid } = textOf(await a.call(1, 'whoami')) as { pid: number };
    const { pid: grandchild } = textOf(await a.call(2, 'grandchild')) as { pid: number };
    const pending = a.call(3, 'slow', { ms: 10_000 });
    await u.close();
    expect((await pending).error).toEqual({ code: -32000, message: 'upstream "raw" closed' });
    expect(a.closed?.message).toBe('upstream "raw" closed');
    expect(u.state).toBe('closed');
    expect(isAlive(pid)).toBe(false);
    await waitFor(() => !isAlive(grandchild), 5000);
    await expect(u.open(new Client())).rejects.toThrow('closed');
  });
});

describe('per-session stdio upstream', () => {
  const initialize = (name: string, protocolVersion = '2025-06-18') => ({
    initialize: { protocolVersion, capabilities: { roots: {} }, clientInfo: { name, version: '9' } },
  });

  it('gives each channel its own child, initialized with that client\'s params', async () => {
    const u = make(server({ sharing: 'per-session' }));
    await u.start(); // the probe
    expect(u.state).toBe('ready');
    expect(u.initializeResult?.serverInfo.name).toBe('raw-fixture');
    const probePid = u.initializeResult?.serverInfo.pid as number;
    await waitFor(() => !isAlive(probePid));

    const [a, b] = await Promise.all([connect(u, initialize('alice')), connect(u, initialize('bob', '2025-03-26'))]);
    const [wa, wb] = [textOf(await a.call(1, 'whoami')), textOf(await b.call(1, 'whoami'))];
    expect(wa.pid).not.toBe(wb.pid);
    expect(wa.clientInfo.name).toBe('alice');
    expect(wb.clientInfo.name).toBe('bob');
    expect(wb.protocolVersion).toBe('2025-03-26');
    expect(b.channel.initializeResult.protocolVersion).toBe('2025-03-26');

    // Notifications stay with their own child.
    await a.call(2, 'list_changed');
    await a.next((m) => m.method === 'notifications/tools/list_changed');
    expect(b.notifications('notifications/tools/list_changed')).toHaveLength(0);

    // Closing one channel stops its child only.
    await a.channel.close();
    expect(isAlive(wa.pid as number)).toBe(false);
    expect(isAlive(wb.pid as number)).toBe(true);
    expect(a.closed).toBeDefined();

    const c = await connect(u);
    expect(textOf(await c.call(1, 'whoami')).clientInfo).toEqual(CLIENT_INFO);
  });

  it('after a crash, fails what was in flight and starts a fresh child on the next request, with the same params', async () => {
    const u = make(server({ sharing: 'per-session' }));
    const a = await connect(u, initialize('alice'));
    const first = textOf(await a.call(1, 'whoami'));
    expect((await a.call(2, 'crash', { code: 4 })).error).toEqual({ code: -32000, message: 'upstream "raw" exited (code 4)' });
    const second = textOf(await a.call(3, 'whoami'));
    expect(second.pid).not.toBe(first.pid);
    expect(second.clientInfo.name).toBe('alice');
    expect(second.protocolVersion).toBe('2025-06-18');
    expect(a.closed).toBeUndefined();
  });

  it('close() stops every session\'s child', async () => {
    const u = make(server({ sharing: 'per-session' }));
    const clients = await Promise.all([connect(u), connect(u), connect(u)]);
    const pids = await Promise.all(clients.map(async (c) => textOf(await c.call(1, 'whoami')).pid as number));
    await u.close();
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    for (const c of clients) expect(c.closed).toBeDefined();
  });
});

describe('upstreams that cannot start', () => {
  it('a missing command: start() and open() fail with "command not found", state down', async () => {
    for (const sharing of ['shared', 'per-session'] as const) {
      const u = make(server({ command: 'gatehouse-no-such-command-xyz', sharing }));
      const error = await u.start().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UpstreamError);
      expect((error as Error).message).toBe('upstream "raw" could not start: command not found: gatehouse-no-such-command-xyz');
      expect(u.state).toBe('down');
      await expect(u.open(new Client())).rejects.toThrow('command not found: gatehouse-no-such-command-xyz');
    }
  });

  it('a child that exits at once: down, with its exit code; retries go on in the background', async () => {
    const { logger, lines } = captureLogger();
    const u = make(server({ env: { FIXTURE_EXIT_ON_START: '7' } }), { logger });
    await expect(u.start()).rejects.toThrow('upstream "raw" exited (code 7)');
    expect(u.state).toBe('down');
    await waitFor(() => lines().filter((l) => l.msg === 'upstream could not start').length >= 2);
    const failure = lines().find((l) => l.msg === 'upstream could not start');
    expect(String(failure?.stderrTail)).toContain('exiting at start as asked');
  });

  it('a server that refuses initialize', async () => {
    const u = make(server({ env: { FIXTURE_REFUSE_INIT: '1' } }));
    await expect(u.start()).rejects.toThrow('upstream "raw" refused initialize: unsupported protocol version');
  });
});

describe('with @modelcontextprotocol/server-everything', () => {
  const everything = (sharing: 'shared' | 'per-session' = 'shared') =>
    server({ name: 'everything', command: process.execPath, args: [EVERYTHING, 'stdio'], sharing });

  it('serves two channels over one child: tools, same ids, progress, sampling, subscriptions', async () => {
    const u = make(everything());
    await u.start();
    expect(u.initializeResult?.serverInfo.name).toBe('mcp-servers/everything');
    const [a, b] = await Promise.all([connect(u), connect(u)]);

    const tools = ((await a.request(1, 'tools/list')).result.tools as { name: string }[]).map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['echo', 'trigger-long-running-operation', 'trigger-sampling-request', 'toggle-subscriber-updates']));

    const [ea, eb] = await Promise.all([a.call(2, 'echo', { message: 'from a' }), b.call(2, 'echo', { message: 'from b' })]);
    expect(ea.result.content[0].text).toContain('from a');
    expect(eb.result.content[0].text).toContain('from b');

    const [pa, pb] = await Promise.all([
      a.call(3, 'trigger-long-running-operation', { duration: 0.3, steps: 3 }, { progressToken: 'same' }),
      b.call(3, 'trigger-long-running-operation', { duration: 0.2, steps: 2 }, { progressToken: 'same' }),
    ]);
    expect(pa.result.content[0].text).toContain('Steps: 3');
    expect(pb.result.content[0].text).toContain('Steps: 2');
    expect(a.notifications('notifications/progress').map((n): unknown[] => [n.params.progressToken, n.params.total])).toEqual([
      ['same', 3],
      ['same', 3],
      ['same', 3],
    ]);
    expect(b.notifications('notifications/progress').map((n): unknown => n.params.total)).toEqual([2, 2]);

    b.answers['sampling/createMessage'] = () => ({ role: 'assistant', content: { type: 'text', text: 'sampled by b' }, model: 'test' });
    const sampled = await b.call(4, 'trigger-sampling-request', { prompt: 'hi', maxTokens: 5 });
    expect(sampled.result.content[0].text).toContain('sampled by b');
    expect(a.messages.some((m) => 'method' in m && m.method === 'sampling/createMessage')).toBe(false);

    const uri = 'demo://resource/static/document/architecture.md';
    await a.request(5, 'resources/subscribe', { uri });
    await a.call(6, 'toggle-subscriber-updates');
    const updated = await a.next((m) => m.method === 'notifications/resources/updated');
    expect(updated.params.uri).toBe(uri);
    expect(b.notifications('notifications/resources/updated')).toHaveLength(0);
    await a.call(7, 'toggle-subscriber-updates');
  });

  it('per-session: each channel gets its own child', async () => {
    const u = make(everything('per-session'));
    const [a, b] = await Promise.all([connect(u), connect(u)]);
    const [ra, rb] = await Promise.all([a.call(1, 'get-sum', { a: 1, b: 2 }), b.call(1, 'get-sum', { a: 3, b: 4 })]);
    expect(ra.result.content[0].text).toContain('3');
    expect(rb.result.content[0].text).toContain('7');
  });
});

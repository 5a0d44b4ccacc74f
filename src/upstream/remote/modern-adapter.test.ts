// The era bridge against real servers in this process: the fixture's everything server
// behind the SDK's createMcpHandler with `legacy: 'reject'` (it speaks only 2026-07-28 and
// refuses initialize), and the dual-era fixture for the "2025 servers pay nothing" check.
// Links come from the remote link factory, as the Upstream gets them.
import { afterEach, describe, expect, it } from 'vitest';
import { remoteServer } from '../../../test/helpers/remote-server.js';

import { startEverythingHttp } from '../../../test/fixtures/everything-server.js';
import { startModernOnlyServer as startModernServer, type ModernOnlyServer as ModernServer } from '../../../test/fixtures/modern-only-server.js';
import type { ResolvedRemoteServer } from '../../config/resolved.js';
import type { JsonRpcFailure, JsonRpcId, JsonRpcMessage, JsonRpcRequest, JsonRpcResponse, JsonRpcSuccess } from '../../jsonrpc/index.js';
import { silentLogger } from '../../observability/index.js';
import { createUpstream } from '../upstream.js';
import type { Link, LinkHandlers } from '../types.js';
import { createRemoteLinkFactory, type RemoteLinkFactory } from './index.js';

// The server: test/fixtures/modern-only-server.ts.

const remote = (url: string, overrides: Partial<ResolvedRemoteServer> = {}): ResolvedRemoteServer => remoteServer(url, overrides, 'modern-remote');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function modernServer(): Promise<ModernServer> {
  const server = await startModernServer();
  cleanups.push(() => server.close());
  return server;
}

function factoryFor(server: ResolvedRemoteServer): RemoteLinkFactory {
  const factory = createRemoteLinkFactory(server, { logger: silentLogger() });
  cleanups.push(() => factory.close());
  return factory;
}

// --- the layer above, as a test double ----------------------------------------------------

class Probe implements LinkHandlers {
  readonly messages: JsonRpcMessage[] = [];
  readonly closeReasons: Error[] = [];
  #waiters: { match: (m: JsonRpcMessage) => boolean; resolve: (m: JsonRpcMessage) => void }[] = [];

  onMessage(message: JsonRpcMessage): void {
    this.messages.push(message);
    for (const w of this.#waiters.filter((x) => x.match(message))) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve(message);
    }
  }

  onClose(reason: Error): void {
    this.closeReasons.push(reason);
  }

  /** The first message (already received or still to come) that matches. */
  next(match: (m: JsonRpcMessage) => boolean): Promise<JsonRpcMessage> {
    const seen = this.messages.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  reply(id: JsonRpcId): Promise<JsonRpcResponse> {
    return this.next((m) => !('method' in m) && m.id === id) as Promise<JsonRpcResponse>;
  }

  serverRequest(method: string): Promise<JsonRpcRequest> {
    return this.next((m) => 'method' in m && m.method === method && 'id' in m) as Promise<JsonRpcRequest>;
  }

  notification(method: string): Promise<JsonRpcMessage> {
    return this.next((m) => 'method' in m && m.method === method && !('id' in m));
  }

  async request(link: Link, id: JsonRpcId, method: string, params: Record<string, unknown> = {}): Promise<JsonRpcResponse> {
    const reply = this.reply(id);
    await link.send({ jsonrpc: '2.0', id, method, params });
    return reply;
  }
}

const INIT_PARAMS = {
  protocolVersion: '2025-06-18',
  capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
  clientInfo: { name: 'legacy-client', version: '3.1.0' },
};

async function openLink(factory: RemoteLinkFactory): Promise<{ link: Link; probe: Probe }> {
  const probe = new Probe();
  const link = await factory(probe);
  cleanups.push(() => link.close());
  return { link, probe };
}

/** What the Upstream does: initialize, set the version, notifications/initialized. */
async function handshake(link: Link, probe: Probe, params: Record<string, unknown> = INIT_PARAMS): Promise<Record<string, unknown>> {
  const reply = await probe.request(link, 'init', 'initialize', params);
  const result = resultOf<Record<string, unknown>>(reply);
  link.setProtocolVersion?.(result.protocolVersion as string);
  await link.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return result;
}

function resultOf<T>(reply: JsonRpcResponse | JsonRpcMessage): T {
  expect(reply).toHaveProperty('result');
  return (reply as JsonRpcSuccess).result as T;
}

function toolText(reply: JsonRpcResponse): string {
  return resultOf<{ content: { text: string }[] }>(reply).content[0]!.text;
}

const methodsSeen = (server: ModernServer): (string | undefined)[] => server.seen.map((h) => h['mcp-method'] as string | undefined);

// --- tests ----------------------------------------------------------------------------------

describe('2026-07-28-only remote server behind a 2025-era link', () => {
  it('detects the server from its initialize refusal, answers initialize from server/discover, and remembers', async () => {
    const server = await modernServer();
    const factory = factoryFor(remote(server.url));
    const { link, probe } = await openLink(factory);

    const init = await handshake(link, probe);
    expect(init).toEqual({
      protocolVersion: '2025-06-18',
      capabilities: {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        logging: {},
        completions: {},
      },
      serverInfo: { name: 'gatehouse-everything-server', version: '1.0.0' },
    });
    expect(link.description).toContain('2026-07-28 bridge');
    expect(probe.closeReasons).toEqual([]);
    expect(factory.detectedTransport).toBe('streamable-http');
    // One refused 2025 initialize (no Mcp-Method header), then 2026 traffic only.
    expect(methodsSeen(server).slice(0, 2)).toEqual([undefined, 'server/discover']);
    const discover = server.seen[1]!;
    expect(discover['mcp-protocol-version']).toBe('2026-07-28');

    // A later link of the same server goes straight to server/discover.
    const before = server.seen.length;
    const second = await openLink(factory);
    const again = await handshake(second.link, second.probe, { ...INIT_PARAMS, protocolVersion: '2025-11-25' });
    expect(again.protocolVersion).toBe('2025-11-25');
    expect(methodsSeen(server).slice(before)).toContain('server/discover');
    expect(methodsSeen(server).filter((m) => m === undefined)).toHaveLength(1);
  });

  it('lists and calls tools with the 2026 envelope and headers; answers ping and logging/setLevel locally', async () => {
    const server = await modernServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url, { transport: 'streamable-http' })));
    await handshake(link, probe);

    const list = await probe.request(link, 2, 'tools/list');
    const listed = resultOf<Record<string, unknown>>(list);
    expect(listed).not.toHaveProperty('resultType');
    expect(listed).not.toHaveProperty('ttlMs');
    expect(listed).not.toHaveProperty('cacheScope');
    expect(listed).not.toHaveProperty('_meta');
    expect((listed.tools as { name: string }[]).map((t) => t.name)).toContain('test_simple_text');

    const call = await probe.request(link, 3, 'tools/call', { name: 'test_simple_text', arguments: {} });
    expect(toolText(call)).toBe('This is a simple text response for testing.');
    expect(resultOf<Record<string, unknown>>(call)).not.toHaveProperty('resultType');
    const callHeaders = server.seen.find((h) => h['mcp-method'] === 'tools/call')!;
    expect(callHeaders['mcp-protocol-version']).toBe('2026-07-28');
    expect(callHeaders['mcp-name']).toBe('test_simple_text');

    // Mcp-Param-Region mirrored from the x-mcp-header declaration tools/list showed.
    const region = await probe.request(link, 4, 'tools/call', { name: 'test_custom_header', arguments: { region: 'eu-west' } });
    expect(toolText(region)).toBe('Region: eu-west');
    expect(server.seen.find((h) => h['mcp-name'] === 'test_custom_header')!['mcp-param-region']).toBe('eu-west');

    const posts = server.seen.length;
    expect(resultOf(await probe.request(link, 5, 'ping'))).toEqual({});
    expect(resultOf(await probe.request(link, 6, 'logging/setLevel', { level: 'debug' }))).toEqual({});
    expect(server.seen.length).toBe(posts);

    // After setLevel the envelope carries the level, so request-scoped logs come back.
    const logged = await probe.request(link, 7, 'tools/call', { name: 'test_logging_tool', arguments: {} });
    expect(toolText(logged)).toBe('logging tool done');
    expect(probe.messages.some((m) => 'method' in m && m.method === 'notifications/message')).toBe(true);

    // Progress notifications of a request come up with the caller's token.
    const progressed = await probe.request(link, 8, 'tools/call', { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'p-1' } });
    expect(toolText(progressed)).toBe('Progress reported for token p-1');
    const progress = probe.messages.filter((m) => 'method' in m && m.method === 'notifications/progress');
    expect(progress.map((m) => (m as JsonRpcRequest).params)).toMatchObject([
      { progressToken: 'p-1', progress: 0 },
      { progressToken: 'p-1', progress: 50 },
      { progressToken: 'p-1', progress: 100 },
    ]);
  });

  it('learns Mcp-Param-* headers on a header mismatch when tools/list was never called', async () => {
    const server = await modernServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    const before = server.seen.length;
    const reply = await probe.request(link, 1, 'tools/call', { name: 'test_custom_header', arguments: { region: 'ap-south' } });
    expect(toolText(reply)).toBe('Region: ap-south');
    // Refused (-32020, header absent), tools/list to learn the declaration, then the retry.
    const calls = server.seen.slice(before).filter((h) => h['mcp-method'] !== 'subscriptions/listen');
    expect(calls.map((h) => [h['mcp-method'], h['mcp-param-region']])).toEqual([
      ['tools/call', undefined],
      ['tools/list', undefined],
      ['tools/call', 'ap-south'],
    ]);
  });

  it('turns input_required into server->client requests and answers with the original id', async () => {
    const server = await modernServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);

    // Elicitation.
    const elicited = probe.reply(10);
    await link.send({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'test_elicitation', arguments: { message: 'Who are you?' } } });
    const ask = await probe.serverRequest('elicitation/create');
    expect(ask.id).toMatch(/^ir-/);
    expect(ask.params).toMatchObject({ message: 'Who are you?' });
    await link.send({ jsonrpc: '2.0', id: ask.id, result: { action: 'accept', content: { username: 'ann', email: 'ann@example.com' } } });
    expect(toolText(await elicited)).toBe('User response: action=accept, content={"username":"ann","email":"ann@example.com"}');

    // Sampling.
    const sampled = probe.reply(11);
    await link.send({ jsonrpc: '2.0', id: 11, method: 'tools/call', params: { name: 'test_sampling', arguments: { prompt: 'Capital of France?' } } });
    const sample = await probe.serverRequest('sampling/createMessage');
    expect(sample.params).toMatchObject({ maxTokens: 100 });
    await link.send({ jsonrpc: '2.0', id: sample.id, result: { role: 'assistant', content: { type: 'text', text: 'Paris' }, model: 'test-model' } });
    expect(toolText(await sampled)).toBe('LLM response: Paris');

    // Two rounds, with a requestState that must come back byte for byte.
    const multi = probe.reply(12);
    await link.send({ jsonrpc: '2.0', id: 12, method: 'tools/call', params: { name: 'test_input_required_result_multi_round', arguments: {} } });
    const step1 = await probe.next((m) => 'method' in m && m.method === 'elicitation/create' && (m as JsonRpcRequest).id !== ask.id);
    await link.send({ jsonrpc: '2.0', id: (step1 as JsonRpcRequest).id, result: { action: 'accept', content: { name: 'Ann' } } });
    const step2 = await probe.next(
      (m) => 'method' in m && m.method === 'elicitation/create' && ![ask.id, (step1 as JsonRpcRequest).id].includes((m as JsonRpcRequest).id),
    );
    expect((step2 as JsonRpcRequest).params).toMatchObject({ message: 'Step 2: What is your favorite color?' });
    await link.send({ jsonrpc: '2.0', id: (step2 as JsonRpcRequest).id, result: { action: 'accept', content: { color: 'blue' } } });
    expect(toolText(await multi)).toBe('Ann likes blue');
    expect(probe.closeReasons).toEqual([]);
  });

  it('withdraws the input requests of a cancelled call and sends no reply for it', async () => {
    const server = await modernServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);
    await link.send({ jsonrpc: '2.0', id: 20, method: 'tools/call', params: { name: 'test_elicitation', arguments: { message: 'hi' } } });
    const ask = await probe.serverRequest('elicitation/create');
    const withdrawn = probe.notification('notifications/cancelled');
    await link.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 20, reason: 'user gave up' } });
    expect((await withdrawn as { params: unknown }).params).toMatchObject({ requestId: ask.id });
    // A late answer is dropped; the link still works and no reply for id 20 ever arrived.
    await link.send({ jsonrpc: '2.0', id: ask.id, result: { action: 'decline' } });
    expect(resultOf(await probe.request(link, 21, 'tools/list'))).toHaveProperty('tools');
    expect(probe.messages.some((m) => !('method' in m) && m.id === 20)).toBe(false);
  });

  it('keeps 2026 error statuses in-band and maps resource-not-found back to -32002', async () => {
    const server = await modernServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);

    const missing = (await probe.request(link, 30, 'resources/read', { uri: 'test://nope' })) as JsonRpcFailure;
    expect(missing.error).toMatchObject({ code: -32002, data: { uri: 'test://nope' } });

    const read = await probe.request(link, 31, 'resources/read', { uri: 'test://static-text' });
    expect(resultOf<{ contents: { text: string }[] }>(read).contents[0]!.text).toBe('This is the content of the static text resource.');

    // HTTP 404 + -32601 for a method 2026 does not have: an error reply, not a dead link.
    const unknown = (await probe.request(link, 32, 'tasks/list')) as JsonRpcFailure;
    expect(unknown.error.code).toBe(-32601);
    expect(probe.closeReasons).toEqual([]);
  });

  it('delivers resources/updated and list_changed over one subscriptions/listen stream', async () => {
    const server = await modernServer();
    const { link, probe } = await openLink(factoryFor(remote(server.url)));
    await handshake(link, probe);

    // The reply comes once the upstream has acknowledged the new listen stream.
    expect(resultOf(await probe.request(link, 40, 'resources/subscribe', { uri: 'test://watched-resource' }))).toEqual({});
    const updated = probe.notification('notifications/resources/updated');
    const changed = probe.notification('notifications/tools/list_changed');
    server.handler.notify.resourceUpdated('test://watched-resource');
    server.handler.notify.toolsChanged();
    expect(await updated).toEqual({ jsonrpc: '2.0', method: 'notifications/resources/updated', params: { uri: 'test://watched-resource' } });
    expect(await changed).toEqual({ jsonrpc: '2.0', method: 'notifications/tools/list_changed', params: {} });

    expect(resultOf(await probe.request(link, 41, 'resources/unsubscribe', { uri: 'test://watched-resource' }))).toEqual({});
    expect(methodsSeen(server).filter((m) => m === 'subscriptions/listen').length).toBeGreaterThanOrEqual(2);
  });

  it('serves a whole Upstream: handshake, tool calls, and sampling relayed to the channel', async () => {
    const server = await modernServer();
    const upstream = createUpstream({
      name: 'modern-remote',
      linkFactory: factoryFor(remote(server.url)),
      sharing: 'shared',
      logger: silentLogger(),
      clientInfo: { name: 'gatehouse', version: '0.1.0' },
    });
    cleanups.push(() => upstream.close());
    await upstream.start();
    expect(upstream.state).toBe('ready');
    expect(upstream.initializeResult?.serverInfo).toMatchObject({ name: 'gatehouse-everything-server', version: '1.0.0' });

    const probe = new Probe();
    const channel = await upstream.open(probe);
    const simple = probe.reply(1);
    channel.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'test_simple_text', arguments: {} } });
    expect(toolText(await simple)).toBe('This is a simple text response for testing.');

    const sampled = probe.reply(2);
    channel.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'test_sampling', arguments: { prompt: 'Say hi' } } });
    const ask = await probe.serverRequest('sampling/createMessage');
    channel.send({ jsonrpc: '2.0', id: ask.id, result: { role: 'assistant', content: { type: 'text', text: 'hi!' }, model: 'm' } });
    expect(toolText(await sampled)).toBe('LLM response: hi!');

    const pong = probe.reply(3);
    channel.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    expect(resultOf(await pong)).toEqual({});
  });

  it('serves a per-session Upstream: the probe link teaches the factory, each channel gets its own bridged link', async () => {
    const server = await modernServer();
    const upstream = createUpstream({
      name: 'modern-remote',
      linkFactory: factoryFor(remote(server.url)),
      sharing: 'per-session',
      logger: silentLogger(),
      clientInfo: { name: 'gatehouse', version: '0.1.0' },
    });
    cleanups.push(() => upstream.close());
    await upstream.start();
    const probe = new Probe();
    const channel = await upstream.open(probe, { initialize: { ...INIT_PARAMS, clientInfo: { name: 'per-session-client', version: '1' } } });
    expect(channel.initializeResult.protocolVersion).toBe('2025-06-18');
    const listed = probe.reply(1);
    channel.send({ jsonrpc: '2.0', id: 1, method: 'prompts/list' });
    expect(resultOf<{ prompts: { name: string }[] }>(await listed).prompts.map((p) => p.name)).toContain('test_simple_prompt');
    // Only the very first link tried initialize.
    expect(methodsSeen(server).filter((m) => m === undefined)).toHaveLength(1);
  });
});

describe('2025-era servers', () => {
  it('pay nothing: a dual-era server is initialized as before, with no server/discover', async () => {
    const server = await startEverythingHttp(0);
    cleanups.push(() => server.close());
    const factory = factoryFor(remote(server.url));
    const { link, probe } = await openLink(factory);
    const init = await handshake(link, probe);
    expect(init.protocolVersion).toBe('2025-06-18');
    expect(link.description).not.toContain('bridge');
    const call = await probe.request(link, 2, 'tools/call', { name: 'test_simple_text', arguments: {} });
    expect(toolText(call)).toBe('This is a simple text response for testing.');
  });
});

// A held aggregate session (2026 clients on /mcp) that opened while one server could not start
// must not stay without that server for as long as its principal keeps calling: once a short
// retry interval has passed, the next call opens a replacement in the background and the
// replacement takes its place (src/gateway/held-sessions.ts). The old one is closed only when
// nothing is bound to it: not under a call in flight, an input_required continuation or a
// listener's resource subscription.
//
// The server that is down is a stdio server whose command does not exist yet, or (over HTTP)
// one that counts its starts and fails (`sharing: per-session`, so every open tries to start
// it again); the test writes the real command later.
// `raw` is the raw stdio fixture with `sharing: per-session`: each held session has a child
// of its own, so `whoami` names the held session (its pid) and `alive` tells whether it closed.
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildUpstream, startGatehouse, type GatehouseApp } from '../src/app.js';
import { resolveConfig } from '../src/config/index.js';
import { Gateway, isStreamReply, type Reply } from '../src/gateway/index.js';
import { StatelessEndpoint } from '../src/gateway/stateless.js';
import { silentLogger } from '../src/observability/index.js';
import type { Upstream } from '../src/upstream/index.js';
import { RAW_FIXTURE, rawPost, rawStdio } from './helpers/gateway.js';

const VERSION = '2026-07-28';
const dir = mkdtempSync(join(tmpdir(), 'gatehouse-held-incomplete-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A command path that does not exist yet. */
function lateCommand(name: string): string {
  return join(dir, name);
}

/** The server "comes back": its command appears (written aside, then renamed, so it is never run half-written). */
function bringUp(command: string): void {
  const draft = `${command}.draft`;
  writeFileSync(draft, `#!/bin/sh\nexec "${process.execPath}" "${RAW_FIXTURE}"\n`);
  chmodSync(draft, 0o755);
  renameSync(draft, command);
}

const envelope = (capabilities: Record<string, unknown> = {}) => ({
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': capabilities,
  'io.modelcontextprotocol/clientInfo': { name: 'held-incomplete-test', version: '1' },
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

type ToolList = { result: { tools: { name: string }[] } };
const toolNames = (body: unknown): string[] => (body as ToolList).result.tools.map((t) => t.name);

describe('a held aggregate session opened while a server was down, over HTTP', () => {
  const command = lateCommand('late-http');
  const starts = join(dir, 'late-http.starts');
  let gw: GatehouseApp;

  beforeAll(async () => {
    // Down at first: each start of `late` is counted, then fails.
    writeFileSync(command, `#!/bin/sh\necho started >> "${starts}"\nexit 1\n`);
    chmodSync(command, 0o755);
    const config = resolveConfig(
      {
        format: 'native',
        location: 'test',
        baseDir: process.cwd(),
        doc: { listen: '127.0.0.1:0', auth: { mode: 'none' }, servers: { raw: rawStdio(), late: { command, sharing: 'per-session' } } },
      },
      process.env,
    );
    // Retry interval 0 (a Gateway option, not a config key): the first call after an incomplete
    // held session opened renews it. Nothing here waits for the interval.
    gw = await startGatehouse({ config, logger: silentLogger(), gateway: { incompleteRetryMs: 0 } });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
  });

  let nextId = 0;
  const list2026 = async (): Promise<string[]> => {
    const r = await rawPost(
      `${gw.url}/mcp`,
      { jsonrpc: '2.0', id: ++nextId, method: 'tools/list', params: { _meta: envelope() } },
      { 'mcp-protocol-version': VERSION, 'mcp-method': 'tools/list' },
    );
    expect(r.status).toBe(200);
    return toolNames(Array.isArray(r.json) ? r.json.at(-1) : r.json);
  };
  const startsOfLate = (): number => (existsSync(starts) ? readFileSync(starts, 'utf8').split('\n').filter(Boolean).length : 0);

  it("renews on the gateway's retry interval, and shows the server in a 2026 tools/list on /mcp once it is back", async () => {
    const first = await list2026();
    expect(first).toContain('raw__echo');
    expect(first.some((n) => n.startsWith('late__'))).toBe(false);
    const opened = startsOfLate();
    expect(opened).toBeGreaterThan(0);
    // The next call starts a renewal, which tries `late` again, with no call after it. With the
    // default interval (15 s; the gateway not passing its option on) no call here would.
    expect(await list2026()).not.toContain('late__echo');
    await expect.poll(startsOfLate, { timeout: 30_000, interval: 50 }).toBeGreaterThan(opened);

    bringUp(command);
    // Before renewal existed: the principal's held session kept serving the list without `late`
    // until it had been idle for sessionIdleMs (30 min); this poll keeps it busy, so that never happened.
    await expect.poll(list2026, { timeout: 90_000, interval: 100 }).toContain('late__echo');
    expect(await list2026()).toContain('raw__echo');
  }, 120_000);
});

describe('renewing an incomplete held session, on the stateless endpoint over the real aggregate', () => {
  const upstreams: Upstream[] = [];
  let gateway: Gateway | undefined;
  let endpoint: StatelessEndpoint | undefined;
  let nextId = 0;

  afterEach(async () => {
    await endpoint?.close();
    await gateway?.close(0);
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
  });

  /** A gateway over `raw` and a `late` server that is down, and a stateless endpoint for /mcp that renews at once. */
  const setup = async (command: string): Promise<StatelessEndpoint> => {
    const config = resolveConfig(
      {
        format: 'native',
        location: 'test',
        baseDir: process.cwd(),
        doc: {
          listen: '127.0.0.1:0',
          auth: { mode: 'none' },
          servers: { raw: rawStdio({ sharing: 'per-session' }), late: { command, sharing: 'per-session' } },
        },
      },
      process.env,
    );
    const built = new Map<string, Upstream>();
    for (const server of config.servers) {
      const u = await buildUpstream(server, silentLogger());
      upstreams.push(u);
      built.set(server.name, u);
    }
    gateway = new Gateway({ servers: config.servers, upstreams: built, logger: silentLogger() });
    const g = gateway;
    // Retry interval 0: every call past the first starts a renewal while `late` is missing, so
    // the old session is taken out of the pool while things are bound to it. Nothing waits on time.
    endpoint = new StatelessEndpoint((sink, initialize) => g.openDispatcher({ server: undefined, allowedServers: ['raw', 'late'] }, { sink, initialize }), silentLogger(), undefined, {
      incompleteRetryMs: 0,
    });
    return endpoint;
  };

  const post = (ep: StatelessEndpoint, method: string, params: Record<string, unknown>, extraHeaders: Record<string, string> = {}, accept = 'application/json'): Promise<Reply> => {
    const body = { jsonrpc: '2.0' as const, id: ++nextId, method, params };
    const headers = new Headers({ 'content-type': 'application/json', accept, 'mcp-protocol-version': VERSION, 'mcp-method': method, ...extraHeaders });
    return ep.handle(body, { request: { method: 'POST', url: 'http://127.0.0.1/mcp', headers, body: JSON.stringify(body) } });
  };
  const jsonOf = (reply: Reply): Record<string, unknown> => {
    expect(reply.status).toBe(200);
    expect(isStreamReply(reply)).toBe(false);
    return JSON.parse((reply as { body: string }).body) as Record<string, unknown>;
  };
  const callTool = async (ep: StatelessEndpoint, name: string, capabilities: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    jsonOf(await post(ep, 'tools/call', { name, arguments: {}, ...extra, _meta: envelope(capabilities) }, { 'mcp-name': name }));
  const whoamiPid = async (ep: StatelessEndpoint, capabilities: Record<string, unknown>): Promise<number> => {
    const r = (await callTool(ep, 'raw__whoami', capabilities)) as { result: { content: { text: string }[] } };
    return (JSON.parse(r.result.content[0]!.text) as { pid: number }).pid;
  };
  const list = async (ep: StatelessEndpoint, capabilities: Record<string, unknown>) => toolNames(jsonOf(await post(ep, 'tools/list', { _meta: envelope(capabilities) })));

  it('does not close the old session under an input_required continuation; closes it once the call is done', async () => {
    const command = lateCommand('late-continuation');
    const ep = await setup(command);
    // (Another capability pool, so the held session below is the only one of its pool.)
    expect(await list(ep, {})).not.toContain('late__echo');
    const roots = { roots: {} };
    const oldPid = await whoamiPid(ep, roots);

    // A call on the old held session (the only one of its pool, and free) that asks the client
    // for input: its upstream call waits there for the client's retry. This call already
    // starts the renewal; the replacement takes the pool while the continuation is out.
    const asked = (await callTool(ep, 'raw__roots', roots)) as { result: { resultType: string; inputRequests: Record<string, unknown>; requestState: string } };
    expect(asked.result.resultType).toBe('input_required');
    const key = Object.keys(asked.result.inputRequests)[0]!;

    bringUp(command);
    await expect.poll(() => list(ep, roots), { timeout: 30_000, interval: 100 }).toContain('late__echo');
    // New calls ride the replacement now; the old session still holds the continuation.
    expect(await whoamiPid(ep, roots)).not.toBe(oldPid);
    expect(alive(oldPid)).toBe(true);

    const answer = { roots: [{ uri: 'file:///held-incomplete', name: 'kept' }] };
    const done = (await callTool(ep, 'raw__roots', roots, { inputResponses: { [key]: answer }, requestState: asked.result.requestState })) as {
      result: { resultType: string; content: { text: string }[] };
    };
    // Before the drain rule, closing the old session here failed the call ("session closed").
    expect(done.result.resultType).toBe('complete');
    expect(JSON.parse(done.result.content[0]!.text)).toEqual(answer);

    // Nothing is bound to it any more: the next calls close it.
    await expect.poll(async () => (await list(ep, roots), alive(oldPid)), { timeout: 30_000, interval: 100 }).toBe(false);
  }, 60_000);

  it("keeps the old session while a listener's resource subscription lives on it, and tells the listener the tool list grew", async () => {
    const command = lateCommand('late-listener');
    const ep = await setup(command);
    const oldPid = await whoamiPid(ep, {});
    const reply = await post(
      ep,
      'subscriptions/listen',
      { notifications: { toolsListChanged: true, resourceSubscriptions: ['file:///watched'] }, _meta: envelope() },
      {},
      'application/json, text/event-stream',
    );
    expect(reply.status).toBe(200);
    expect(isStreamReply(reply)).toBe(true);
    const reader = (reply as { stream: ReadableStream<Uint8Array> }).stream.getReader();
    const decoder = new TextDecoder();
    const seen: { method?: string }[] = [];
    let buffer = '';
    const until = async (done: () => boolean) => {
      while (!done()) {
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error(`the listen stream ended: ${JSON.stringify(seen)}`);
        buffer += decoder.decode(value, { stream: true });
        for (let cut; (cut = buffer.indexOf('\n')) >= 0; buffer = buffer.slice(cut + 1)) {
          const line = buffer.slice(0, cut);
          if (line.startsWith('data: ') && line.length > 6) seen.push(JSON.parse(line.slice(6)) as { method?: string });
        }
      }
    };
    try {
      await until(() => seen.some((m) => m.method === 'notifications/subscriptions/acknowledged'));
      bringUp(command);
      await expect.poll(() => list(ep, {}), { timeout: 30_000, interval: 100 }).toContain('late__echo');
      await until(() => seen.some((m) => m.method === 'notifications/tools/list_changed'));
      // The listener's subscription is held upstream on the old session: it is still open.
      expect(await whoamiPid(ep, {})).not.toBe(oldPid);
      expect(alive(oldPid)).toBe(true);
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    // The listener left (its unsubscribe went out on the old session): the next calls close it.
    await expect.poll(async () => (await list(ep, {}), alive(oldPid)), { timeout: 30_000, interval: 100 }).toBe(false);
  }, 60_000);
});

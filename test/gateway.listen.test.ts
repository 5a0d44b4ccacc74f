// 2026-07-28 `subscriptions/listen` through the gateway, against a 2025-era stdio server the
// gateway holds sessions with (src/gateway/listen-hub.ts): listeners of one URI share the
// upstream subscription, which ends only with the last of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const VERSION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': VERSION,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'listen-test', version: '1' },
};

let gw: Awaited<ReturnType<typeof startTestGateway>>;
let url: string;
let nextId = 0;

beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio() } });
  url = `${gw.base}/raw/mcp`;
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

const headers = (method: string, name?: string): Record<string, string> => ({
  'mcp-protocol-version': VERSION,
  'mcp-method': method,
  ...(name === undefined ? {} : { 'mcp-name': name }),
});

async function callTool(name: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const res = await rawPost(url, { jsonrpc: '2.0', id: ++nextId, method: 'tools/call', params: { name, arguments: args, _meta: ENVELOPE } }, headers('tools/call', name));
  const body = (Array.isArray(res.json) ? res.json.at(-1) : res.json) as { result: { content: { text: string }[] } };
  const text = body.result.content[0]!.text;
  return text.startsWith('{') ? (JSON.parse(text) as unknown) : text;
}

/** An open listen stream: the JSON-RPC messages it carried so far, and a way to wait for more. */
interface Listener {
  readonly messages: { method?: string; params?: Record<string, unknown> }[];
  next(method: string, count?: number): Promise<void>;
  close(): void;
}

async function listen(uris: string[]): Promise<Listener> {
  const abort = new AbortController();
  const res = await fetch(url, {
    method: 'POST',
    signal: abort.signal,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers('subscriptions/listen') },
    body: JSON.stringify({ jsonrpc: '2.0', id: `listen-${++nextId}`, method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: uris }, _meta: ENVELOPE } }),
  });
  expect(res.status).toBe(200);
  const messages: Listener['messages'] = [];
  let wake: (() => void) | undefined;
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n')) !== -1) {
          const line = buffer.slice(0, end).trimEnd();
          buffer = buffer.slice(end + 1);
          if (line.startsWith('data: ') && line.length > 6) {
            messages.push(JSON.parse(line.slice(6)) as Listener['messages'][number]);
            wake?.();
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  const count = (method: string) => messages.filter((m) => m.method === method).length;
  return {
    messages,
    async next(method, n = 1) {
      const until = Date.now() + 5000;
      while (count(method) < n) {
        if (Date.now() > until) throw new Error(`no ${method} arrived`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => abort.abort(),
  };
}

describe('subscriptions/listen on a 2025 stdio upstream', () => {
  it('keeps a URI subscribed upstream while any listener still listens to it', async () => {
    const shared = 'file:///shared';
    const onlyFirst = 'file:///first-only';
    const first = await listen([shared, onlyFirst]);
    const second = await listen([shared]);
    await Promise.all([first.next('notifications/subscriptions/acknowledged'), second.next('notifications/subscriptions/acknowledged')]);

    first.close();
    // The first listener's own URI is unsubscribed once its close is seen; the shared one is not.
    const until = Date.now() + 5000;
    let state = (await callTool('state')) as { subscribes: string[]; unsubscribes: string[] };
    while (!state.unsubscribes.includes(onlyFirst)) {
      if (Date.now() > until) throw new Error('the first listener\'s close was not seen');
      await new Promise((r) => setTimeout(r, 50));
      state = (await callTool('state')) as { subscribes: string[]; unsubscribes: string[] };
    }
    expect(state.unsubscribes).not.toContain(shared);
    expect(state.subscribes.filter((u) => u === shared)).toHaveLength(1);

    await callTool('update', { uri: shared });
    await second.next('notifications/resources/updated');
    const update = second.messages.find((m) => m.method === 'notifications/resources/updated')!;
    expect(update.params).toMatchObject({ uri: shared });

    second.close();
    const done = Date.now() + 5000;
    while (!((await callTool('state')) as { unsubscribes: string[] }).unsubscribes.includes(shared)) {
      if (Date.now() > done) throw new Error('the last listener leaving did not unsubscribe upstream');
      await new Promise((r) => setTimeout(r, 50));
    }
  }, 30_000);

  it('refuses more than 100 resourceSubscriptions in one listen request', async () => {
    const uris = Array.from({ length: 101 }, (_, i) => `file:///r${i}`);
    const res = await rawPost(
      url,
      { jsonrpc: '2.0', id: 'too-many', method: 'subscriptions/listen', params: { notifications: { resourceSubscriptions: uris }, _meta: ENVELOPE } },
      headers('subscriptions/listen'),
    );
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ id: 'too-many', error: { code: -32602, message: expect.stringContaining('at most 100 resourceSubscriptions') } });
  }, 10_000);
});

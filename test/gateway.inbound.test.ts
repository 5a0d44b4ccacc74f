// The inbound path's guard rails: sessions keep to their transport and take one initialize,
// request ids in flight are not reused, resumed streams replace the live one, and the codes
// and protocol-version rules of the Streamable HTTP transport.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio(), rawps: rawStdio({ sharing: 'per-session' }) } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** An open SSE response: events as they come, and a way to wait for one. */
function follow(res: Response): { events: SseEvent[]; next: (match: (e: SseEvent) => boolean, timeoutMs?: number) => Promise<SseEvent>; cancel: () => Promise<void> } {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let ended = false;
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^data: ?(.*)$/m.exec(frame)?.[1];
          if (data === undefined) continue;
          const e: SseEvent = { data };
          const id = /^id: (.*)$/m.exec(frame)?.[1];
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          if (id !== undefined) e.id = id;
          if (event !== undefined) e.event = event;
          events.push(e);
          for (const w of waiters) w();
        }
      }
    } catch {
      // cancelled
    }
    ended = true;
    for (const w of waiters) w();
  })();
  let seen = 0;
  const next = (match: (e: SseEvent) => boolean, timeoutMs = 5000) =>
    new Promise<SseEvent>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching event; got ${JSON.stringify(events)}`));
      }, timeoutMs);
      function check() {
        for (; seen < events.length; seen++) {
          if (match(events[seen]!)) {
            const e = events[seen++]!;
            clearTimeout(timer);
            waiters.delete(check);
            resolve(e);
            return;
          }
        }
        if (ended) {
          clearTimeout(timer);
          waiters.delete(check);
          reject(new Error(`stream ended; got ${JSON.stringify(events)}`));
        }
      }
      waiters.add(check);
      check();
    });
  return { events, next, cancel: () => reader.cancel().catch(() => undefined) };
}

/** Opens `/{server}/sse`; returns the message endpoint and the stream. */
async function legacy(server: string) {
  const res = await fetch(`${gw.base}/${server}/sse`, { headers: { accept: 'text/event-stream' } });
  expect(res.status).toBe(200);
  const stream = follow(res);
  const endpoint = (await stream.next((e) => e.event === 'endpoint')).data;
  const send = (message: unknown) =>
    fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) });
  const reply = (id: unknown) => stream.next((e) => e.data.startsWith('{') && (JSON.parse(e.data) as { id?: unknown }).id === id && !('method' in JSON.parse(e.data)));
  return { stream, endpoint, sessionId: new URL(endpoint).searchParams.get('sessionId')!, send, reply };
}

const call = (id: unknown, name: string, args: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** The text of a tools/call result carried by an SSE event. */
function toolText(e: SseEvent): unknown {
  const m = JSON.parse(e.data) as { result: { content: { text: string }[] } };
  return JSON.parse(m.result.content[0]!.text);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return cond();
}

describe('sessions keep to their transport and take one initialize', () => {
  it('refuses a second initialize on a legacy SSE session and keeps the first upstream session', async () => {
    const s = await legacy('rawps');
    expect((await s.send({ ...INIT('2024-11-05'), id: 1 })).status).toBe(202);
    expect(JSON.parse((await s.reply(1)).data)).toMatchObject({ result: { serverInfo: {} } });
    await s.send(call(2, 'whoami'));
    const pid = (toolText(await s.reply(2)) as { pid: number }).pid;
    for (const id of [3, 4, 5]) {
      expect((await s.send({ ...INIT('2024-11-05'), id })).status).toBe(202);
      expect(JSON.parse((await s.reply(id)).data)).toMatchObject({ id, error: { code: -32600, message: expect.stringContaining('already initialized') } });
    }
    await s.send(call(6, 'whoami'));
    expect(toolText(await s.reply(6))).toMatchObject({ pid });
    await s.stream.cancel();
    expect(await waitFor(() => !alive(pid))).toBe(true);
  });

  it('does not take a Streamable HTTP session id on /message, nor a legacy one on /mcp', async () => {
    const init = await rawPost(`${gw.base}/raw/mcp`, INIT());
    const sid = init.headers.get('mcp-session-id')!;
    const viaMessage = await fetch(`${gw.base}/raw/message?sessionId=${sid}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    expect(viaMessage.status).toBe(404);

    const s = await legacy('raw');
    const viaMcp = await rawPost(`${gw.base}/raw/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { 'mcp-session-id': s.sessionId });
    expect(viaMcp.status).toBe(404);
    const get = await fetch(`${gw.base}/raw/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': s.sessionId } });
    expect(get.status).toBe(404);
    await get.body?.cancel();
    await s.stream.cancel();
  });
});

describe('a request id already in flight', () => {
  const slow = (id: unknown, ms = 400) => call(id, 'slow', { ms });

  for (const route of ['raw/mcp', 'mcp']) {
    it(`is refused on Streamable HTTP (/${route}) with 400 -32600; the first call keeps its answer`, async () => {
      const url = `${gw.base}/${route}`;
      const init = await rawPost(url, INIT());
      const h = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
      const name = route === 'mcp' ? 'raw__slow' : 'slow';
      const first = rawPost(url, call('x', name, { ms: 400 }), h);
      await new Promise((r) => setTimeout(r, 100));
      const second = await rawPost(url, call('x', name.replace('slow', 'echo'), { second: true }), h);
      expect(second.status).toBe(400);
      expect(second.json).toMatchObject({ id: 'x', error: { code: -32600, message: expect.stringContaining('"x"') } });
      const done = await first;
      expect(done.status).toBe(200);
      expect(JSON.stringify(done.json)).toContain('\\"ms\\":400');
      // Once answered, the id may be used again.
      expect((await rawPost(url, call('x', name.replace('slow', 'echo')), h)).json).toMatchObject({ id: 'x', result: {} });
    });
  }

  it('gets that item an error in a 2025-03-26 batch', async () => {
    const url = `${gw.base}/raw/mcp`;
    const init = await rawPost(url, INIT('2025-03-26'));
    const h = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
    const first = rawPost(url, slow('y'), h);
    await new Promise((r) => setTimeout(r, 100));
    const batch = await rawPost(url, [call('y', 'echo'), call('z', 'echo', { ok: 1 })], h);
    expect(batch.status).toBe(200);
    const items = batch.json as { id: string; error?: { code: number }; result?: unknown }[];
    expect(items.find((i) => i.id === 'y')).toMatchObject({ error: { code: -32600 } });
    expect(items.find((i) => i.id === 'z')).toMatchObject({ result: {} });
    expect(JSON.stringify((await first).json)).toContain('\\"ms\\":400');
    // The same id twice in one batch is refused whole.
    expect((await rawPost(url, [call('w', 'echo'), call('w', 'echo')], h)).status).toBe(400);
  });

  it('gets an error event on legacy SSE; the first call keeps its answer', async () => {
    const s = await legacy('raw');
    await s.send({ ...INIT('2024-11-05'), id: 1 });
    await s.reply(1);
    await s.send(slow(7));
    await new Promise((r) => setTimeout(r, 100));
    await s.send(call(7, 'echo'));
    expect(JSON.parse((await s.reply(7)).data)).toMatchObject({ id: 7, error: { code: -32600 } });
    expect(toolText(await s.reply(7))).toMatchObject({ ms: 400 });
    await s.stream.cancel();
  });
});

describe('resuming the standalone GET stream', () => {
  /** True when the response body ends within `ms`. */
  async function ends(stream: ReturnType<typeof follow>, ms = 2000): Promise<boolean> {
    return stream.next(() => false, ms).then(
      () => false,
      (err: Error) => err.message.startsWith('stream ended'),
    );
  }

  it('closes the live stream it replaces, and the session closes the resumed one', async () => {
    const url = `${gw.base}/raw/mcp`;
    const init = await rawPost(url, INIT('2025-11-25'));
    const sid = init.headers.get('mcp-session-id')!;
    const get = (extra: Record<string, string> = {}) => fetch(url, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, ...extra } });
    const live = await get();
    expect(live.status).toBe(200);
    const first = follow(live);
    const primed = await first.next((e) => e.id !== undefined);
    const resumedRes = await get({ 'last-event-id': primed.id! });
    expect(resumedRes.status).toBe(200);
    const resumed = follow(resumedRes);
    expect(await ends(first)).toBe(true);
    // Still one GET stream: a plain second GET is refused while the resumed one is live.
    const third = await get();
    expect(third.status).toBe(409);
    await third.body?.cancel();
    // Upstream notifications reach the resumed stream.
    await rawPost(url, call(1, 'list_changed'), { 'mcp-session-id': sid });
    await resumed.next((e) => e.data.includes('notifications/tools/list_changed'));
    // DELETE ends the session and every stream it has.
    expect((await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid } })).status).toBe(200);
    expect(await ends(resumed)).toBe(true);
  });
});

describe('codes and protocol rules', () => {
  const url = () => `${gw.base}/raw/mcp`;
  const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
  const open = async (version: string) => ({ 'mcp-session-id': (await rawPost(url(), INIT(version))).headers.get('mcp-session-id')! });

  it('answers a missing Mcp-Session-Id with 400 -32600 and an unknown one with 404 -32001 (as the SDK servers do)', async () => {
    const missing = await rawPost(url(), list);
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ error: { code: -32600 } });
    const unknown = await rawPost(url(), list, { 'mcp-session-id': 'no-such-session' });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: -32001, message: 'Session not found' } });
  });

  it('refuses a request whose id is null (it is no notification)', async () => {
    const h = await open('2025-06-18');
    const r = await rawPost(url(), { ...list, id: null }, h);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ id: null, error: { code: -32600, message: expect.stringContaining('null') } });
    const s = await legacy('raw');
    expect((await s.send({ ...list, id: null })).status).toBe(400);
    await s.stream.cancel();
  });

  it('refuses batches unless the session negotiated 2025-03-26', async () => {
    for (const version of ['2025-06-18', '2025-11-25']) {
      const r = await rawPost(url(), [list, { ...list, id: 2 }], await open(version));
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: { code: -32600, message: `Invalid Request: batches are not supported in protocol version ${version}` } });
    }
    const ok = await rawPost(url(), [list, { ...list, id: 2 }], await open('2025-03-26'));
    expect(ok.status).toBe(200);
    expect((ok.json as unknown[]).length).toBe(2);
  });

  it('takes any MCP-Protocol-Version we serve, and refuses malformed or unknown ones with 400', async () => {
    const h = await open('2025-11-25');
    // Not only the negotiated one (docs/decisions/0013-inbound-guard-rails.md).
    expect((await rawPost(url(), list, { ...h, 'mcp-protocol-version': '2025-06-18' })).status).toBe(200);
    for (const bad of ['zzz', '2000-01-01', '2025-11-25x']) {
      for (const headers of [h, {}]) {
        const r = await rawPost(url(), list, { ...headers, 'mcp-protocol-version': bad });
        expect(r.status, `${bad} ${JSON.stringify(headers)}`).toBe(400);
        expect((r.json as { error: { message: string } }).error.message).toContain('unsupported MCP-Protocol-Version');
      }
    }
  });

  it('refuses a body nested deeper than 1000 levels before anything walks it', async () => {
    const h = await open('2025-06-18');
    const deep = (n: number) => `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"a":${'['.repeat(n)}${']'.repeat(n)}}}}`;
    const r = await rawPost(url(), deep(200_000), h);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: -32600, message: expect.stringContaining('nested deeper') } });
    // Brackets inside strings do not count; moderate nesting passes.
    const fine = await rawPost(url(), `{"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"echo","arguments":{"s":"${'['.repeat(5000)}","a":${'['.repeat(500)}${']'.repeat(500)}}}}`, h);
    expect(fine.status).toBe(200);
    expect(fine.json).toMatchObject({ id: 10, result: {} });
  });
});

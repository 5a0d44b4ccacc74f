// Streams: resuming a cut SSE response with Last-Event-ID, absolute SSE endpoints behind a
// reverse proxy, keep-alive comments, and the standalone GET stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SseStream } from '../src/gateway/sse.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
const ACCEPT = { accept: 'application/json, text/event-stream', 'content-type': 'application/json' };

beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio() } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

/** Reads SSE events from a response body until `stop` says enough. */
async function readEvents(
  res: Response,
  stop: (events: { id?: string; data: string }[]) => boolean,
): Promise<{ id?: string; data: string }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { id?: string; data: string }[] = [];
  let buffer = '';
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const id = /^id: (.*)$/m.exec(frame)?.[1];
      const data = /^data: ?(.*)$/m.exec(frame)?.[1];
      if (data !== undefined) events.push(id === undefined ? { data } : { id, data });
    }
  }
  await reader.cancel().catch(() => undefined);
  return events;
}

describe('resumability', () => {
  it('replays what a cut POST stream missed on GET with Last-Event-ID', async () => {
    const init = await rawPost(`${gw.base}/raw/mcp`, INIT('2025-11-25'));
    const sid = init.headers.get('mcp-session-id')!;
    const res = await fetch(`${gw.base}/raw/mcp`, {
      method: 'POST',
      headers: { ...ACCEPT, 'mcp-session-id': sid },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 42,
        method: 'tools/call',
        params: { name: 'progress_slow', arguments: { ms: 400 }, _meta: { progressToken: 'pt' } },
      }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    // Read until the first progress event, then drop the connection.
    const first = await readEvents(res, (ev) => ev.some((e) => e.data.includes('notifications/progress')));
    const lastId = first.filter((e) => e.id).at(-1)!.id!;
    expect(first[0]).toMatchObject({ data: '' }); // 2025-11-25 priming event
    const resumed = await fetch(`${gw.base}/raw/mcp`, {
      headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': lastId },
    });
    expect(resumed.status).toBe(200);
    const rest = await readEvents(resumed, (ev) => ev.some((e) => e.data.includes('"id":42')));
    const messages = rest.filter((e) => e.data).map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(messages.map((m) => m.method ?? 'result')).toEqual(['notifications/progress', 'result']);
    expect(messages[1]).toMatchObject({ id: 42, result: { content: [{ text: 'done slowly' }] } });
  });

  it('refuses an unknown Last-Event-ID', async () => {
    const init = await rawPost(`${gw.base}/raw/mcp`, INIT('2025-11-25'));
    const sid = init.headers.get('mcp-session-id')!;
    const r = await fetch(`${gw.base}/raw/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': '999-1' } });
    expect(r.status).toBe(400);
  });
});

describe('the standalone GET stream', () => {
  it('carries notifications that belong to no request, and only one may be open', async () => {
    const init = await rawPost(`${gw.base}/raw/mcp`, INIT('2025-06-18'));
    const sid = init.headers.get('mcp-session-id')!;
    const stream = await fetch(`${gw.base}/raw/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
    expect(stream.status).toBe(200);
    const second = await fetch(`${gw.base}/raw/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': sid } });
    expect(second.status).toBe(409);
    await second.body?.cancel();
    const reading = readEvents(stream, (ev) => ev.some((e) => e.data.includes('list_changed')));
    await rawPost(`${gw.base}/raw/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_changed', arguments: {} } }, { 'mcp-session-id': sid });
    const events = await reading;
    expect(events.some((e) => e.data.includes('notifications/tools/list_changed'))).toBe(true);
  });
});

describe('behind a reverse proxy', () => {
  it('announces an absolute SSE endpoint from trusted X-Forwarded-* headers', async () => {
    const res = await fetch(`${gw.base}/raw/sse`, {
      headers: { accept: 'text/event-stream', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mcp.example.org' },
    });
    const [endpoint] = await readEvents(res, (ev) => ev.length > 0);
    expect(endpoint!.data).toMatch(/^https:\/\/mcp\.example\.org\/raw\/message\?sessionId=[0-9a-f-]{36}$/);
  });

  it('uses the Host header when no proxy speaks', async () => {
    const res = await fetch(`${gw.base}/raw/sse`, { headers: { accept: 'text/event-stream' } });
    const [endpoint] = await readEvents(res, (ev) => ev.length > 0);
    expect(endpoint!.data.startsWith(`${gw.base}/raw/message?sessionId=`)).toBe(true);
  });
});

describe('keep-alive', () => {
  it('writes comment lines on an idle stream', async () => {
    const stream = new SseStream({ keepAliveMs: 20 });
    const reader = stream.body.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toBe(': keep-alive\n\n');
    stream.close();
  });
});

describe('operations', () => {
  it('exposes Prometheus metrics: requests by route and status, sessions, upstreams', async () => {
    await rawPost(`${gw.base}/raw/mcp`, INIT());
    const res = await fetch(`${gw.base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/gatehouse_http_requests_total\{route="mcp",status="200"\} \d+/);
    expect(text).toMatch(/gatehouse_sessions \d+/);
    expect(text).toContain('gatehouse_upstream_up{server="raw"} 1');
  });
});

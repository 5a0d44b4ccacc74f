import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAX_EVENT_LENGTH } from './event-stream.js';
import { leanFetch } from './lean-fetch.js';

let server: Server;
let base: URL;
const agent = new Agent();
const seen: { method: string; headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body });
      if (req.url === '/json') return void res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 's1', 'set-cookie': ['a=1', 'b=2'] }).end('{"ok":true}');
      if (req.url === '/accepted') return void res.writeHead(202).end();
      if (req.url === '/empty') return void res.writeHead(204).end();
      if (req.url === '/moved') return void res.writeHead(307, { location: '/json' }).end();
      if (req.url === '/endless') {
        // A JSON body that never ends: the reader must give up, not hold it all.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = 'x'.repeat(1024 * 1024);
        const more = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', more);
        };
        return more();
      }
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('id: 1\ndata: {"n":1}\n\n');
        return;
      }
      res.writeHead(404).end('no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await agent.close();
});

describe('leanFetch', () => {
  it('sends method, headers and a string body; answers with status, every header and the body', async () => {
    const res = (await leanFetch(agent, new URL('/json', base), { method: 'POST', body: '{"x":1}' }, new Headers({ 'Mcp-Session-Id': 'abc', accept: 'application/json' })))!;
    expect(res.status).toBe(200);
    expect(res.headers.get('mcp-session-id')).toBe('s1');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ ok: true });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"x":1}', headers: { 'mcp-session-id': 'abc', accept: 'application/json' } });
  });

  it('gives 202 an empty body and 204 none; does not follow a redirect', async () => {
    expect(await (await leanFetch(agent, new URL('/accepted', base), { method: 'POST', body: '{}' }, undefined))!.text()).toBe('');
    const empty = (await leanFetch(agent, new URL('/empty', base), { method: 'POST', body: '{}' }, undefined))!;
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const moved = (await leanFetch(agent, new URL('/moved', base), { method: 'POST', body: '{}', redirect: 'manual' }, undefined))!;
    expect(moved.status).toBe(307);
    expect(moved.headers.get('location')).toBe('/json');
  });

  it('streams an event stream, which the shared signal still aborts; one listener on that signal', async () => {
    const transport = new AbortController();
    const res = (await leanFetch(agent, new URL('/stream', base), { signal: transport.signal }, { accept: 'text/event-stream' }))!;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain('data: {"n":1}');
    await Promise.all(Array.from({ length: 20 }, () => leanFetch(agent, new URL('/json', base), { method: 'POST', body: '{}', signal: transport.signal }, undefined).then((r) => r!.text())));
    expect(getEventListeners(transport.signal, 'abort')).toHaveLength(1);
    transport.abort();
    await expect(reader.read()).rejects.toThrow();
  });

  it('fails a JSON answer past MAX_EVENT_LENGTH instead of reading it all (a server could fill the memory)', async () => {
    await expect(leanFetch(agent, new URL('/endless', base), { method: 'POST', body: '{}' }, { 'content-type': 'application/json' })).rejects.toThrow(`an answer longer than ${MAX_EVENT_LENGTH} characters`);
  }, 60_000);

  it('leaves a body that is not a string to fetch (undefined)', async () => {
    expect(await leanFetch(agent, new URL('/json', base), { method: 'POST', body: new Uint8Array([1]) }, undefined)).toBeUndefined();
  });
});

import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { createHttpClient } from './http-client.js';
import { relaySignal } from './signal-relay.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('relaySignal', () => {
  it('aborts the requests still registered when the shared signal aborts, not the released ones', () => {
    const shared = new AbortController();
    const done = relaySignal(shared.signal);
    const streaming = relaySignal(shared.signal);
    done.release();
    shared.abort(new Error('transport closed'));
    expect(streaming.signal.aborted).toBe(true);
    expect(done.signal.aborted).toBe(false);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(0);
  });

  it('keeps one listener on the shared signal, however many requests share it', () => {
    const shared = new AbortController();
    for (let i = 0; i < 50; i++) relaySignal(shared.signal);
    expect(getEventListeners(shared.signal, 'abort')).toHaveLength(1);
  });
});

describe('createHttpClient with a long-lived signal (as the SDK transports pass it)', () => {
  it('leaves no listener per request on it, and still aborts an open event stream', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': open\n\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createHttpClient({ url: new URL(`${base}/mcp`), headers: {}, tls: { rejectUnauthorized: true, ca: undefined }, timeoutMs: 5000 });
    const fetch = client.fetchFor();
    const transport = new AbortController();
    for (let i = 0; i < 40; i++) await (await fetch(`${base}/mcp`, { method: 'POST', body: '{}', signal: transport.signal })).text();
    // undici's fetch alone would leave 40 here until garbage collection.
    expect(getEventListeners(transport.signal, 'abort')).toHaveLength(1);

    const stream = await fetch(`${base}/stream`, { signal: transport.signal });
    const reading = stream.text();
    transport.abort();
    await expect(reading).rejects.toThrow();
    await client.close();
  });
});

// Closing an in-process gateway (GatehouseApp.close) waits for calls in flight, within
// shutdownTimeout, and for nothing else. A connection that has sent no request is not a call:
// Node's http server counts it busy (its headers timeout runs from the connect), so
// closeIdleConnections left it open and close waited until the client dropped it. fetch
// (undici) opens such a spare connection when a request follows an aborted stream at once
// (a legacy SSE stream cut by the client, then an initialize): close took its keep-alive
// timeout, 4 s, or shutdownTimeout for a client that keeps it longer.
//
// shutdownTimeout is an hour here, so only the fix lets close return soon: with the bug, the
// silent socket of the second test holds it until that test times out, and fetch's spare in
// the first is dropped by fetch itself, which the first test tells apart from the gateway
// closing it. This file must not import the undici package: loading it makes undici 7 fetch's
// global dispatcher, and that one opens no spare.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatehouse, type GatehouseApp } from '../src/app.js';
import { resolveConfig } from '../src/config/index.js';
import { silentLogger } from '../src/observability/index.js';
import { INIT, rawPost, rawStdio } from './helpers/gateway.js';
import { openSse } from './helpers/sse.js';

let gw: GatehouseApp | undefined;
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  // Clients first: a close still waiting on them (the bug) then returns.
  for (const c of cleanups.splice(0)) await c();
  await gw?.close();
  gw = undefined;
});

async function start(): Promise<GatehouseApp> {
  const config = resolveConfig(
    {
      format: 'native',
      location: 'test',
      baseDir: process.cwd(),
      doc: { listen: '127.0.0.1:0', auth: { mode: 'none' }, shutdownTimeout: '1h', servers: { raw: rawStdio() } },
    },
    process.env,
  );
  gw = await startGatehouse({ config, logger: silentLogger() });
  return gw;
}

describe('closing the gateway', () => {
  it('closes the connection fetch leaves behind when an initialize follows an aborted legacy SSE stream', async () => {
    const app = await start();
    // The connections fetch opens, the ones it sent a request on, and those the server ended.
    const opened = new Set<Socket>();
    const used = new Set<Socket>();
    const endedByServer = new Set<Socket>();
    const onConnected = (m: unknown) => {
      const socket = (m as { socket: Socket }).socket;
      opened.add(socket);
      socket.once('end', () => endedByServer.add(socket));
    };
    const onSend = (m: unknown) => used.add((m as { socket: Socket }).socket);
    subscribe('undici:client:connected', onConnected);
    subscribe('undici:client:sendHeaders', onSend);
    cleanups.push(() => {
      unsubscribe('undici:client:connected', onConnected);
      unsubscribe('undici:client:sendHeaders', onSend);
    });

    const sse = await openSse(`${app.url}/raw/sse`);
    expect(sse.status).toBe(200);
    expect(sse.endpoint).toMatch(/\/raw\/message\?sessionId=/);
    sse.close();
    const init = await rawPost(`${app.url}/raw/mcp`, INIT());
    expect(init.status).toBe(200);

    await app.close();
    // Node 20's fetch leaves one behind here: the reported case. (If a later Node's fetch stops
    // doing so, this test has nothing left to show; the next one covers the fix with a raw socket.)
    // The gateway ended it; fetch did not give up on it after its keep-alive timeout (4 s).
    const spares = [...opened].filter((s) => !used.has(s));
    expect(spares.length).toBeGreaterThan(0);
    await expect.poll(() => spares.every((s) => s.destroyed), { timeout: 20_000, interval: 20 }).toBe(true);
    expect(spares.filter((s) => !endedByServer.has(s))).toHaveLength(0);
  }, 60_000);

  it('closes connections that sent no request, and still lets the call in flight finish', async () => {
    const app = await start();
    const init = await rawPost(`${app.url}/raw/mcp`, INIT());
    expect(init.status).toBe(200);
    const session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    const slow = rawPost(`${app.url}/raw/mcp`, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { ms: 1500 } } }, session);
    // In flight once the server has started it (the fixture's `state` says so).
    await expect
      .poll(async () => JSON.stringify((await rawPost(`${app.url}/raw/mcp`, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'state', arguments: {} } }, session)).json), {
        timeout: 20_000,
        interval: 50,
      })
      .toMatch(/\\"started\\":\[[^\]]+\]/);

    // A client connected and sends nothing (what fetch's spare connection above does).
    const silent: Socket = connect(app.port, '127.0.0.1');
    cleanups.push(() => silent.destroy());
    await new Promise<void>((resolve, reject) => silent.once('connect', resolve).once('error', reject));
    const silentClosed = new Promise<void>((resolve) => silent.once('close', () => resolve()));
    silent.on('error', () => undefined);

    await app.close();
    await silentClosed;
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ id: 2, result: { content: [{ type: 'text' }] } });
    expect(JSON.stringify(answer.json)).toContain('1500');
  }, 30_000);
});

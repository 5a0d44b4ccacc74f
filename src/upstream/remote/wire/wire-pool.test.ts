import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { dispatchRequest, type Answer } from '../post-answer.js';
import { WirePool, type WireError } from './index.js';

// The wire pool on real sockets: against Node's own HTTP server (what most MCP servers run
// on), and against raw servers that send exactly the bytes a test needs.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Raw {
  origin: string;
  /** Every request's bytes, per connection, in order. */
  readonly connections: string[][];
  readonly sockets: Socket[];
}

/** A server that answers each request (one per read, as our requests are small) with `answer(n)`. */
async function rawServer(answer: (request: string, n: number, socket: Socket) => string | undefined): Promise<Raw> {
  const raw: Raw = { origin: '', connections: [], sockets: [] };
  let n = 0;
  const server: Server = createNetServer((socket) => {
    const seen: string[] = [];
    raw.connections.push(seen);
    raw.sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      const request = chunk.toString('latin1');
      seen.push(request);
      const reply = answer(request, n++, socket);
      if (reply !== undefined) socket.write(reply, 'latin1');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  raw.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => raw.sockets.forEach((s) => s.destroy()));
  return raw;
}

function pool(origin: string, timeoutMs = 5_000): WirePool {
  const p = new WirePool({ url: new URL(`${origin}/mcp`), tls: { rejectUnauthorized: true, ca: undefined }, timeoutMs });
  cleanups.push(() => p.destroy());
  return p;
}

const post = (origin: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  ({ origin, path: '/mcp', method: 'POST', headers, body }) as const;

const json = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

async function failureOf(promise: Promise<Answer>): Promise<WireError> {
  try {
    const answer = await promise;
    await answer.body.text();
  } catch (error) {
    return error as WireError;
  }
  throw new Error('no failure');
}

describe('WirePool', () => {
  it('writes one exact HTTP/1.1 request: host, headers, the body length in bytes', async () => {
    const raw = await rawServer(() => json('{}'));
    const p = pool(raw.origin);
    const body = '{"text":"héllo ✓"}';
    const answer = await dispatchRequest(p, post(raw.origin, body, { 'content-type': 'application/json', 'mcp-session-id': 'abc' }));
    expect(await answer.body.text()).toBe('{}');
    const host = new URL(raw.origin).host;
    expect(raw.connections[0]![0]).toBe(
      `POST /mcp HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\nmcp-session-id: abc\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${Buffer.from(body).toString('latin1')}`,
    );
  });

  it('writes a header value beyond ASCII as latin1 (as undici does) and the body as UTF-8', async () => {
    const raw = await rawServer(() => json('{}'));
    await (await dispatchRequest(pool(raw.origin), post(raw.origin, '"é"', { 'x-name': 'café' }))).body.text();
    const bytes = Buffer.from(raw.connections[0]![0]!, 'latin1');
    expect(bytes.includes(Buffer.from('x-name: caf\xe9\r\n', 'latin1'))).toBe(true);
    expect(bytes.subarray(-4)).toEqual(Buffer.from('"é"'));
  });

  it('carries sequential requests on one connection, and concurrent ones on their own, each getting its own answer', async () => {
    const raw = await rawServer((request) => json(request.slice(request.indexOf('\r\n\r\n') + 4)));
    const p = pool(raw.origin);
    for (let i = 0; i < 5; i++) expect(await (await dispatchRequest(p, post(raw.origin, `{"i":${i}}`))).body.text()).toBe(`{"i":${i}}`);
    expect(raw.connections.length).toBe(1);
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => dispatchRequest(p, post(raw.origin, `{"c":${i}}`)).then((a) => a.body.text())));
    expect(many).toEqual(Array.from({ length: 8 }, (_, i) => `{"c":${i}}`));
    expect(raw.connections.length).toBe(8);
  });

  it("works with Node's HTTP server: event-stream answers, 202s, keep-alive", async () => {
    const server = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (body.includes('notify')) res.writeHead(202).end();
        else res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: message\ndata: ${body}\n\n`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    cleanups.push(() => server.closeAllConnections());
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const p = pool(origin);
    const events: string[] = [];
    const sse = await dispatchRequest(p, post(origin, '{"id":1}'));
    expect(sse.headers['content-type']).toBe('text/event-stream');
    await sse.body.events((e) => events.push(e.data));
    expect(events).toEqual(['{"id":1}']);
    const accepted = await dispatchRequest(p, post(origin, '{"notify":true}'));
    expect(accepted.statusCode).toBe(202);
    await accepted.body.dump();
    let connections = 0;
    server.on('connection', () => connections++);
    expect((await dispatchRequest(p, post(origin, '{"id":2}'))).statusCode).toBe(200);
    expect(connections).toBe(0); // the kept connection
  });

  it('does not reuse a connection the server said it closes, or one that carried bytes after its answer', async () => {
    const raw = await rawServer((_req, n) => (n === 0 ? json('{}', 'Connection: close\r\n') : n === 1 ? json('{}') + 'HTTP/1.1 200 OK\r\n' : json('{}')));
    const p = pool(raw.origin);
    for (let i = 0; i < 3; i++) expect(await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text()).toBe('{}');
    expect(raw.connections.map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it("closes an idle connection before the server's Keep-Alive timeout would", async () => {
    const raw = await rawServer(() => json('{}', 'Keep-Alive: timeout=1\r\n'));
    const p = pool(raw.origin);
    await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text();
    await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text();
    // timeout=1 leaves no safe idle time (1 s minus a 1 s margin): each request opens its own.
    expect(raw.connections.length).toBe(2);
  });

  it('opens a new connection when the server closed the idle one', async () => {
    const raw = await rawServer((_req, _n, socket) => {
      socket.end(json('{}'));
      return undefined;
    });
    const p = pool(raw.origin);
    await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text();
    await new Promise((r) => setTimeout(r, 50));
    expect(await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text()).toBe('{}');
    expect(raw.connections.length).toBe(2);
  });

  it('fails with WIRE_HEADERS_TIMEOUT when no answer comes in time, and the next request gets a fresh connection', async () => {
    const raw = await rawServer((_req, n) => (n === 0 ? undefined : json('{}')));
    const p = pool(raw.origin, 200);
    const error = await failureOf(dispatchRequest(p, post(raw.origin, '{}')));
    expect(error).toMatchObject({ code: 'WIRE_HEADERS_TIMEOUT', message: 'no answer within 200 ms' });
    expect(await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text()).toBe('{}');
    expect(raw.connections.length).toBe(2);
  });

  it('never times out a body: an event stream may idle', async () => {
    const raw = await rawServer((_req, _n, socket) => {
      setTimeout(() => socket.write('5\r\ndata:\r\n0\r\n\r\n'), 400);
      return 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
    });
    const p = pool(raw.origin, 100);
    const answer = await dispatchRequest(p, post(raw.origin, '{}'));
    expect(await answer.body.text()).toBe('data:');
  });

  it('fails an answer cut short, with the code errors.ts words as a lost connection', async () => {
    const raw = await rawServer((_req, _n, socket) => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      return undefined;
    });
    const error = await failureOf(dispatchRequest(pool(raw.origin), post(raw.origin, '{}')));
    expect(error).toMatchObject({ code: 'WIRE_CLOSED' });
  });

  it('fails a malformed answer and drops its connection', async () => {
    const raw = await rawServer(() => 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n');
    const p = pool(raw.origin);
    const error = await failureOf(dispatchRequest(p, post(raw.origin, '{}')));
    expect(error).toMatchObject({ code: 'WIRE_BAD_RESPONSE', message: expect.stringContaining('both Transfer-Encoding and Content-Length') });
    await new Promise((r) => setTimeout(r, 20));
    expect(raw.sockets[0]!.destroyed || raw.sockets[0]!.readableEnded).toBe(true);
  });

  it('passes a refused connection on with its code (ECONNREFUSED)', async () => {
    const raw = await rawServer(() => undefined);
    const origin = raw.origin;
    await cleanups.splice(0).reverse().reduce((p, c) => p.then(() => c()), Promise.resolve() as Promise<unknown>);
    const error = await failureOf(dispatchRequest(pool(origin), post(origin, '{}')));
    expect((error as unknown as { code: string }).code).toBe('ECONNREFUSED');
  });

  it('refuses to send a header value that could split the request (server-chosen session ids, event ids, versions) and sends nothing', async () => {
    const raw = await rawServer(() => json('{}'));
    const p = pool(raw.origin);
    // U+010D U+010A would go out as CR LF if written as latin1 (one byte per character).
    for (const value of ['a\r\nInjected: 1', 'a\nb', 'a\0b', '7\u010d\u010aX-Injected: yes', 'a\u0001b']) {
      const error = await failureOf(dispatchRequest(p, post(raw.origin, '{}', { 'last-event-id': value })));
      expect(error).toMatchObject({ code: 'WIRE_BAD_REQUEST', message: expect.stringContaining('header last-event-id holds characters a header cannot carry') });
    }
    const framings: Array<Record<string, string>> = [{ 'transfer-encoding': 'chunked' }, { 'keep-alive': 'timeout=5' }, { upgrade: 'h2c' }, { expect: '100-continue' }, { connection: 'upgrade' }];
    for (const framing of framings) {
      expect(await failureOf(dispatchRequest(p, post(raw.origin, '{}', framing)))).toMatchObject({ code: 'WIRE_BAD_REQUEST' });
    }
    expect(await failureOf(dispatchRequest(p, { ...post(raw.origin, '{}'), path: '/mcp x' }))).toMatchObject({ code: 'WIRE_BAD_REQUEST' });
    expect(await failureOf(dispatchRequest(p, post('http://127.0.0.1:1', '{}')))).toMatchObject({ code: 'WIRE_BAD_REQUEST' });
    expect(raw.connections.length).toBe(0);
  });

  it('sends Connection: close and TE as configured (as undici does), and does not reuse that connection', async () => {
    const raw = await rawServer(() => json('{}'));
    const p = pool(raw.origin);
    for (let i = 0; i < 2; i++) await (await dispatchRequest(p, post(raw.origin, '{}', { Connection: 'close', TE: 'trailers', 'content-length': '999' }))).body.text();
    expect(raw.connections.length).toBe(2);
    expect(raw.connections[0]![0]).toContain('\r\nConnection: close\r\nTE: trailers\r\ncontent-length: 2\r\n\r\n{}');
  });

  it('does not reuse a connection whose request was still being written when the answer came (a 413 before the body)', async () => {
    const raw = await rawServer((_req, n, socket) => {
      if (n > 0) return json('{}');
      socket.pause(); // reads no more of the big body, as a server that refuses it at once
      return 'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n';
    });
    const p = pool(raw.origin);
    const big = await dispatchRequest(p, post(raw.origin, `"${'x'.repeat(16 * 1024 * 1024)}"`));
    expect(big.statusCode).toBe(413);
    await big.body.dump();
    expect(await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text()).toBe('{}');
    expect(raw.connections.length).toBe(2);
  });

  it('does not hand out an idle connection past its keep-alive allowance, whenever the sweep runs', async () => {
    // timeout=3: usable for 3 s minus the 2 s margin.
    const raw = await rawServer(() => json('{}', 'Keep-Alive: timeout=3\r\n'));
    const p = pool(raw.origin, 60_000);
    await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text();
    await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text();
    expect(raw.connections.length).toBe(1);
    await new Promise((r) => setTimeout(r, 1_100));
    await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text();
    expect(raw.connections.length).toBe(2);
  });

  it('timeout 0 is no timeout (as undici reads 0)', async () => {
    const raw = await rawServer((_req, _n, socket) => {
      setTimeout(() => socket.write(json('{}')), 1_300); // past the sweep's first tick (1 s)
      return undefined;
    });
    expect(await (await dispatchRequest(pool(raw.origin, 0), post(raw.origin, '{}'))).body.text()).toBe('{}');
  });

  it('starts the wait for the answer again at each 1xx (102 Processing during a long call)', async () => {
    const raw = await rawServer((_req, _n, socket) => {
      const beat = setInterval(() => socket.write('HTTP/1.1 102 Processing\r\n\r\n'), 100);
      setTimeout(() => {
        clearInterval(beat);
        socket.write(json('{"late":true}'));
      }, 700);
      return undefined;
    });
    expect(await (await dispatchRequest(pool(raw.origin, 300), post(raw.origin, '{}'))).body.text()).toBe('{"late":true}');
  });

  it("reads a Location's bytes as UTF-8, as the link did over undici", async () => {
    const raw = await rawServer(() => `HTTP/1.1 307 Temporary Redirect\r\nLocation: ${Buffer.from('/mcp-ü').toString('latin1')}\r\nContent-Length: 0\r\n\r\n`);
    const answer = await dispatchRequest(pool(raw.origin), post(raw.origin, '{}'));
    expect(answer.headers.location).toBe('/mcp-ü');
  });

  it('resumes a socket its reader paused before the connection goes back to the pool', async () => {
    const raw = await rawServer(() => json('{"a":1}'));
    const p = pool(raw.origin);
    await new Promise<void>((resolve, reject) => {
      p.dispatch(post(raw.origin, '{}'), { onData: () => false, onComplete: () => resolve(), onError: reject });
    });
    expect(await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text()).toBe('{"a":1}');
    expect(raw.connections.length).toBe(1);
  });

  it('lets a configured Host header replace the origin', async () => {
    const raw = await rawServer(() => json('{}'));
    await (await dispatchRequest(pool(raw.origin), post(raw.origin, '{}', { Host: 'virtual.example' }))).body.text();
    expect(raw.connections[0]![0]).toMatch(/^POST \/mcp HTTP\/1\.1\r\nhost: virtual\.example\r\ncontent-length: 2\r\n\r\n\{\}$/);
  });

  it('drops the connection of an answer its reader stopped, and carries on with a new one', async () => {
    const raw = await rawServer((_req, n) => (n === 0 ? 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' : json('{}')));
    const p = pool(raw.origin);
    const streaming = await dispatchRequest(p, post(raw.origin, '{}'));
    streaming.body.destroy();
    expect(await (await dispatchRequest(p, post(raw.origin, '{}'))).body.text()).toBe('{}');
    expect(raw.connections.length).toBe(2);
  });

  it('close() lets the answer under way finish; destroy() fails it; later requests are refused', async () => {
    let finish: (() => void) | undefined;
    const raw = await rawServer((_req, _n, socket) => {
      finish = () => socket.write('ok');
      return 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
    });
    const p = pool(raw.origin);
    const answer = await dispatchRequest(p, post(raw.origin, '{}'));
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    finish!();
    expect(await answer.body.text()).toBe('ok');
    await closing;
    expect(await failureOf(dispatchRequest(p, post(raw.origin, '{}')))).toMatchObject({ code: 'WIRE_POOL_CLOSED' });

    const q = pool(raw.origin);
    const pending = dispatchRequest(q, post(raw.origin, '{}'));
    const reading = pending.then((a) => a.body.text());
    await pending;
    await q.destroy();
    await expect(reading).rejects.toMatchObject({ code: 'WIRE_POOL_CLOSED' });

    // close() then destroy(): both resolve (a shutdown that escalates).
    const r = pool(raw.origin);
    const held = dispatchRequest(r, post(raw.origin, '{}')).then((a) => a.body.text()).catch(() => 'failed');
    await new Promise((res) => setTimeout(res, 20));
    const first = r.close();
    const second = r.destroy();
    await expect(Promise.all([first, second, held])).resolves.toEqual([undefined, undefined, 'failed']);
  });
});

describe('WirePool over TLS', () => {
  it('checks the certificate against a configured Host, and sends it as SNI, as undici does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-wire-tls-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyPath = join(dir, 'key.pem');
    const certPath = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=api.example.test', '-addext', 'subjectAltName=DNS:api.example.test'],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(certPath, 'utf8');
    const names: Array<string | false | null> = [];
    const server = createHttpsServer({ key: readFileSync(keyPath, 'utf8'), cert }, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    server.on('secureConnection', (socket) => names.push(socket.servername));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    cleanups.push(() => server.closeAllConnections());
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const p = new WirePool({ url: new URL(`${origin}/mcp`), tls: { rejectUnauthorized: true, ca: cert }, timeoutMs: 5_000 });
    cleanups.push(() => p.destroy());
    // The certificate names api.example.test, not 127.0.0.1: without the Host it is refused.
    const refused = await failureOf(dispatchRequest(p, post(origin, '{}')));
    expect((refused as unknown as { code: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    const answer = await dispatchRequest(p, post(origin, '{}', { Host: 'api.example.test:443' }));
    expect(await answer.body.text()).toBe('{}');
    expect(names).toEqual(['api.example.test']); // the refused handshake never completed
  });
});

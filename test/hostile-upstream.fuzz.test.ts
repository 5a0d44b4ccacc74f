// A hostile Streamable HTTP upstream: after a proper initialize, every call is answered with a
// generated bad answer (cut short, badly framed, contradictory lengths, not JSON, the wrong id, a
// login page, a 404 that ends the session, no answer at all, endless 1xx, oversized heads, ...).
// The gateway reads these over its own HTTP/1.1 client (src/upstream/remote/wire/): whatever
// comes, each client call gets an answer (a JSON-RPC error, or a 404 once the upstream session is
// gone, or a 502 when a new one cannot be opened), none hangs, none is a 500, and another server
// behind the same gateway keeps working. Seeded like hostile-input.fuzz.test.ts (FUZZ_SEED, FUZZ_CASES;
// FUZZ_SHOW=1 prints each case and what the client got).
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from '../src/observability/index.js';
import { generator } from './helpers/fuzz.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
const CASES = Number(process.env.FUZZ_CASES ?? 100);


const json = (status: number, body: string, extra = ''): string =>
  `HTTP/1.1 ${status} X\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const sse = (events: string, extra = ''): string =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: ${Buffer.byteLength(events)}\r\n${extra}\r\n${events}`;

/** Bad answers to a request with JSON-RPC id `id`: [label, bytes, then close the connection?]. */
function answers(id: unknown): Array<[string, string | undefined, boolean]> {
  const result = JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } });
  return [
    ['a good SSE answer (control)', sse(`event: message\ndata: ${result}\n\n`), false],
    ['a good JSON answer (control)', json(200, result), false],
    ['JSON cut short, then close', 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"jsonrpc":"2.0"', true],
    ['a bad status line', 'HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n', false],
    ['Transfer-Encoding and Content-Length', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nContent-Type: application/json\r\n\r\n3\r\n{}x\r\n0\r\n\r\n`, false],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\nzz\r\n', false],
    ['differing lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok', false],
    ['events that are not JSON', sse('data: not json\n\ndata: {"jsonrpc":\n\n'), false],
    ['an answer to another id', sse(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 'someone-else', result: {} })}\n\n`), false],
    ['JSON with the wrong id', json(200, JSON.stringify({ jsonrpc: '2.0', id: 424242, result: {} })), false],
    ['a login page', 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>', false],
    ['404: the session is gone', json(404, JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32001, message: 'Session not found' } })), false],
    ['500 with a JSON-RPC error', json(500, JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32603, message: 'boom' } })), false],
    ['no answer at all', undefined, false],
    ['a head, then nothing', 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n', false],
    ['a head of 70 KB', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`, false],
    ['1xx, then close', 'HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n', true],
    ['a body shorter than its length, then close', sse('data: {"jsonrpc":"2.0"', '').replace(/Content-Length: \d+/, 'Content-Length: 400'), true],
    ['random bytes', '\u0000\u00ff\r\n\r\nHTTP/9 ???\r\n', true],
    ['an empty SSE stream', sse(''), false],
    ['a 204 with a body', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello', false],
    ['an SSE stream that ends with a partial event', sse(`id: 1\ndata: ${result.slice(0, 20)}`), false],
  ];
}

/** The hostile upstream: initialize and notifications as a server should, every call as `pick` says. */
function hostileUpstream(pick: (id: unknown) => [string, string | undefined, boolean]): Promise<{ url: string; server: Server; seen: string[] }> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length).toString('utf8');
        buffered = buffered.subarray(end + 4 + length);
        if (!head.startsWith('POST')) {
          socket.write('HTTP/1.1 405 X\r\nContent-Length: 0\r\n\r\n');
          continue;
        }
        let message: { id?: unknown; method?: string } = {};
        try {
          message = JSON.parse(body) as typeof message;
        } catch {
          // not ours to judge
        }
        if (message.method === 'initialize') {
          const init = JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'hostile', version: '1' } } });
          socket.write(json(200, init, `Mcp-Session-Id: s-${seen.length}\r\n`));
        } else if (message.id === undefined) {
          socket.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
        } else {
          const [label, bytes, close] = pick(message.id);
          seen.push(label);
          if (bytes !== undefined) socket.write(bytes);
          if (close) socket.end();
        }
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const close = server.close.bind(server);
      Object.assign(server, {
        close: (cb?: (err?: Error) => void) => {
          for (const s of sockets) s.destroy();
          return close(cb);
        },
      });
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, server, seen });
    }),
  );
}

describe('a hostile HTTP upstream', () => {
  const g = generator(SEED);
  let upstream: Awaited<ReturnType<typeof hostileUpstream>>;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    upstream = await hostileUpstream((id) => {
      const list = answers(id);
      return list[g.int(list.length)]!;
    });
    gw = await startTestGateway({ servers: { hostile: { url: upstream.url, timeout: '1s', allowHttp: true }, healthy: rawStdio() } });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await new Promise((r) => upstream?.server.close(r));
  });

  it(`${CASES} calls answered badly (seed ${SEED}): each gets a clear answer, none hangs or is a 500, and the other server is untouched`, async () => {
    const healthyInit = await rawPost(`${gw.base}/healthy/mcp`, INIT());
    const healthy = { 'mcp-session-id': healthyInit.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    let session: Record<string, string> | undefined;
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      if (session === undefined) {
        const init = await rawPost(`${gw.base}/hostile/mcp`, INIT());
        if (init.status !== 200) {
          failures.push(`case ${i}: initialize answered ${init.status} ${init.text.slice(0, 200)}`);
          continue;
        }
        session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
      }
      const before = upstream.seen.length;
      const started = Date.now();
      const res = await Promise.race([
        rawPost(`${gw.base}/hostile/mcp`, { jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }, session),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
      ]);
      const label = upstream.seen[before] ?? '(not sent)';
      if (res === undefined) failures.push(`case ${i} (${label}): no answer within 15 s`);
      else if (![200, 404, 502, 503].includes(res.status)) failures.push(`case ${i} (${label}): HTTP ${res.status} ${res.text.slice(0, 200)}`);
      // A client reads that the server failed, never where it is (DESIGN.md: upstream URLs stay in the log).
      else if (res.text.includes(new URL(upstream.url).host)) failures.push(`case ${i} (${label}): the answer names the upstream: ${res.text.slice(0, 200)}`);
      else if (res.status === 200) {
        const reply = (Array.isArray(res.json) ? res.json.at(-1) : res.json) as { id?: unknown; result?: unknown; error?: { message?: unknown } } | undefined;
        // The one answer to our id: a result only when the upstream sent a good one.
        if (reply?.id !== i + 1 || (reply.result === undefined && typeof reply.error?.message !== 'string')) {
          failures.push(`case ${i} (${label}): not an answer to id ${i + 1}: ${res.text.slice(0, 200)}`);
        }
        if (reply?.result !== undefined && !label.includes('control')) failures.push(`case ${i} (${label}): a result from a bad answer: ${res.text.slice(0, 200)}`);
      } else if (res.status === 404) session = undefined; // the upstream session ended: open another
      if (process.env.FUZZ_SHOW) console.log(`case ${i} (${label}) -> ${res?.status} ${res?.text.slice(0, 140)} [${Date.now() - started} ms]`);
      if (Date.now() - started > 14_000) failures.push(`case ${i} (${label}): took ${Date.now() - started} ms`);
    }
    expect(failures.slice(0, 5), `seed ${SEED}: ${failures.length} of ${CASES} cases failed`).toEqual([]);

    const call = await rawPost(`${gw.base}/healthy/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'fine' } } }, healthy);
    expect(call.status).toBe(200);
    expect(JSON.stringify(call.json)).toContain('fine');
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  }, 600_000);
});

describe('an HTTP upstream that cannot be opened', () => {
  it("tells the client which server failed and how, never its URL (that stays in the gateway's log), on every transport", async () => {
    const refusing = await hostileUpstream(() => ['unused', undefined, false]);
    const port = new URL(refusing.url).port;
    await new Promise((r) => refusing.server.close(r)); // nothing listens there now
    const logged: string[] = [];
    const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (logged.push(chunk.toString()), done()) });
    const gw = await startTestGateway({ servers: { gone: { url: refusing.url, allowHttp: true } } }, { logger: createLogger({ level: 'warn', destination }) });
    try {
      const said = 'upstream unavailable: upstream \\"gone\\" refused the connection (is it running?)';
      const streamable = await rawPost(`${gw.base}/gone/mcp`, INIT());
      expect(streamable.status).toBe(502);
      expect(streamable.text).toContain(said);
      // The aggregate route, which opens every server it may: none opened.
      const aggregate = await rawPost(`${gw.base}/mcp`, INIT());
      expect(aggregate.status).toBe(502);
      expect(aggregate.text).toContain(said);
      // 2026-07-28, stateless: the version rides in the request's _meta.
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientInfo': { name: 't', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
      const stateless = await rawPost(`${gw.base}/gone/mcp`, { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: meta } }, { 'mcp-protocol-version': '2026-07-28' });
      expect(stateless.text).toContain(said);
      // Legacy SSE: the answer to initialize comes on the stream.
      const controller = new AbortController();
      const stream = await fetch(`${gw.base}/gone/sse`, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      const reader = stream.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const readUntil = async (pattern: RegExp): Promise<void> => {
        while (!pattern.test(text)) {
          const { value, done } = await reader.read();
          if (done) return;
          text += decoder.decode(value as Uint8Array, { stream: true });
        }
      };
      await readUntil(/event: endpoint\ndata: [^\n]+\n/);
      const endpoint = /event: endpoint\ndata: ([^\n]+)\n/.exec(text)![1]!;
      const posted = await fetch(new URL(endpoint, gw.base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(INIT()) });
      expect(posted.status).toBe(202);
      await readUntil(/upstream unavailable/);
      controller.abort();
      expect(text).toContain(said);
      const events = [text];
      const aggregateStateless = await rawPost(`${gw.base}/mcp`, { jsonrpc: '2.0', id: 6, method: 'tools/list', params: { _meta: meta } }, { 'mcp-protocol-version': '2026-07-28' });
      expect(aggregateStateless.text).toContain(said);
      for (const text of [streamable.text, aggregate.text, stateless.text, aggregateStateless.text, ...events]) expect(text).not.toContain(`127.0.0.1:${port}`);
      expect(logged.join('')).toContain(`127.0.0.1:${port}`);
    } finally {
      await gw.close();
    }
  });
});

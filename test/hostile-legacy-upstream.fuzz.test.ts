// A hostile legacy HTTP+SSE upstream (MCP 2024-11-05 transport: GET opens an event stream whose
// first `endpoint` event names the POST URL; POSTs are answered 202 and the answers arrive on the
// stream). Opening a session is sometimes hostile too (a late endpoint, one on another origin, no
// stream, a redirect). After a proper initialize, every call is answered with a generated
// behaviour on the stream or the POST: good answers in odd but valid SSE (control), events that
// are not JSON, the wrong id, a stream cut short, a second endpoint event elsewhere, POSTs
// answered 404/500/HTML/never or with an endless body, an endless event, thousands of comments,
// `retry:` 0 or huge, NUL in `id:`, CR-only line ends, another event name, server-to-client
// requests, ... The gateway reads these over the SDK's SSE client behind the link's guards
// (src/upstream/remote/legacy-sse-link.ts). Whatever comes: each client call gets an answer
// within 15 s and none is a 500, a result comes exactly from a good answer, the gateway never
// sends a request to another origin (an "evil" listener the endpoint events point at hears
// nothing) nor POSTs anywhere but the session's first endpoint (2024-11-05: "All subsequent client
// messages MUST be sent as HTTP POST requests to this endpoint"), it stops reading an event or a
// POST answer that outgrows the link's limits, and another server behind the same gateway keeps
// working. Seeded like hostile-upstream.fuzz.test.ts (FUZZ_SEED, FUZZ_CASES; FUZZ_SHOW=1 prints
// each case).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_LENGTH, MAX_POST_ANSWER_BYTES } from '../src/upstream/remote/legacy-sse-link.js';
import { generator } from './helpers/fuzz.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261129);
// About a third of the behaviours end in the 1 s request timeout: 40 calls run in about 15 s.
const CASES = Number(process.env.FUZZ_CASES ?? 40);


/** One call as the hostile server sees it: its id, the POST to answer, the session's stream. */
interface Call {
  readonly id: unknown;
  readonly post: ServerResponse;
  readonly stream: ServerResponse;
  readonly evil: string; // the evil listener's origin
  /** A server-to-client request was sent with this id (its reply is awaited). */
  asked(id: string): void;
  /** An endless event or body began: the gateway must drop it before much more than `limit`. */
  endless(done: Promise<{ sent: number; closedByPeer: boolean }>, limit: number): void;
}
type Behaviour = [label: string, good: boolean, act: (c: Call) => void];

const accept = (post: ServerResponse): void => void post.writeHead(202).end('Accepted');
const answer = (c: Call, events: string): void => {
  accept(c.post);
  c.stream.write(events);
};

function behaviours(id: unknown): Behaviour[] {
  const result = JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } });
  const good = `event: message\ndata: ${result}\n\n`;
  const request = (method: string, n: string) => JSON.stringify({ jsonrpc: '2.0', id: n, method, params: method === 'sampling/createMessage' ? { messages: [], maxTokens: 1 } : {} });
  let asks = 0;
  const ask = (c: Call, method: string): void => {
    const n = `srv-${String(id)}-${asks++}`;
    c.asked(n);
    answer(c, `event: message\ndata: ${request(method, n)}\n\n${good}`);
  };
  const endpointThen = (target: (c: Call) => string) => (c: Call) => answer(c, `event: endpoint\ndata: ${target(c)}\n\n${good}`);
  return [
    ['a good answer (control)', true, (c) => answer(c, good)],
    ['a good answer with CRLF line ends', true, (c) => answer(c, good.replaceAll('\n', '\r\n'))],
    // WHATWG SSE: a line ends at CRLF, LF or CR alone.
    ['a good answer with CR-only line ends', true, (c) => answer(c, good.replaceAll('\n', '\r'))],
    ['a good answer without an event name', true, (c) => answer(c, `data: ${result}\n\n`)],
    ['a good answer over several data lines', true, (c) => answer(c, `event: message\ndata: ${result.replace(',', ',\ndata: ')}\n\n`)],
    ['a good answer after 5000 comment lines', true, (c) => answer(c, ': keep-alive\n'.repeat(5000) + good)],
    ['a good answer whose id: holds NUL', true, (c) => answer(c, `id: a\u0000b\n${good}`)],
    ['retry: 0, then a good answer', true, (c) => answer(c, `retry: 0\n\n${good}`)],
    ['retry: huge, then a good answer', true, (c) => answer(c, `retry: 99999999999999999999\n\n${good}`)],
    ['the answer before the 202', true, (c) => (c.stream.write(good), accept(c.post))],
    ['the answer twice', true, (c) => answer(c, good + good)],
    ['a roots/list request, then a good answer', true, (c) => ask(c, 'roots/list')],
    ['a ping request, then a good answer', true, (c) => ask(c, 'ping')],
    ['2000 log notifications, then a good answer', true, (c) => answer(c, `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } })}\n\n`.repeat(2000) + good)],
    ['a sampling/createMessage request, then a good answer', true, (c) => ask(c, 'sampling/createMessage')],
    // A second endpoint event: the first one is the session's endpoint (2024-11-05), so a good
    // answer after it may be delivered; what counts is where the next POSTs go.
    ['a second endpoint on this origin, then a good answer', true, endpointThen(() => '/elsewhere?sessionId=stolen')],
    ['a second endpoint on the evil origin, then a good answer', true, endpointThen((c) => `${c.evil}/x`)],
    ['a second endpoint //evil, then a good answer', true, endpointThen((c) => `//${new URL(c.evil).host}/x`)],
    ['a second endpoint /\\evil, then a good answer', true, endpointThen((c) => `/\\${new URL(c.evil).host}/x`)],
    ['a second endpoint at 169.254.169.254, then a good answer', true, endpointThen(() => 'http://169.254.169.254/latest/meta-data/')],
    ['an error answer', false, (c) => answer(c, `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message: 'nope' } })}\n\n`)],
    ['events that are not JSON', false, (c) => answer(c, 'event: message\ndata: not json\n\nevent: message\ndata: {"jsonrpc":\n\n')],
    ['JSON that is not JSON-RPC', false, (c) => answer(c, 'event: message\ndata: {"hello":1}\n\nevent: message\ndata: null\n\nevent: message\ndata: []\n\n')],
    ['an answer to our id that is not JSON-RPC 2.0', false, (c) => answer(c, `event: message\ndata: ${JSON.stringify({ jsonrpc: '1.0', id, result: {} })}\n\n`)],
    ['an answer to our id with both result and error', false, (c) => answer(c, `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: {}, error: { code: 1, message: 'x' } })}\n\n`)],
    ['an answer to another id', false, (c) => answer(c, `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 'someone-else', result: {} })}\n\n`)],
    ['the answer in an event named other', false, (c) => answer(c, good.replace('event: message', 'event: other'))],
    ['a partial event, then the stream closes', false, (c) => (answer(c, `event: message\ndata: ${result.slice(0, 30)}`), c.stream.end())],
    ['the stream closes with no answer', false, (c) => (accept(c.post), c.stream.end())],
    ['the stream connection is destroyed', false, (c) => (accept(c.post), c.stream.socket?.destroy())],
    ['POST answered 404', false, (c) => void c.post.writeHead(404).end('Not Found')],
    ['POST answered 500', false, (c) => void c.post.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}')],
    ['POST answered 200 with a login page', false, (c) => void c.post.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')],
    ['POST never answered', false, () => undefined],
    ['POST redirected to the evil origin', false, (c) => void c.post.writeHead(307, { location: `${c.evil}/x` }).end()],
    ['202, and never an answer', false, (c) => accept(c.post)],
    ['an endless event', false, (c) => (accept(c.post), c.endless(writeEndless(c.stream, 'event: message\ndata: ', MAX_EVENT_LENGTH + 32 * 1024 * 1024), MAX_EVENT_LENGTH))],
    // The answer comes on the stream; the POST's body is read no further than the link's limit.
    ['202 with an endless body, and a good answer', true, (c) => (c.stream.write(good), c.post.writeHead(202), c.endless(writeEndless(c.post, '', 256 * 1024 * 1024), MAX_POST_ANSWER_BYTES))],
    ['202 with a body that never ends, and a good answer', true, (c) => (c.post.writeHead(202).write('Accep'), c.stream.write(good))],
  ];
}

/** Writes `head`, then 1 MiB after another as fast as the gateway reads, until it closes the connection or `cap` is sent. */
async function writeEndless(res: ServerResponse, head: string, cap: number): Promise<{ sent: number; closedByPeer: boolean }> {
  const chunk = Buffer.alloc(1024 * 1024, 'a');
  let sent = 0;
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  res.write(head);
  while (sent < cap) {
    if (res.destroyed) return { sent, closedByPeer: true };
    sent += chunk.length;
    if (!res.write(chunk)) await Promise.race([closed, new Promise((resolve) => res.once('drain', resolve))]);
  }
  res.end();
  return { sent, closedByPeer: false };
}

/** How a GET of the event stream is answered: [label, act]; `endpoint` is the session's POST path. */
type Opening = [label: string, act: (res: ServerResponse, endpoint: string, evil: string) => void];
const sseHead = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };
const OPENINGS: Opening[] = [
  ['an endpoint event, late (after the timeout)', (res, endpoint) => (res.writeHead(200, sseHead), setTimeout(() => res.write(`event: endpoint\ndata: ${endpoint}\n\n`), 1500))],
  ['an endpoint on the evil origin', (res, _e, evil) => res.writeHead(200, sseHead).write(`event: endpoint\ndata: ${evil}/messages\n\n`)],
  ['an endpoint //evil', (res, _e, evil) => res.writeHead(200, sseHead).write(`event: endpoint\ndata: //${new URL(evil).host}/messages\n\n`)],
  ['an endpoint that is not a URL', (res) => res.writeHead(200, sseHead).write('event: endpoint\ndata: http://[::1\n\n')],
  ['no endpoint: the stream closes', (res) => res.writeHead(200, sseHead).end(': bye\n\n')],
  ['GET answered 500', (res) => res.writeHead(500).end('boom')],
  ['GET answered with a login page', (res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>')],
  // Followed (same origin): the stream it leads to must be read as carefully as any.
  ['GET redirected within the origin', (res) => res.writeHead(307, { location: '/sse?moved=1' }).end()],
  ['GET redirected to the evil origin', (res, _e, evil) => res.writeHead(302, { location: `${evil}/sse` }).end()],
];

interface Hostile {
  server: Server;
  base: string;
  /** Every request: method, path, Host header. */
  requests: Array<{ method: string; url: string; host: string | undefined }>;
  /** POST paths that are no session's first endpoint. */
  strayPosts: string[];
  /** The calls in the order they came: what each was answered with, and whether that was a good answer. */
  seen: Array<{ label: string; good: boolean }>;
  openings: string[];
  asked: Set<string>;
  replied: Set<string>;
  endless: Array<{ done: Promise<{ sent: number; closedByPeer: boolean }>; limit: number; label: string }>;
}

function hostileUpstream(evil: string, pickCall: (id: unknown) => Behaviour, pickOpening: () => Opening | undefined): Promise<Hostile> {
  const streams = new Map<string, ServerResponse>();
  const sockets = new Set<Socket>();
  const h: Hostile = { server: undefined as unknown as Server, base: '', requests: [], strayPosts: [], seen: [], openings: [], asked: new Set(), replied: new Set(), endless: [] };
  h.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    h.requests.push({ method: req.method ?? '', url: req.url ?? '', host: req.headers.host });
    res.on('error', () => undefined);
    const url = new URL(req.url ?? '/', h.base);
    if (req.method === 'GET' && url.pathname === '/sse') {
      const session = `s-${streams.size}`;
      const endpoint = `/messages?sessionId=${session}`;
      streams.set(session, res);
      const opening = pickOpening();
      h.openings.push(opening?.[0] ?? 'a proper endpoint event');
      if (opening) opening[1](res, endpoint, evil);
      else res.writeHead(200, sseHead).write(`event: endpoint\ndata: ${endpoint}\n\n`);
      return;
    }
    const stream = streams.get(url.searchParams.get('sessionId') ?? '');
    if (req.method !== 'POST' || url.pathname !== '/messages' || stream === undefined) {
      if (req.method === 'POST') h.strayPosts.push(req.url ?? '');
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      let message: { id?: unknown; method?: string } = {};
      try {
        message = JSON.parse(body) as typeof message;
      } catch {
        // not ours to judge
      }
      if (message.method === 'initialize') {
        accept(res);
        const init = { jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2024-11-05', capabilities: { tools: {} }, serverInfo: { name: 'hostile-sse', version: '1' } } };
        stream.write(`event: message\ndata: ${JSON.stringify(init)}\n\n`);
      } else if (message.method === undefined) {
        if (typeof message.id === 'string') h.replied.add(message.id); // a reply to our request
        accept(res);
      } else if (message.id === undefined) {
        accept(res);
      } else {
        const [label, good, act] = pickCall(message.id);
        h.seen.push({ label, good });
        act({ id: message.id, post: res, stream, evil, asked: (n) => h.asked.add(n), endless: (done, limit) => h.endless.push({ done, limit, label }) });
      }
    });
  });
  h.server.on('connection', (s: Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  return new Promise((resolve) =>
    h.server.listen(0, '127.0.0.1', () => {
      h.base = `http://127.0.0.1:${(h.server.address() as AddressInfo).port}`;
      const close = h.server.close.bind(h.server);
      Object.assign(h.server, { close: (cb?: (err?: Error) => void) => (sockets.forEach((s) => s.destroy()), close(cb)) });
      resolve(h);
    }),
  );
}

describe('a hostile legacy HTTP+SSE upstream', () => {
  const g = generator(SEED);
  const evilHits: string[] = [];
  let evil: Server;
  let upstream: Hostile;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;

  beforeAll(async () => {
    evil = createServer((req, res) => (evilHits.push(`${req.method} ${req.url}`), res.writeHead(404).end()));
    evil.on('connection', () => evilHits.push('a connection'));
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const evilOrigin = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
    upstream = await hostileUpstream(
      evilOrigin,
      (id) => {
        const list = behaviours(id);
        return list[g.int(list.length)]!;
      },
      () => (g.int(4) === 0 ? OPENINGS[g.int(OPENINGS.length)] : undefined),
    );
    gw = await startTestGateway({ servers: { hostile: { url: `${upstream.base}/sse`, transport: 'sse', timeout: '1s', allowHttp: true }, healthy: rawStdio() } });
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
    await new Promise((r) => upstream?.server.close(r));
    await new Promise((r) => evil?.close(r));
  });

  it(`${CASES} calls answered by a hostile legacy SSE server (seed ${SEED}): each gets an answer, none hangs or is a 500, nothing goes elsewhere, the other server is untouched`, async () => {
    const healthyInit = await rawPost(`${gw.base}/healthy/mcp`, INIT());
    const healthy = { 'mcp-session-id': healthyInit.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
    const failures: string[] = [];
    const show = (line: string) => process.env.FUZZ_SHOW && console.log(line);
    const within15s = async <T>(p: Promise<T>): Promise<T | undefined> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 15_000)));
      return Promise.race([p, late]).finally(() => clearTimeout(timer));
    };
    let session: Record<string, string> | undefined;
    for (let i = 0; i < CASES; i++) {
      const started = Date.now();
      if (session === undefined) {
        const opened = upstream.openings.length;
        const init = await within15s(rawPost(`${gw.base}/hostile/mcp`, INIT()));
        const how = upstream.openings.slice(opened).join(', ') || '(no stream opened)';
        show(`case ${i} initialize (${how}) -> ${init?.status} ${init?.text.slice(0, 140)} [${Date.now() - started} ms]`);
        if (init === undefined) failures.push(`case ${i}: initialize (${how}) not answered within 15 s`);
        else if (init.status === 200) session = { 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
        // A session that cannot be opened is a 502 (the upstream is unusable), never a 500.
        else if (init.status !== 502 && init.status !== 503) failures.push(`case ${i}: initialize (${how}) answered ${init.status} ${init.text.slice(0, 200)}`);
        else if (how === 'a proper endpoint event') failures.push(`case ${i}: initialize failed against a proper upstream: ${init.status} ${init.text.slice(0, 200)}`);
        continue;
      }
      const before = upstream.seen.length;
      const opened = upstream.openings.length;
      const repliedBefore = upstream.replied.size;
      const endlessBefore = upstream.endless.length;
      const res = await within15s(rawPost(`${gw.base}/hostile/mcp`, { jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }, session));
      // Not sent: the gateway opened a new upstream session for it (the last one ended), and that failed.
      const { label, good } = upstream.seen[before] ?? { label: `not sent; opening: ${upstream.openings.slice(opened).join(', ') || 'none'}`, good: false };
      if (res === undefined) failures.push(`case ${i} (${label}): no answer within 15 s`);
      else if (res.status !== 200 && good) failures.push(`case ${i} (${label}): HTTP ${res.status} for a good answer`);
      else if (res.status >= 500 && res.status !== 502 && res.status !== 503) failures.push(`case ${i} (${label}): HTTP ${res.status} ${res.text.slice(0, 200)}`);
      else if (res.status === 200) {
        const reply = (Array.isArray(res.json) ? res.json.at(-1) : res.json) as { id?: unknown; result?: unknown; error?: { message?: unknown } } | undefined;
        if (reply?.id !== i + 1 || (reply.result === undefined && typeof reply.error?.message !== 'string')) {
          failures.push(`case ${i} (${label}): not an answer to id ${i + 1}: ${res.text.slice(0, 200)}`);
        }
        if (reply?.result !== undefined && !good) failures.push(`case ${i} (${label}): a result from a bad answer: ${res.text.slice(0, 200)}`);
        // Every good answer here is written on a live stream after a 202: it must come through
        // (an answer held back until the server writes again times out instead).
        if (reply?.result === undefined && good) failures.push(`case ${i} (${label}): a good answer not delivered: ${res.text.slice(0, 200)}`);
        // A server-to-client request must be routed to the client (this one declared no roots or
        // sampling, and does not answer) or answered to the server (ping; a refusal), whose
        // reply POST may come after the call's answer.
        const asked = /^a (\S+) request/.exec(label)?.[1];
        if (asked !== undefined && !res.text.includes(`"method":"${asked}"`)) {
          for (const end = Date.now() + 2000; upstream.replied.size === repliedBefore && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
          if (upstream.replied.size === repliedBefore) failures.push(`case ${i} (${label}): the request was neither routed nor answered: ${res.text.slice(0, 200)}`);
        }
      } else if (res.status === 404) session = undefined; // the upstream session ended: open another
      show(`case ${i} (${label}) -> ${res?.status} ${res?.text.slice(0, 140)} [${Date.now() - started} ms]`);
      if (Date.now() - started > 14_000) failures.push(`case ${i} (${label}): took ${Date.now() - started} ms`);
      // An endless event ends the link once past its limit, which on a busy machine can come after
      // this call's own timeout: wait for the writer to stop, so that the next call does not race
      // the link's end (it would fail with this case's reason; the full suite in CI showed it).
      for (const e of upstream.endless.slice(endlessBefore)) await within15s(e.done);
    }

    for (const { done, limit, label } of upstream.endless) {
      // Dropped once past the link's limit (a few MiB in flight in socket buffers), not read on.
      const { sent, closedByPeer } = await done;
      if (!closedByPeer || sent > limit + 16 * 1024 * 1024) failures.push(`${label}: the gateway read ${sent} bytes of it (limit ${limit})`);
    }
    const elsewhere = upstream.requests.filter((r) => r.host !== new URL(upstream.base).host);
    for (const r of elsewhere) failures.push(`a request with Host ${r.host}: ${r.method} ${r.url}`);
    for (const p of upstream.strayPosts) failures.push(`a POST to ${p}, not a session's first endpoint`);
    for (const hit of evilHits) failures.push(`the evil listener got ${hit}`);
    show(`server-to-client requests: ${upstream.asked.size} asked, ${upstream.replied.size} answered; openings: ${upstream.openings.length}`);
    expect(failures.slice(0, 8), `seed ${SEED}: ${failures.length} problems in ${CASES} cases`).toEqual([]);

    const call = await rawPost(`${gw.base}/healthy/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'fine' } } }, healthy);
    expect(call.status).toBe(200);
    expect(JSON.stringify(call.json)).toContain('fine');
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  }, 600_000);
});

// The legacy HTTP+SSE link's guard on the event stream, against a scripted 2024-11-05 server on
// 127.0.0.1 (GET /sse opens the stream with an endpoint event; POSTs are answered 202 and the
// answers written to the stream as the test says). Found by test/hostile-legacy-upstream.fuzz.test.ts.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';
import { remoteServer } from '../../../test/helpers/remote-server.js';

import type { JsonRpcMessage } from '../../jsonrpc/index.js';
import { silentLogger } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { createRemoteLinkFactory, RemoteLinkError } from './index.js';
import { MAX_EVENT_LENGTH, MAX_POST_ANSWER_BYTES } from './legacy-sse-link.js';

interface Scripted {
  url: string;
  /** Paths of every POST, in order. */
  posts: string[];
  /** The open event stream (after the first GET). */
  stream(): ServerResponse;
  /** Called for each POST with a JSON-RPC id, after its 202. */
  onRequest: (message: { id: unknown; method: string }, stream: ServerResponse) => void;
  server: Server;
  /** Answers the POSTs instead of a plain 202. */
  answerPost?: (res: ServerResponse) => void;
  /** GET /sse redirects to /sse/moved. */
  moved?: boolean;
}

async function scriptedServer(): Promise<Scripted> {
  let stream: ServerResponse | undefined;
  const s: Scripted = {
    url: '',
    posts: [],
    stream: () => stream!,
    onRequest: () => undefined,
    server: createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/sse' && s.moved) {
        res.writeHead(307, { location: '/sse/moved' }).end(); // within the origin: the SDK follows it
        return;
      }
      if (req.method === 'GET') {
        stream = res;
        res.writeHead(200, { 'content-type': 'text/event-stream' }).write('event: endpoint\ndata: /messages?sessionId=1\n\n');
        return;
      }
      s.posts.push(req.url ?? '');
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        if (s.answerPost) return s.answerPost(res);
        res.writeHead(202).end();
        const message = JSON.parse(body) as { id?: unknown; method?: string };
        if (message.id !== undefined && message.method !== undefined) s.onRequest({ id: message.id, method: message.method }, stream!);
      });
    }),
  };
  await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
  s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}/sse`;
  return s;
}

class Handlers implements LinkHandlers {
  readonly messages: JsonRpcMessage[] = [];
  closed: Error | undefined;
  onMessage(message: JsonRpcMessage): void {
    this.messages.push(message);
  }
  onClose(reason: Error): void {
    this.closed = reason;
  }
  async until(check: () => boolean, ms = 5000): Promise<void> {
    for (const end = Date.now() + ms; !check(); ) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function open(server: Scripted): Promise<{ link: Link; h: Handlers }> {
  const factory = createRemoteLinkFactory(remoteServer(server.url, { transport: 'sse', timeoutMs: 2000 }), { logger: silentLogger() });
  const h = new Handlers();
  const link = await factory(h);
  cleanups.push(
    () => new Promise((r) => (server.server.closeAllConnections(), server.server.close(r))),
    () => factory.close(),
    () => link.close(),
  );
  return { link, h };
}

const answer = (id: unknown): string => `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id, result: { ok: true } })}\n\n`;

describe('legacy SSE link: the event stream guard', () => {
  it('keeps the first endpoint: a later endpoint event on the same origin does not move the POSTs (2024-11-05)', async () => {
    const server = await scriptedServer();
    server.onRequest = ({ id }, stream) => stream.write(`event: endpoint\ndata: /elsewhere?sessionId=stolen\n\n${answer(id)}`);
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => h.messages.length === 1);
    await link.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await h.until(() => h.messages.length === 2);
    expect(server.posts).toEqual(['/messages?sessionId=1', '/messages?sessionId=1']);
    expect(h.closed).toBeUndefined();
  });

  it('guards a stream reached through a redirect within the origin too', async () => {
    const server = await scriptedServer();
    server.moved = true;
    server.onRequest = ({ id }, stream) => stream.write(`event: endpoint\ndata: /elsewhere?sessionId=stolen\n\n${answer(id)}`);
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => h.messages.length === 1);
    await link.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await h.until(() => h.messages.length === 2);
    expect(server.posts).toEqual(['/messages?sessionId=1', '/messages?sessionId=1']);
  });

  it('ignores a later endpoint event on another origin: the session goes on', async () => {
    const server = await scriptedServer();
    server.onRequest = ({ id }, stream) => stream.write(`event: endpoint\ndata: http://169.254.169.254/latest/\n\n${answer(id)}`);
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => h.messages.length === 1);
    expect(h.messages[0]).toMatchObject({ id: 1, result: { ok: true } });
    await link.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await h.until(() => h.messages.length === 2);
    expect(h.closed).toBeUndefined();
    expect(server.posts).toEqual(['/messages?sessionId=1', '/messages?sessionId=1']);
  });

  it(`ends the link when one event outgrows ${MAX_EVENT_LENGTH} characters, and stops reading the stream`, async () => {
    const server = await scriptedServer();
    let sent = 0;
    let closedByPeer = false;
    server.onRequest = (_m, stream) => {
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      stream.write('event: message\ndata: ');
      const pump = (): void => {
        while (sent < MAX_EVENT_LENGTH + 32 * 1024 * 1024) {
          if (stream.destroyed) return void (closedByPeer = true);
          sent += chunk.length;
          if (!stream.write(chunk)) return void stream.once('drain', pump);
        }
        stream.end();
      };
      stream.once('close', () => (closedByPeer = !stream.writableEnded));
      pump();
    };
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => h.closed !== undefined, 20_000);
    expect(h.closed).toBeInstanceOf(RemoteLinkError);
    expect(h.closed).toMatchObject({ code: 'protocol', message: expect.stringContaining(`an event longer than ${MAX_EVENT_LENGTH} characters`) as unknown });
    await h.until(() => closedByPeer);
    // What was in flight in socket buffers, not the rest of an endless event.
    expect(sent).toBeLessThan(MAX_EVENT_LENGTH + 16 * 1024 * 1024);
  }, 30_000);

  it('delivers an event ended by CR alone at once, not when the server next writes (WHATWG SSE: CR is a line end)', async () => {
    const server = await scriptedServer();
    server.onRequest = ({ id }, stream) => stream.write(answer(id).replaceAll('\n', '\r'));
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => h.messages.length === 1, 1000);
    expect(h.messages[0]).toMatchObject({ id: 1, result: { ok: true } });
  });

  it('reads a CRLF cut between two writes as one line end, not two', async () => {
    const server = await scriptedServer();
    server.onRequest = ({ id }, stream) => {
      // One answer over two data lines; were the cut LF a line end of its own, the blank line
      // would end the event after its first half (two events, neither JSON).
      stream.write('event: message\r\ndata: {"jsonrpc":"2.0",\r');
      setTimeout(() => stream.write(`\ndata: "id":${JSON.stringify(id)},"result":{"ok":true}}\r\n\r\n`), 50);
    };
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => h.messages.length === 1, 2000);
    expect(h.messages[0]).toMatchObject({ id: 1, result: { ok: true } });
  });

  it(`reads at most ${MAX_POST_ANSWER_BYTES} bytes of a POST's answer, and for at most the timeout`, async () => {
    const server = await scriptedServer();
    const posts: Array<{ sent: number; closed: boolean }> = [];
    server.answerPost = (res) => {
      const post = { sent: 0, closed: false };
      posts.push(post);
      res.on('close', () => (post.closed = true));
      res.writeHead(202, { 'content-type': 'text/plain' });
      if (posts.length === 2) return void res.write('a trickle that never ends'); // the second: slow
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const pump = (): void => {
        while (!res.destroyed && post.sent < 256 * 1024 * 1024) {
          post.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    const { link, h } = await open(server);
    await link.send({ jsonrpc: '2.0', id: 1, method: 'ping' });
    await h.until(() => posts[0]?.closed === true, 5000);
    expect(posts[0]!.sent).toBeLessThan(16 * 1024 * 1024); // what socket buffers hold, not 256 MiB
    const started = Date.now();
    await link.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await h.until(() => posts[1]?.closed === true, 5000);
    expect(Date.now() - started).toBeLessThan(4000); // the link's timeout is 2 s
    expect(h.closed).toBeUndefined(); // a 202 is a delivered message, whatever came after it
  }, 15_000);

  it('sends nothing once the link is closed, even a message handed over in the same tick', async () => {
    const server = await scriptedServer();
    const { link } = await open(server);
    const sent = link.send({ jsonrpc: '2.0', id: 1, method: 'ping' }); // the transport's POST waits a tick
    await link.close();
    await sent;
    await new Promise((r) => setTimeout(r, 200));
    expect(server.posts).toEqual([]);
  });

  it('passes every well-formed way of writing an answer, and no event of another name', async () => {
    const server = await scriptedServer();
    const result = (id: unknown) => JSON.stringify({ jsonrpc: '2.0', id, result: { ok: true } });
    const forms: Record<number, (id: unknown) => string> = {
      1: (id) => answer(id).replaceAll('\n', '\r'), // WHATWG SSE: a line may end in CR alone
      2: (id) => answer(id).replaceAll('\n', '\r\n'),
      3: (id) => `data: ${result(id)}\n\n`, // no event name: a message event
      4: (id) => `event: message\ndata: ${result(id).replace(',', ',\ndata: ')}\n\n`, // data over two lines
      5: (id) => `: comment\nid: a\u0000b\nretry: 0\n\n${answer(id)}`,
      6: (id) => `event: other\ndata: ${result(id)}\n\n`,
    };
    server.onRequest = ({ id }, stream) => stream.write(forms[id as number]!(id));
    const { link, h } = await open(server);
    for (const id of [1, 2, 3, 4, 5, 6]) await link.send({ jsonrpc: '2.0', id, method: 'ping' });
    await h.until(() => h.messages.length >= 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(h.messages.map((m) => ('id' in m ? m.id : undefined)).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(h.closed).toBeUndefined();
  });
});

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { MAX_EVENT_LENGTH, readBoundedText, readEventStream } from './event-stream.js';
import { dispatchRequest } from './post-answer.js';
import { WirePool } from './wire/index.js';

// The raw handler on the wire pool and a real socket: what the lean link relies on when it
// reads an answer without undici's request() (held chunks, the kept headers, errors, destroy, reuse).

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ origin: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  cleanups.push(() => server.closeAllConnections());
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function pool(origin: string): WirePool {
  const p = new WirePool({ url: new URL(`${origin}/mcp`), tls: { rejectUnauthorized: true, ca: undefined }, timeoutMs: 5_000 });
  cleanups.push(() => p.destroy());
  return p;
}

const post = (origin: string, body = '{}') => ({ origin, path: '/mcp', method: 'POST' as const, headers: { 'content-type': 'application/json' }, body });

describe('dispatchRequest', () => {
  it('keeps only the headers the link reads, lower-cased, first value', async () => {
    const { origin } = await serve((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Mcp-Session-Id', 'abc');
      res.setHeader('X-Other', 'dropped');
      res.end('{"ok":true}');
    });
    const answer = await dispatchRequest(pool(origin), post(origin));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers).toEqual({ 'content-type': 'application/json', 'mcp-session-id': 'abc' });
    expect(await answer.body.text()).toBe('{"ok":true}');
  });

  it('waits past informational answers (103 Early Hints) for the real one', async () => {
    const { origin } = await serve((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' }, () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    const answer = await dispatchRequest(pool(origin), post(origin));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(await answer.body.text()).toBe('{"ok":true}');
  });

  it('hands over chunks that came before the reader, and a UTF-8 character split across chunks', async () => {
    const text = 'é'.repeat(5) + 'x'.repeat(70_000);
    const bytes = Buffer.from(text);
    const { origin } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(bytes.subarray(0, 1)); // half of the first 'é'
      setTimeout(() => res.end(bytes.subarray(1)), 20);
    });
    const answer = await dispatchRequest(pool(origin), post(origin));
    await new Promise((r) => setTimeout(r, 100)); // the whole body arrives before any reader
    expect(await answer.body.text()).toBe(text);
  });

  it('reads server-sent events as they come, with the retry field', async () => {
    const { origin } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 250\nid: 1\ndata: {"a":');
      setTimeout(() => res.end('1}\n\nid: 2\ndata: {"b":2}\n\n'), 20);
    });
    const answer = await dispatchRequest(pool(origin), post(origin));
    const events: string[] = [];
    let retry: number | undefined;
    await answer.body.events(
      (e) => events.push(`${e.id}:${e.data}`),
      (ms) => (retry = ms),
    );
    expect(events).toEqual(['1:{"a":1}', '2:{"b":2}']);
    expect(retry).toBe(250);
  });

  it('rejects the answer when the connection fails before a status line', async () => {
    const { origin } = await serve((req) => req.socket.destroy());
    await expect(dispatchRequest(pool(origin), post(origin))).rejects.toThrow();
  });

  it('rejects the reader when the body breaks after the headers', async () => {
    const { origin } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"a":1}\n\n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const answer = await dispatchRequest(pool(origin), post(origin));
    const events: string[] = [];
    await expect(answer.body.events((e) => events.push(e.data))).rejects.toThrow();
    expect(events).toEqual(['{"a":1}']);
  });

  it('destroy() ends a stream that would never end: the reader resolves and the server sees the close', async () => {
    let closed: () => void = () => undefined;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    const { origin } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
      res.on('close', () => closed());
    });
    const answer = await dispatchRequest(pool(origin), post(origin));
    const reading = answer.body.events(() => undefined);
    answer.body.destroy();
    await expect(reading).resolves.toBeUndefined();
    await serverSawClose;
  });

  it('dump() reads an empty answer to the end and the connection is used again', async () => {
    const sockets = new Set<unknown>();
    const { origin } = await serve((req, res) => {
      sockets.add(req.socket);
      res.writeHead(202).end();
    });
    const a = pool(origin);
    for (let i = 0; i < 10; i++) {
      const answer = await dispatchRequest(a, post(origin));
      expect(answer.statusCode).toBe(202);
      await answer.body.dump();
    }
    // The connection is free once the answer is read: every request goes over the first one.
    expect(sockets.size).toBe(1);
  });
});

describe('answers without end', () => {
  // A server that never ends an event, or a JSON body, must not fill the gateway's memory:
  // past MAX_EVENT_LENGTH characters the reader fails and the connection is dropped.
  const endless = (type: string, prefix: string) =>
    serve((_req, res) => {
      res.writeHead(200, { 'content-type': type });
      res.write(prefix);
      const chunk = 'x'.repeat(1024 * 1024);
      const more = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', more);
      };
      more();
    });

  it('an event past MAX_EVENT_LENGTH fails the event reader', async () => {
    const { origin } = await endless('text/event-stream', 'data: ');
    const answer = await dispatchRequest(pool(origin), post(origin));
    await expect(answer.body.events(() => undefined)).rejects.toThrow(`an event longer than ${MAX_EVENT_LENGTH} characters`);
  }, 60_000);

  it('a JSON body past MAX_EVENT_LENGTH fails the text reader', async () => {
    const { origin } = await endless('application/json', '{"a":"');
    const answer = await dispatchRequest(pool(origin), post(origin));
    await expect(answer.body.text()).rejects.toThrow(`an answer longer than ${MAX_EVENT_LENGTH} characters`);
  }, 60_000);

  it('the same limits on a Readable (the request() path): events and text', async () => {
    function* body(prefix: string): Generator<Buffer> {
      yield Buffer.from(prefix);
      for (let sent = 0; sent <= MAX_EVENT_LENGTH; sent += 4 * 1024 * 1024) yield Buffer.alloc(4 * 1024 * 1024, 0x78);
    }
    await expect(readEventStream(Readable.from(body('data: ')), () => undefined)).rejects.toThrow('an event longer than');
    await expect(readBoundedText(Readable.from(body('{"a":"')))).rejects.toThrow('an answer longer than');
    // Below the limit nothing changes.
    expect(await readBoundedText(Readable.from([Buffer.from('{"ok":'), Buffer.from('true}')]))).toBe('{"ok":true}');
  }, 60_000);
});

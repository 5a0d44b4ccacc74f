// The lean Streamable HTTP link against hand-written servers that misbehave in the ways the
// SDK servers in remote-link.test.ts cannot be made to: polling streams (2025-11-25), event
// streams that end at once or are web pages, redirects, late answers after close. Real
// sockets and undici; nothing under test is mocked.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { remoteServer } from '../../../test/helpers/remote-server.js';
import type { JsonRpcMessage } from '../../jsonrpc/index.js';
import { createLogger, silentLogger, type Logger } from '../../observability/index.js';
import type { LinkHandlers } from '../types.js';
import { createRemoteLinkFactory, type RemoteLinkError } from './index.js';
import { StreamableHttpLink } from './streamable-link.js';
import { WirePool } from './wire/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: { id?: number; method?: string } | undefined) => void;

async function listen(handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      handler(req, res, text === '' ? undefined : (JSON.parse(text) as { id?: number; method?: string }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
}

class Recorder implements LinkHandlers {
  readonly messages: JsonRpcMessage[] = [];
  readonly closes: Error[] = [];
  readonly afterClose: JsonRpcMessage[] = [];
  onMessage(m: JsonRpcMessage): void {
    this.messages.push(m);
    if (this.closes.length > 0) this.afterClose.push(m);
  }
  onClose(e: Error): void {
    this.closes.push(e);
  }
}

type Carrier = 'request()' | 'wire pool';
/** What carries the POSTs of the running block's links (set per block below). */
let carrier: Carrier = 'request()';

function leanLink(url: string, handlers: LinkHandlers, logger: Logger = silentLogger()): { link: StreamableHttpLink; agent: Agent } {
  const agent = new Agent({ headersTimeout: 5_000, bodyTimeout: 0 });
  cleanups.push(() => agent.destroy());
  let raw: WirePool | undefined;
  if (carrier === 'wire pool') {
    const wire = new WirePool({ url: new URL(url), tls: { rejectUnauthorized: true, ca: undefined }, timeoutMs: 5_000 });
    cleanups.push(() => wire.destroy());
    raw = wire;
  }
  const link = new StreamableHttpLink({ name: 'r', url: new URL(url), timeoutMs: 5_000, dispatcher: agent, raw, headers: {}, logger }, handlers);
  cleanups.push(() => link.close());
  return { link, agent };
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '0' } },
} as const satisfies JsonRpcMessage;
const initResult = (id: unknown): string =>
  JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } });
const answerInitialize = (res: ServerResponse, id: unknown, session: string): void => {
  res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': session }).end(initResult(id));
};

async function initialized(link: StreamableHttpLink, rec: Recorder, withStream = false): Promise<void> {
  await link.send(INITIALIZE);
  await expect.poll(() => rec.messages.length).toBe(1);
  if (withStream) await link.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Each behaviour holds whichever carries the requests: undici's request() (what an OAuth
// dispatcher wraps) and the wire pool with the raw handler (wire/, post-answer.ts; what a
// plain server uses).
for (const each of ['request()', 'wire pool'] as const) {
  describe(`over ${each}`, () => {
    beforeAll(() => {
      carrier = each;
    });

    describe('POST streams', () => {
      it('keeps polling a stream the server ends after each event id (2025-11-25) until the answer comes', async () => {
        let gets = 0;
        const url = await listen((req, res, body) => {
          if (body?.method === 'initialize') answerInitialize(res, body.id, 's1');
          else if (body?.method === 'tools/call') res.writeHead(200, { 'content-type': 'text/event-stream' }).end('id: p0\ndata:\nretry: 5\n\n');
          else if (req.method === 'GET' && req.headers['last-event-id']) {
            gets++;
            res.writeHead(200, { 'content-type': 'text/event-stream' });
            // Still working: an id, no answer, end; the eighth poll has the answer.
            if (gets < 8) res.end(`id: p${gets}\ndata:\n\n`);
            else res.end(`id: p${gets}\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 2, result: { content: [] } })}\n\n`);
          } else res.writeHead(req.method === 'GET' ? 405 : 202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'long', arguments: {} } });
        await expect.poll(() => rec.messages.length, { timeout: 5_000 }).toBe(2);
        expect(rec.messages[1]).toEqual({ jsonrpc: '2.0', id: 2, result: { content: [] } });
        expect(gets).toBe(8);
      });

      it('ends the link as session-expired when the resumption GET gets a 404', async () => {
        const url = await listen((req, res, body) => {
          if (body?.method === 'initialize') answerInitialize(res, body.id, 's7');
          else if (body?.method === 'tools/call') res.writeHead(200, { 'content-type': 'text/event-stream' }).end('id: a\ndata:\nretry: 5\n\n');
          else res.writeHead(req.method === 'GET' ? 404 : 202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        await expect.poll(() => rec.closes.length).toBe(1);
        expect((rec.closes[0] as RemoteLinkError).code).toBe('session-expired');
        expect(rec.closes[0]!.message).toBe(`session expired: ${url} answered HTTP 404 for our session's event stream; a new link must initialize again`);
      });

      it('answers the request with an error when resumption keeps failing (HTTP 503), and keeps the link', async () => {
        let gets = 0;
        const url = await listen((req, res, body) => {
          if (body?.method === 'initialize') answerInitialize(res, body.id, 's8');
          else if (body?.method === 'tools/call') res.writeHead(200, { 'content-type': 'text/event-stream' }).end('id: a\ndata:\nretry: 5\n\n');
          else if (req.method === 'GET') {
            gets++;
            res.writeHead(503).end();
          } else res.writeHead(202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        await expect.poll(() => rec.messages.length).toBe(2);
        expect(rec.messages[1]).toMatchObject({ id: 2, error: { code: -32000, message: 'upstream "r" ended the response stream without answering' } });
        expect(gets).toBe(5);
        expect(rec.closes).toEqual([]);
      });

      it('releases a stream still open when the link closes, so that its pool can close (the bridge exits)', async () => {
        const url = await listen((req, res, body) => {
          if (body?.method === 'initialize') answerInitialize(res, body.id, 's6');
          else if (body?.method === 'tools/call') res.writeHead(200, { 'content-type': 'text/event-stream' }).write('id: a\ndata:\n\n'); // a long tool call
          else res.writeHead(req.method === 'GET' ? 405 : 202).end();
        });
        const rec = new Recorder();
        const { link, agent } = leanLink(url, rec);
        await initialized(link, rec);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        await sleep(100);
        await link.close();
        const outcome = await Promise.race([agent.close().then(() => 'closed'), sleep(3_000).then(() => 'the pool is still busy after 3 s')]);
        expect(outcome).toBe('closed');
        expect(rec.afterClose).toEqual([]);
      });

      it('delivers nothing after onClose (an HTTP 500 that arrives late)', async () => {
        const url = await listen((req, res, body) => {
          if (body?.method === 'initialize') answerInitialize(res, body.id, 's5');
          else if (body?.method === 'tools/call') setTimeout(() => res.writeHead(500).end('boom'), 150);
          else res.writeHead(req.method === 'GET' ? 405 : 202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        await link.close();
        await sleep(400);
        expect(rec.closes).toHaveLength(1);
        expect(rec.afterClose).toEqual([]);
      });
    });

    describe('answers to a request that hold no answer', () => {
      // MCP 2025-03-26+ transports: a POST with a request is answered with JSON or an event
      // stream. An answer without the request's response fails that request at once (not after
      // the request timeout); the link stays up for the next one.
      const cases: Array<[string, (res: ServerResponse, id: number) => void, string]> = [
        ['202 with no body', (res) => res.writeHead(202).end(), 'answered HTTP 202 with no body'],
        ['204', (res) => res.writeHead(204).end(), 'answered HTTP 204 with no body'],
        ['an empty JSON body', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(' '), 'answered with an empty JSON body'],
        ['JSON answering another id', (res, id) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: id + 1000, result: {} })), 'answered with JSON that holds no answer to the request'],
        ['JSON with a notification only', (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } })), 'answered with JSON that holds no answer to the request'],
      ];
      for (const [what, answer, said] of cases) {
        it(`${what}: the request fails at once, and the next one is answered`, async () => {
          const url = await listen((req, res, body) => {
            if (body?.method === 'initialize') answerInitialize(res, body.id, 's-none');
            else if (body?.method === 'tools/call' && body.id === 2) answer(res, body.id);
            else if (body?.method === 'tools/call') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result: { content: [] } }));
            else res.writeHead(req.method === 'GET' ? 405 : 202).end();
          });
          const rec = new Recorder();
          const logged: string[] = [];
          const destination = new Writable({ write: (chunk: Buffer, _enc, done) => (logged.push(chunk.toString()), done()) });
          const { link } = leanLink(url, rec, createLogger({ level: 'warn', destination }));
          await initialized(link, rec);
          await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
          // No request timeout here (the multiplexer above the link has it): without the rule, no answer ever comes.
          await expect.poll(() => rec.messages.some((m) => 'error' in m && m.id === 2), { timeout: 2_000 }).toBe(true);
          const failed = rec.messages.find((m) => 'error' in m && m.id === 2) as { error: { message: string } };
          // The client hears that the server misbehaved (never its URL); the log says how.
          expect(failed.error.message).toBe('upstream "r" sent an answer that is not MCP');
          expect(logged.join('')).toContain(`${url} ${said}`);
          await link.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'x', arguments: {} } });
          await expect.poll(() => rec.messages.some((m) => 'result' in m && m.id === 3)).toBe(true);
          expect(rec.closes).toEqual([]);
        });
      }

      // ruby-sdk before its PR #294: with the session's GET stream connected, a request's POST
      // gets 202 (or 200 {"accepted":true}) and the answer comes on the GET stream. Not what the
      // transports allow, but the SDK's client waits for it, and so does the link while the
      // stream is live (the request timeout above the link bounds the wait).
      for (const ack of ['202', 'JSON acknowledgement'] as const) {
        it(`with the GET stream live: a ${ack} and the answer on the stream gives the result`, async () => {
          let stream: ServerResponse | undefined;
          const url = await listen((req, res, body) => {
            if (req.method === 'GET') {
              res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n');
              stream = res;
            } else if (body?.method === 'initialize') answerInitialize(res, body.id, 's-rb');
            else if (body?.id === undefined) res.writeHead(202).end();
            else {
              if (ack === '202') res.writeHead(202).end();
              else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: true }));
              const answer = { jsonrpc: '2.0', id: body.id, result: { content: [] } };
              setTimeout(() => stream?.write(`event: message\ndata: ${JSON.stringify(answer)}\n\n`), 20);
            }
          });
          const rec = new Recorder();
          const { link } = leanLink(url, rec);
          await initialized(link, rec, true);
          await expect.poll(() => stream !== undefined).toBe(true);
          await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
          await expect.poll(() => rec.messages.filter((m) => 'id' in m && m.id === 2).length).toBe(1);
          await sleep(100);
          expect(rec.messages.filter((m) => 'id' in m && m.id === 2)).toEqual([{ jsonrpc: '2.0', id: 2, result: { content: [] } }]);
        });
      }

      it('a 202 while the GET stream is being asked for, then the GET is refused (405): the request fails then, not at the timeout', async () => {
        const url = await listen((req, res, body) => {
          if (req.method === 'GET') setTimeout(() => res.writeHead(405).end(), 300);
          else if (body?.method === 'initialize') answerInitialize(res, body.id, 's-race');
          else res.writeHead(202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec, true);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        // No request timeout under the link: without the give-up, no answer would ever come.
        await expect.poll(() => rec.messages.some((m) => 'error' in m && m.id === 2), { timeout: 3_000 }).toBe(true);
        expect(rec.closes).toEqual([]);
      });

      it('an answer that came on the live stream is not failed when the stream later ends', async () => {
        let stream: ServerResponse | undefined;
        let gets = 0;
        const url = await listen((req, res, body) => {
          if (req.method === 'GET' && ++gets > 1) res.writeHead(405).end(); // not reopened: the link gives the stream up
          else if (req.method === 'GET') {
            res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n');
            stream = res;
          } else if (body?.method === 'initialize') answerInitialize(res, body.id, 's-end');
          else if (body?.id === undefined) res.writeHead(202).end();
          else {
            res.writeHead(202).end();
            setTimeout(() => {
              stream?.write(`data: ${JSON.stringify({ jsonrpc: '2.0', id: body.id, result: {} })}\n\n`);
              // Then the server refuses the stream for good: the link gives up on it.
              setTimeout(() => stream?.socket?.destroy(), 20);
            }, 20);
          }
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec, true);
        await expect.poll(() => stream !== undefined).toBe(true);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        await expect.poll(() => rec.messages.some((m) => 'id' in m && m.id === 2)).toBe(true);
        await expect.poll(() => gets, { timeout: 3_000 }).toBe(2);
        await sleep(100);
        expect(rec.messages.filter((m) => 'id' in m && m.id === 2)).toEqual([{ jsonrpc: '2.0', id: 2, result: {} }]);
      });

      it('a JSON batch with a notification and the answer delivers both, and no error', async () => {
        const url = await listen((req, res, body) => {
          if (body?.method === 'initialize') answerInitialize(res, body.id, 's-batch');
          else if (body?.method === 'tools/call') {
            res.writeHead(200, { 'content-type': 'application/json' }).end(
              JSON.stringify([{ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } }, { jsonrpc: '2.0', id: body.id, result: { content: [] } }]),
            );
          } else res.writeHead(req.method === 'GET' ? 405 : 202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec);
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'x', arguments: {} } });
        await expect.poll(() => rec.messages.length).toBe(3);
        await sleep(50);
        expect(rec.messages.slice(1)).toEqual([
          { jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } },
          { jsonrpc: '2.0', id: 2, result: { content: [] } },
        ]);
      });
    });

    describe('the standalone GET stream', () => {
      it('stops reopening a stream that ends as soon as it opens (retry: 0), and keeps the link', async () => {
        let gets = 0;
        const url = await listen((req, res, body) => {
          if (req.method === 'GET') {
            gets++;
            res.writeHead(200, { 'content-type': 'text/event-stream' }).end('retry: 0\n\n');
          } else if (body?.method === 'initialize') answerInitialize(res, body.id, 's2');
          else res.writeHead(202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec, true);
        await sleep(500);
        expect(gets).toBe(5);
        expect(rec.closes).toEqual([]);
      });

      it('does not take a web page for an event stream (no reopening every second)', async () => {
        let gets = 0;
        const url = await listen((req, res, body) => {
          if (req.method === 'GET') {
            gets++;
            res.writeHead(200, { 'content-type': 'text/html' }).end('<html>log in</html>');
          } else if (body?.method === 'initialize') answerInitialize(res, body.id, 's3');
          else res.writeHead(202).end();
        });
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await initialized(link, rec, true);
        await sleep(1_500);
        expect(gets).toBe(1);
        expect(rec.closes).toEqual([]);
      });
    });

    describe('redirects', () => {
      it('follows a same-origin 307 (POST /mcp -> /mcp/, as Starlette mounts answer) for the rest of the link', async () => {
        const seen: string[] = [];
        const url = await listen((req, res, body) => {
          seen.push(`${req.method} ${req.url}`);
          if (req.url === '/mcp') res.writeHead(307, { location: '/mcp/' }).end();
          else if (req.method === 'GET') res.writeHead(405).end();
          else if (body?.method === 'initialize') answerInitialize(res, body.id, 'r1');
          else if (body?.id !== undefined) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: body.id, result: {} }));
          else res.writeHead(202).end();
        });
        const factory = createRemoteLinkFactory(remoteServer(url, { transport: 'auto' }), { logger: silentLogger() });
        cleanups.push(() => factory.close());
        const rec = new Recorder();
        const link = await factory(rec);
        cleanups.push(() => link.close());
        await link.send(INITIALIZE);
        await expect.poll(() => rec.messages.length).toBe(1);
        expect(rec.messages[0]).toHaveProperty('result');
        await link.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
        await expect.poll(() => rec.messages.length).toBe(2);
        expect(seen.slice(0, 3)).toEqual(['POST /mcp', 'POST /mcp/', 'POST /mcp/']);
      });

      it('does not follow a redirect to another origin, and says where it pointed', async () => {
        const url = await listen((_req, res) => res.writeHead(308, { location: 'https://elsewhere.example/mcp' }).end());
        const rec = new Recorder();
        const { link } = leanLink(url, rec);
        await link.send(INITIALIZE);
        await expect.poll(() => rec.closes.length).toBe(1);
        expect((rec.closes[0] as RemoteLinkError).code).toBe('protocol');
        expect(rec.closes[0]!.message).toBe(`${url} redirected the request to https://elsewhere.example/mcp (HTTP 308); set the server's url to the address to use`);
      });
    });
  });
}

describe('transport: auto', () => {
  it('opens no legacy SSE stream when the link is closed while its initialize probe waits for the answer', async () => {
    let streamsOpen = 0;
    let streamsOpened = 0;
    const url = await listen((req, res) => {
      if (req.method === 'POST') setTimeout(() => res.writeHead(404, { 'content-type': 'text/plain' }).end('Cannot POST'), 300);
      else {
        streamsOpened++;
        streamsOpen++;
        res.on('close', () => streamsOpen--);
        res.writeHead(200, { 'content-type': 'text/event-stream' }).write('event: endpoint\ndata: /messages\n\n');
      }
    });
    const factory = createRemoteLinkFactory(remoteServer(url, { transport: 'auto' }), { logger: silentLogger() });
    cleanups.push(() => factory.close());
    const link = await factory(new Recorder());
    await link.send(INITIALIZE);
    await sleep(50);
    await link.close();
    await sleep(600);
    expect({ streamsOpened, streamsOpen }).toEqual({ streamsOpened: 0, streamsOpen: 0 });
  });
});

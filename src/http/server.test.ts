// Node's own request timeout as the gateway sets it: a body that drips in too slowly is cut
// (408, connection closed), a long event stream answering a quick request is not.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { startHttpServer, type RunningServer } from './server.js';

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.close(100);
  running = undefined;
});

const notFound = () => new Response('not here', { status: 404 });

describe('request timeout', () => {
  it('closes a connection whose request body does not arrive in time, and leaves a long answer alone', async () => {
    running = await startHttpServer(
      notFound,
      (req, res) => {
        if (req.url === '/stream') {
          // An answer that lasts three times the request timeout.
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          let n = 0;
          const timer = setInterval(() => {
            res.write(`data: ${n}\n\n`);
            if (++n === 6) {
              clearInterval(timer);
              res.end();
            }
          }, 250);
          return true;
        }
        if (req.url === '/upload') {
          req.resume();
          req.on('end', () => res.writeHead(200).end('got it'));
          return true;
        }
        return false;
      },
      '127.0.0.1',
      0,
      { requestTimeoutMs: 500 },
    );

    const streamed = await fetch(`${running.url}/stream`).then((r) => r.text());
    expect(streamed.match(/^data: /gm)).toHaveLength(6);

    // Headers, then one byte of a 100-byte body, then nothing.
    const socket = connect(running.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write('POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    await closed;
    expect(Buffer.concat(received).toString('latin1')).toMatch(/^HTTP\/1\.1 408 /);
  });
});

describe('close', () => {
  it('answers a request sent on a connection opened just before close, instead of resetting it', async () => {
    running = await startHttpServer(
      notFound,
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('served');
        return true;
      },
      '127.0.0.1',
      0,
    );
    const socket = connect(running.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    const ended = new Promise<unknown>((resolve) => {
      socket.once('close', resolve);
      socket.once('error', resolve);
    });
    // close() looks at its connections at once: this one has sent nothing yet.
    const closing = running.close(10_000);
    socket.write('GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await ended;
    await closing;
    running = undefined;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toContain('served');
  });
});

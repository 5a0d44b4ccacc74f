// Requests shaped to hurt the gateway before it knows who is asking: route names that are
// JavaScript object properties, and bodies that never finish. The gateway answers and keeps
// serving everyone else.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const TOKEN = 'tok-hostile-5b2e9d';
const auth = { authorization: `Bearer ${TOKEN}` };
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({ auth: { mode: 'tokens', tokens: [TOKEN] }, servers: { raw: rawStdio() } });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

/** The gateway still serves: a fresh MCP session initializes. */
async function stillServes(): Promise<void> {
  const r = await rawPost(`${gw.base}/raw/mcp`, INIT(), auth);
  expect(r.status).toBe(200);
}

describe('route names that are object properties', () => {
  // Each of these once matched the MCP route table (a plain object) and crashed the process
  // after answering (an unhandled rejection in the metrics counter).
  for (const path of ['/__proto__', '/constructor', '/toString', '/raw/hasOwnProperty', '/nope/valueOf', '/raw/__proto__']) {
    it(`answers ${path} as an unknown route and keeps serving`, async () => {
      for (const method of ['GET', 'POST']) {
        const r = await fetch(`${gw.base}${path}`, { method, headers: auth, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(r.status, `${method} ${path}`).toBe(404);
      }
      await stillServes();
    });
  }
});

describe('bodies from clients that are not authenticated', () => {
  it('answers 401 at once, without waiting for a body that never finishes, and closes that connection', async () => {
    const socket = connect(gw.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    // Headers announcing 1 MB, then a single byte of it.
    socket.write('POST /raw/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000000\r\n\r\n{');
    await closed;
    const answer = Buffer.concat(received).toString('latin1');
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('www-authenticate: bearer');
    await stillServes();
  });
});

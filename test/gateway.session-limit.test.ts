// maxSessionsPerClient: one credential cannot open sessions (each may be an upstream session
// or a child process) without end; others are not affected, and ending one makes room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const A = { authorization: 'Bearer tok-limit-a-71c2' };
const B = { authorization: 'Bearer tok-limit-b-93d4' };
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({
    maxSessionsPerClient: 3,
    auth: { mode: 'tokens', tokens: ['tok-limit-a-71c2', 'tok-limit-b-93d4'] },
    servers: { raw: rawStdio({ sharing: 'per-session' }) },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe('sessions per credential', () => {
  it('refuses a credential its fourth session with 429, counts legacy SSE streams too, and makes room when one ends', async () => {
    const opened: string[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await rawPost(`${gw.base}/raw/mcp`, INIT(), A);
      expect(r.status).toBe(200);
      opened.push(r.headers.get('mcp-session-id')!);
    }
    // A legacy SSE stream is a session too: the third.
    const sse = new AbortController();
    const stream = await fetch(`${gw.base}/raw/sse`, { headers: { ...A, accept: 'text/event-stream' }, signal: sse.signal });
    expect(stream.status).toBe(200);

    const refused = await rawPost(`${gw.base}/raw/mcp`, INIT(), A);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.json).toMatchObject({ error: { code: -32600, message: expect.stringContaining('too many open sessions for this credential (3)') } });
    expect((await fetch(`${gw.base}/raw/sse`, { headers: { ...A, accept: 'text/event-stream' } })).status).toBe(429);

    // Another credential is not affected.
    expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), B)).status).toBe(200);

    // Ending a session (DELETE) and closing the SSE stream make room again.
    const del = await fetch(`${gw.base}/raw/mcp`, { method: 'DELETE', headers: { ...A, 'mcp-session-id': opened[0]! } });
    expect(del.status).toBe(200);
    expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), A)).status).toBe(200);
    sse.abort();
    await expect.poll(async () => (await rawPost(`${gw.base}/raw/mcp`, INIT(), A)).status).toBe(200);
  });
});

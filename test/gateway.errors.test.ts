// Bad input and failing upstreams: every case gets a clear error, and the gateway keeps
// serving everyone else. Also the static-token guard and what reaches the logs.
import { Writable } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/index.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const TOKEN = 'tok-e2e-3f9a0c1b2d';
const FILES_TOKEN = 'files-only-7d1e2f';
const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString());
    done();
  },
});

let gw: Awaited<ReturnType<typeof startTestGateway>>;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  gw = await startTestGateway(
    {
      maxBodySize: '2kb',
      auth: { mode: 'tokens', tokens: [TOKEN], tokenInUrl: true },
      servers: {
        raw: rawStdio({ tools: { block: ['crash_blocked'] } }),
        filtered: rawStdio({ tools: { allow: ['echo', 'state'] } }),
        fragile: rawStdio(),
        files: rawStdio({ tokens: [FILES_TOKEN] }),
        missing: { command: '/nonexistent/definitely-not-here' },
      },
    },
    { logger: createLogger({ level: 'debug', destination: logSink }) },
  );
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

async function session(server: string, headers: Record<string, string> = auth): Promise<string> {
  const r = await rawPost(`${gw.base}/${server}/mcp`, INIT(), headers);
  expect(r.status).toBe(200);
  const id = r.headers.get('mcp-session-id');
  expect(id).toBeTruthy();
  return id!;
}

const call = (id: number, name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, arguments: args },
});

describe('malformed requests', () => {
  it('answers malformed JSON with a parse error', async () => {
    const r = await rawPost(`${gw.base}/raw/mcp`, '{"jsonrpc": "2.0", "id": 1, "method":', auth);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('answers a body that is not JSON-RPC with invalid request', async () => {
    for (const body of [{ hello: 'world' }, [], 42, { jsonrpc: '2.0', id: 5, method: 7 }]) {
      const r = await rawPost(`${gw.base}/raw/mcp`, body, auth);
      expect(r.status).toBe(400);
      expect((r.json as { error: { code: number } }).error.code).toBe(-32600);
    }
  });

  it('refuses a body that is not declared as JSON', async () => {
    const r = await rawPost(`${gw.base}/raw/mcp`, JSON.stringify(INIT()), { ...auth, 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
  });

  it('refuses oversized bodies with 413', async () => {
    const big = { ...INIT(), params: { ...INIT().params, padding: 'x'.repeat(4096) } };
    const r = await rawPost(`${gw.base}/raw/mcp`, big, auth);
    expect(r.status).toBe(413);
  });

  it('answers an unknown server name with 404', async () => {
    const r = await rawPost(`${gw.base}/nosuch/mcp`, INIT(), auth);
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: 'not_found', error_description: 'unknown server "nosuch"' });
  });
});

describe('sessions', () => {
  it('needs Mcp-Session-Id after initialize (400) and knows unknown ones (404)', async () => {
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect((await rawPost(`${gw.base}/raw/mcp`, list, auth)).status).toBe(400);
    expect((await rawPost(`${gw.base}/raw/mcp`, list, { ...auth, 'mcp-session-id': 'no-such-session' })).status).toBe(404);
  });

  it('ends a session on DELETE; it is then unknown', async () => {
    const id = await session('raw');
    const del = await fetch(`${gw.base}/raw/mcp`, { method: 'DELETE', headers: { ...auth, 'mcp-session-id': id } });
    expect(del.status).toBe(200);
    const r = await rawPost(`${gw.base}/raw/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { ...auth, 'mcp-session-id': id });
    expect(r.status).toBe(404);
  });

  it('binds a session to its route and its credential', async () => {
    const id = await session('raw');
    const list = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    expect((await rawPost(`${gw.base}/fragile/mcp`, list, { ...auth, 'mcp-session-id': id })).status).toBe(404);
    expect((await rawPost(`${gw.base}/raw/mcp`, list, { ...auth, 'mcp-session-id': id })).status).toBe(200);
  });
});

describe('failing upstreams', () => {
  it('says clearly when an upstream cannot start, and keeps serving the others', async () => {
    const r = await rawPost(`${gw.base}/missing/mcp`, INIT(), auth);
    expect(r.status).toBe(502);
    expect(JSON.stringify(r.json)).toMatch(/command not found|could not start|unavailable/);
    const ok = await session('raw');
    const echo = await rawPost(`${gw.base}/raw/mcp`, call(2, 'echo', { a: 1 }), { ...auth, 'mcp-session-id': ok });
    expect(echo.status).toBe(200);
    const ready = await fetch(`${gw.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ servers: { raw: 'ready', missing: expect.not.stringMatching(/^ready$/) } });
    // Its log lines name it, once each (a repeated key is invalid for strict JSON readers).
    const lines = logLines.join('').split('\n').filter((l) => l.includes('"upstream":"missing"'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain('"upstream":"missing","upstream":"missing"');
  });

  it('opens the aggregate /mcp without a server that cannot start, and logs which one is missing', async () => {
    const r = await rawPost(`${gw.base}/mcp`, INIT(), auth);
    expect(r.status).toBe(200);
    const sid = r.headers.get('mcp-session-id')!;
    const list = await rawPost(`${gw.base}/mcp`, { jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...auth, 'mcp-session-id': sid });
    const names = (list.json as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names).toContain('raw__echo');
    expect(names.some((n) => n.startsWith('missing__'))).toBe(false);
    const called = await rawPost(`${gw.base}/mcp`, call(3, 'raw__echo', { via: 'aggregate' }), { ...auth, 'mcp-session-id': sid });
    expect(JSON.stringify(called.json)).toContain('aggregate');
    expect(logLines.join('')).toMatch(/"server":"missing"[^\n]*aggregate session opened without this server/);
  });

  it('fails a call at once when the upstream dies mid-call, then serves again after the restart', async () => {
    const a = await session('fragile');
    const b = await session('raw');
    const crashed = await rawPost(`${gw.base}/fragile/mcp`, call(7, 'crash', { code: 3 }), { ...auth, 'mcp-session-id': a });
    expect(crashed.status).toBe(200);
    expect(crashed.json).toMatchObject({ id: 7, error: { code: -32000, message: expect.stringMatching(/fragile/) } });
    // Another server's session is untouched.
    const other = await rawPost(`${gw.base}/raw/mcp`, call(8, 'echo', { still: 'here' }), { ...auth, 'mcp-session-id': b });
    expect(JSON.stringify(other.json)).toContain('here');
    // The supervisor restarts the child; the same session works again.
    let answer: unknown;
    for (let i = 0; i < 50; i++) {
      const r = await rawPost(`${gw.base}/fragile/mcp`, call(9 + i, 'echo', { back: true }), { ...auth, 'mcp-session-id': a });
      answer = r.json;
      if ((answer as { result?: unknown }).result) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(JSON.stringify(answer)).toContain('back');
  });
});

describe('tool filters', () => {
  it('refuses a filtered tool without it ever reaching the upstream', async () => {
    const id = await session('filtered');
    const h = { ...auth, 'mcp-session-id': id };
    const list = await rawPost(`${gw.base}/filtered/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, h);
    const names = (list.json as { result: { tools: { name: string }[] } }).result.tools.map((t) => t.name);
    expect(names.sort()).toEqual(['echo', 'state']);
    const refused = await rawPost(`${gw.base}/filtered/mcp`, call(2, 'whoami'), h);
    expect(refused.json).toMatchObject({ id: 2, error: { code: -32602, message: 'Unknown tool: whoami' } });
    const state = await rawPost(`${gw.base}/filtered/mcp`, call(3, 'state'), h);
    const seen = JSON.parse((state.json as { result: { content: { text: string }[] } }).result.content[0]!.text) as { tools: string[] };
    expect(seen.tools).not.toContain('whoami');
    expect(seen.tools).toContain('state');
  });
});

describe('static tokens', () => {
  it('answers 401 with a Bearer challenge without a token or with a wrong one', async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
      const r = await rawPost(`${gw.base}/raw/mcp`, INIT(), headers);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('per-server tokens open only their server; the aggregate shows what a token opens', async () => {
    expect((await rawPost(`${gw.base}/files/mcp`, INIT(), { authorization: `Bearer ${FILES_TOKEN}` })).status).toBe(200);
    expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), { authorization: `Bearer ${FILES_TOKEN}` })).status).toBe(401);
    expect((await rawPost(`${gw.base}/files/mcp`, INIT(), auth)).status).toBe(401);
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${FILES_TOKEN}` } },
    });
    const client = new Client({ name: 't', version: '1' });
    await client.connect(transport);
    const { tools } = await client.listTools();
    expect(new Set(tools.map((t) => t.name.split('__')[0]))).toEqual(new Set(['files']));
    await client.close();
  });

  it('accepts ?token= when tokenInUrl is on, and never logs a token', async () => {
    const r = await rawPost(`${gw.base}/raw/mcp?token=${TOKEN}`, INIT());
    expect(r.status).toBe(200);
    await rawPost(`${gw.base}/raw/mcp?token=nope-${TOKEN}`, INIT());
    const all = logLines.join('');
    // The request lines are there (debug level), with the query secret redacted.
    expect(all).toContain('"path":"/raw/mcp?token=[REDACTED]"');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(FILES_TOKEN);
  });

  it('never logs a path token (/{server}/{token}/mcp) either', async () => {
    const r = await rawPost(`${gw.base}/raw/${TOKEN}/mcp`, INIT());
    expect(r.status).toBe(200);
    const all = logLines.join('');
    expect(all).toContain('"path":"/raw/[REDACTED]/mcp"');
    expect(all).not.toContain(TOKEN);
  });
});

describe('legacy SSE with ?token= (clients that cannot send headers)', () => {
  // Seed 000 and TBXark users connect with `/sse?token=...`: the endpoint the stream names
  // must carry the token too, or every message POST gets 401.
  for (const path of ['/raw/sse', '/sse', '/mcp/sse']) {
    it(`${path}: the SDK's SSE client, sending no header, lists and calls tools`, async () => {
      const client = new Client({ name: 't', version: '1' });
      await client.connect(new SSEClientTransport(new URL(`${gw.base}${path}?token=${TOKEN}`)));
      const { tools } = await client.listTools();
      const echo = tools.find((t) => t.name === 'echo' || t.name === 'raw__echo')!;
      expect(echo).toBeDefined();
      const result = await client.callTool({ name: echo.name, arguments: { text: 'via url token' } });
      expect(JSON.stringify(result.content)).toContain('via url token');
      await client.close();
      expect(logLines.join('')).not.toContain(TOKEN);
    });
  }

  it('a stream opened with a header names an endpoint without any token', async () => {
    const controller = new AbortController();
    const res = await fetch(`${gw.base}/raw/sse`, { headers: auth, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value as Uint8Array | undefined);
    controller.abort();
    expect(text).toMatch(/event: endpoint\ndata: http:\/\/[^\n]*\/raw\/message\?sessionId=[\w-]+\n/);
    expect(text).not.toContain('token=');
  });
});

describe('DNS rebinding', () => {
  it('refuses a foreign Host header on a loopback gateway', async () => {
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        `${gw.base}/raw/mcp`,
        { method: 'POST', headers: { 'content-type': 'application/json', host: 'attacker.example', ...auth } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(INIT()));
    });
    expect(status).toBe(403);
  });
});

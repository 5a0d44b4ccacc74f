// Seed 000 (an OAuth proxy for one MCP server) calls tools at `/api/tools/call/:toolName` with
// the server's own tool name. With exactly one configured server, the aggregate REST routes
// take that bare name beside `{server}__{tool}`; with two servers or more a bare name is no
// tool (it could be either's). Real gateways, the everything fixture as the upstream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { everythingStdio, rawStdio, startTestGateway } from './helpers/gateway.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
let one: Gateway;
let two: Gateway;

beforeAll(async () => {
  [one, two] = await Promise.all([
    startTestGateway({ servers: { default: everythingStdio({ tools: { block: ['test_audio_content'] } }) } }),
    startTestGateway({ servers: { default: everythingStdio(), raw: rawStdio() } }),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([one?.close(), two?.close()]);
});

async function call(gw: Gateway, path: string, body: unknown = {}): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${gw.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const SIMPLE = ['This is a simple text response for testing.'];

describe('REST tool calls by bare name', () => {
  it('one server: /api/tools/call/{tool} and /api/tools/{tool} call its tool by its own name', async () => {
    expect(await call(one, '/api/tools/call/test_simple_text')).toEqual({ status: 200, body: SIMPLE });
    expect(await call(one, '/api/tools/test_simple_text')).toEqual({ status: 200, body: SIMPLE });
    // The arguments reach the tool, checked against its schema as for a prefixed name.
    expect(await call(one, '/api/tools/call/test_custom_header', { region: 'eu-west' })).toEqual({ status: 200, body: ['Region: eu-west'] });
    expect((await call(one, '/api/tools/call/test_custom_header', { region: 2 })).status).toBe(400);
  });

  it('one server: the prefixed names and the per-server route still work', async () => {
    expect(await call(one, '/api/tools/call/default__test_simple_text')).toEqual({ status: 200, body: SIMPLE });
    expect(await call(one, '/api/tools/default__test_simple_text')).toEqual({ status: 200, body: SIMPLE });
    expect(await call(one, '/default/api/tools/test_simple_text')).toEqual({ status: 200, body: SIMPLE });
  });

  it('one server: an unknown or blocked bare name is 404, naming what was called', async () => {
    for (const tool of ['nope', 'test_audio_content', 'other__test_simple_text']) {
      const answer = await call(one, `/api/tools/call/${tool}`);
      expect(answer.status, tool).toBe(404);
      expect(answer.body, tool).toMatchObject({ detail: `there is no tool "${tool}" here`, tool });
    }
  });

  it('two servers: a bare name is no tool; prefixed names call each server', async () => {
    const bare = await call(two, '/api/tools/call/test_simple_text');
    expect(bare.status).toBe(404);
    expect(bare.body).toMatchObject({ detail: 'there is no tool "test_simple_text" here' });
    expect((await call(two, '/api/tools/echo')).status).toBe(404);
    expect(await call(two, '/api/tools/call/default__test_simple_text')).toEqual({ status: 200, body: SIMPLE });
    const echoed = await call(two, '/api/tools/call/raw__echo', { said: 'prefixed' });
    expect(echoed.status, JSON.stringify(echoed.body)).toBe(200);
    expect(JSON.stringify(echoed.body)).toContain('prefixed');
  });
});

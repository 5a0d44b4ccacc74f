// Cancellation (MCP basic/utilities/cancellation): the upstream is told, under its own id,
// and the open HTTP answer for the cancelled call ends instead of waiting for ever.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio() } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

async function cancelScenario(path: string, tool: string): Promise<void> {
  const init = await rawPost(`${gw.base}${path}`, INIT());
  const h = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
  const stateTool = tool.replace('slow', 'state');
  const readState = async (id: number) => {
    const r = await rawPost(`${gw.base}${path}`, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: stateTool, arguments: {} } }, h);
    return JSON.parse((r.json as { result: { content: { text: string }[] } }).result.content[0]!.text) as { started: unknown[]; cancelled: unknown[] };
  };
  const before = (await readState(1)).cancelled.length;
  const slow = rawPost(`${gw.base}${path}`, { jsonrpc: '2.0', id: 'slow-1', method: 'tools/call', params: { name: tool, arguments: { ms: 20_000 } } }, h);
  await new Promise((r) => setTimeout(r, 200));
  const ack = await rawPost(
    `${gw.base}${path}`,
    { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'slow-1', reason: 'changed my mind' } },
    h,
  );
  expect(ack.status).toBe(202);
  const answer = await slow;
  expect(answer.json).toMatchObject({ id: 'slow-1', error: { code: -32800 } });
  // The server saw the cancellation of the call it was running, under its own id.
  const seen = await readState(2);
  expect(seen.cancelled.length).toBe(before + 1);
  expect(seen.started).toContain(seen.cancelled.at(-1));
}

describe('cancellation', () => {
  it('reaches the upstream and ends the call on a server route', () => cancelScenario('/raw/mcp', 'slow'));
  it('reaches the upstream and ends the call on the aggregate route', () => cancelScenario('/mcp', 'raw__slow'));
});

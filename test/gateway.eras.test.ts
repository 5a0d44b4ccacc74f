// Both eras both ways (DESIGN.md "Era bridging"): a 2025-era client reaches a server that
// speaks only the stateless 2026-07-28 revision, and a 2026 client reaches it too, through
// the gateway. The upstream is the everything fixture behind createMcpHandler({ legacy: 'reject' }).
import { StreamableHTTPClientTransport, type Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startModernOnlyServer, type ModernOnlyServer } from './fixtures/modern-only-server.js';
import { connectClient } from './helpers/client.js';
import { startTestGateway } from './helpers/gateway.js';

let modern: ModernOnlyServer;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  modern = await startModernOnlyServer();
  gw = await startTestGateway({ servers: { modern: { url: modern.url } } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  await modern?.close();
});

async function connect(era: 'legacy' | 'modern'): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/modern/mcp`));
  return { client: await connectClient(transport, era), transport };
}

describe('a 2026-only upstream', () => {
  it('serves a 2025 client a session the gateway keeps', async () => {
    const { client, transport } = await connect('legacy');
    try {
      expect(transport.sessionId).toEqual(expect.any(String));
      expect(client.getNegotiatedProtocolVersion()).toMatch(/^2025-/);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('test_simple_text');
      const simple = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(simple.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
      // The upstream's input_required becomes a real sampling request to this client.
      const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital of France?' } });
      expect(sampled.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
      await client.ping();
    } finally {
      await client.close();
    }
  });

  it('serves a 2026 client statelessly', async () => {
    const { client, transport } = await connect('modern');
    try {
      expect(transport.sessionId).toBeUndefined();
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital of France?' } });
      expect(sampled.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
    } finally {
      await client.close();
    }
  });
});

// Two client sessions on one `sharing: shared` stdio child (docs/decisions/0002): a
// server-to-client request or a log line caused by one session must never reach the other.
// It is delivered only when one session has a call in flight; else the server gets an error.
import { StreamableHTTPClientTransport, type Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient } from './helpers/client.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({ servers: { raw: rawStdio() } });
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

interface Session {
  client: Client;
  /** Sampling prompts this session was asked to answer. */
  asked: unknown[];
  logs: unknown[];
}

async function session(name: string, answer: string): Promise<Session> {
  const client = await connectClient(new StreamableHTTPClientTransport(new URL(`${gw.base}/raw/mcp`)), 'legacy', name);
  const s: Session = { client, asked: [], logs: [] };
  client.setRequestHandler('sampling/createMessage', (request) => {
    s.asked.push(request.params.messages);
    return { role: 'assistant', content: { type: 'text', text: answer }, model: 'test-model' };
  });
  client.setNotificationHandler('notifications/message', (n) => {
    s.logs.push(n.params.data);
  });
  return s;
}

const textOf = (result: { content?: unknown }): Record<string, unknown> =>
  JSON.parse((result.content as { text: string }[])[0]!.text) as Record<string, unknown>;

describe('two sessions on a shared stdio upstream', () => {
  it('delivers sampling and log lines only to the one busy session, and refuses them when both are busy', async () => {
    const a = await session('a', 'injected by a');
    const b = await session('b', 'from b');
    try {
      // A has a slow call in flight (seen by the server before B goes on).
      const slowA = a.client.callTool({ name: 'slow', arguments: { ms: 2000 } });
      slowA.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
      for (let i = 0; i < 100; i++) {
        const state = textOf(await b.client.callTool({ name: 'state', arguments: {} }));
        if ((state.started as unknown[]).length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const refused = textOf(await b.client.callTool({ name: 'sample', arguments: {} }));
      expect(refused.error).toMatchObject({ code: -32603, message: expect.stringContaining('cannot tell which client') });
      await b.client.callTool({ name: 'log', arguments: { message: 'secret of b' } });
      expect(a.asked).toEqual([]);
      expect(b.asked).toEqual([]);
      await slowA;
      expect(a.logs).toEqual([]);
      expect(b.logs).toEqual([]);

      // Only B busy: B is asked and answers; its log line reaches it; A sees nothing.
      const sampled = textOf(await b.client.callTool({ name: 'sample', arguments: {} }));
      expect(sampled.content).toEqual({ type: 'text', text: 'from b' });
      await b.client.callTool({ name: 'log', arguments: { message: 'for b' } });
      expect(b.asked).toHaveLength(1);
      expect(b.logs).toEqual(['for b']);
      expect(a.asked).toEqual([]);
      expect(a.logs).toEqual([]);
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
  }, 30_000);
});

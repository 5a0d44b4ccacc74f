// The official SDK v2 client as the tests use it: both eras, and answers for the server's
// sampling and elicitation requests.
import { Client } from '@modelcontextprotocol/client';
import type { Transport } from '@modelcontextprotocol/client';

export type Era = 'legacy' | 'modern';

/** Connects a client: `legacy` = the 2025 initialize handshake, `modern` = pinned 2026-07-28. */
export async function connectClient(transport: Transport, era: Era = 'legacy', name = 'gatehouse-test'): Promise<Client> {
  const client = new Client(
    { name, version: '1.0.0' },
    {
      capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
      versionNegotiation: { mode: era === 'legacy' ? 'legacy' : { pin: '2026-07-28' } },
    },
  );
  client.setRequestHandler('sampling/createMessage', () => ({
    role: 'assistant',
    content: { type: 'text', text: 'Paris' },
    model: 'test-model',
    stopReason: 'endTurn',
  }));
  client.setRequestHandler('elicitation/create', () => ({ action: 'accept', content: { username: 'ada', email: 'ada@example.com' } }));
  await client.connect(transport);
  return client;
}

// The bundled demo MCP server that `gatehouse serve` runs when no config file exists.
// A stdio server with a few harmless tools, so a newcomer can try every client at once.
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { z } from 'zod';
import { VERSION } from '../version.js';

export function createDemoServer(): McpServer {
  const server = new McpServer({ name: 'gatehouse-demo', version: VERSION }, { capabilities: { logging: {} } });

  server.registerTool(
    'echo',
    { title: 'Echo', description: 'Returns the text it is given.', inputSchema: z.object({ text: z.string().describe('Text to echo back') }) },
    ({ text }) => ({ content: [{ type: 'text', text }] }),
  );

  server.registerTool(
    'add',
    {
      title: 'Add',
      description: 'Adds two numbers.',
      inputSchema: z.object({ a: z.number(), b: z.number() }),
      outputSchema: z.object({ sum: z.number() }),
    },
    ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }], structuredContent: { sum: a + b } }),
  );

  server.registerTool(
    'current_time',
    { title: 'Current time', description: 'The server clock in ISO 8601, UTC.' },
    () => ({ content: [{ type: 'text', text: new Date().toISOString() }] }),
  );

  server.registerResource(
    'readme',
    'demo://readme',
    { title: 'About this demo', mimeType: 'text/markdown' },
    (uri) => ({
      contents: [{ uri: uri.href, mimeType: 'text/markdown', text: '# Gatehouse demo\n\nThis server is a stand-in: put your own MCP servers in gatehouse.yaml.\n' }],
    }),
  );

  server.registerPrompt(
    'greet',
    { title: 'Greeting', description: 'A friendly greeting.', argsSchema: z.object({ name: z.string() }) },
    ({ name }) => ({ messages: [{ role: 'user', content: { type: 'text', text: `Say hello to ${name}.` } }] }),
  );
  return server;
}

// Run when executed directly (`node dist/demo/demo-server.js`).
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  serveStdio(createDemoServer);
}

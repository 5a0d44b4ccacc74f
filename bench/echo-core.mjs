// The echo MCP server's answers, shared by the stdio (echo-server.mjs) and HTTP (echo-http.mjs)
// variants: initialize, ping, tools/list and tools/call `echo`; no SDK, so it costs little.

const PROTOCOL_VERSIONS = new Set(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25']);
const LATEST = '2025-11-25';

const ECHO_TOOL = {
  name: 'echo',
  description: 'Returns the text it was given.',
  inputSchema: {
    type: 'object',
    properties: { text: { type: 'string', description: 'text to echo back' } },
    required: ['text'],
  },
};

/** The reply to one JSON-RPC message, or undefined for notifications and responses. */
export function answer(msg) {
  if (msg === null || typeof msg !== 'object' || typeof msg.method !== 'string') return undefined;
  const id = msg.id;
  if (id === undefined || id === null) return undefined; // a notification
  switch (msg.method) {
    case 'tools/call': {
      const params = msg.params ?? {};
      if (params.name !== 'echo') {
        return { jsonrpc: '2.0', id, error: { code: -32602, message: `unknown tool: ${String(params.name)}` } };
      }
      const text = params.arguments?.text;
      return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: typeof text === 'string' ? text : '' }] } };
    }
    case 'initialize': {
      const asked = msg.params?.protocolVersion;
      return {
        jsonrpc: '2.0',
        id,
        result: {
          protocolVersion: PROTOCOL_VERSIONS.has(asked) ? asked : LATEST,
          capabilities: { tools: {} },
          serverInfo: { name: 'bench-echo', version: '1.0.0' },
        },
      };
    }
    case 'tools/list':
      return { jsonrpc: '2.0', id, result: { tools: [ECHO_TOOL] } };
    case 'ping':
      return { jsonrpc: '2.0', id, result: {} };
    default:
      return { jsonrpc: '2.0', id, error: { code: -32601, message: `method not found: ${msg.method}` } };
  }
}

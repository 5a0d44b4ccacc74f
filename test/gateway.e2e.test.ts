// The gateway end to end: real upstreams (our conformance fixture over stdio and over
// Streamable HTTP, and the npm reference server), the official SDK v2 client in both
// eras, over Streamable HTTP and legacy SSE, one server and the aggregate.
import { SSEClientTransport, StreamableHTTPClientTransport, type Client } from '@modelcontextprotocol/client';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/index.js';
import { startEverythingHttp, type EverythingHttpServer } from './fixtures/everything-server.js';
import { connectClient } from './helpers/client.js';
import { everythingStdio, rawStdio, REFERENCE_EVERYTHING, startTestGateway } from './helpers/gateway.js';

const connect = connectClient;

let gw: Awaited<ReturnType<typeof startTestGateway>>;
let remote: EverythingHttpServer;
/** What the gateway logged at warn and above, one JSON object per entry. */
const warnings: { upstream?: string; msg: string }[] = [];
const warnSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') warnings.push(JSON.parse(line) as { upstream?: string; msg: string });
    done();
  },
});

beforeAll(async () => {
  remote = await startEverythingHttp(0);
  gw = await startTestGateway({
    servers: {
      fixture: everythingStdio(),
      alone: everythingStdio({ sharing: 'per-session' }),
      remote: { url: remote.url, transport: 'streamable-http' },
      reference: { command: process.execPath, args: [REFERENCE_EVERYTHING, 'stdio'], tools: { block: ['trigger-long-running-operation'] } },
      raw: rawStdio(),
    },
  }, { logger: createLogger({ level: 'warn', destination: warnSink }) });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await remote?.close();
});

async function exercise(client: Client, prefix = ''): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([`${prefix}test_simple_text`, `${prefix}test_sampling`]));
  const simple = await client.callTool({ name: `${prefix}test_simple_text`, arguments: {} });
  expect(simple.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
  // A server-to-client request (sampling) travels back to this client and its answer upstream.
  const sampled = await client.callTool({ name: `${prefix}test_sampling`, arguments: { prompt: 'Capital of France?' } });
  expect(sampled.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
  const resource = await client.readResource({ uri: 'test://static-text' });
  expect(resource.contents[0]).toMatchObject({ uri: 'test://static-text' });
  const prompt = await client.getPrompt({ name: `${prefix}test_simple_prompt` });
  expect(prompt.messages.length).toBeGreaterThan(0);
}

describe('one server over Streamable HTTP (2025 sessions)', () => {
  for (const name of ['fixture', 'alone', 'remote']) {
    it(`serves ${name} faithfully`, async () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/${name}/mcp`));
      const client = await connect(transport);
      try {
        expect(transport.sessionId).toEqual(expect.any(String));
        await exercise(client);
        // Progress notifications reach the caller with its own token.
        const progress: number[] = [];
        await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, { onprogress: (p) => progress.push(p.progress) });
        expect(progress.length).toBeGreaterThan(0);
      } finally {
        await transport.terminateSession().catch(() => undefined);
        await client.close();
      }
      // A faithful exchange is a quiet one: no warning about this server in the gateway's log.
      expect(warnings.filter((w) => w.upstream === name)).toEqual([]);
    });
  }
});

describe('the stateless revision (2026-07-28)', () => {
  for (const name of ['fixture', 'remote']) {
    it(`serves a 2026 client on ${name}`, async () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/${name}/mcp`));
      const client = await connect(transport, 'modern');
      try {
        expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
        expect(transport.sessionId).toBeUndefined();
        await exercise(client);
      } finally {
        await client.close();
      }
    });
  }
});

describe('legacy HTTP+SSE', () => {
  it('serves an SSE client', async () => {
    const transport = new SSEClientTransport(new URL(`${gw.base}/fixture/sse`));
    const client = await connect(transport);
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });
});

describe('the aggregate endpoint', () => {
  it('merges every server with server__tool names and routes calls', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/mcp`));
    const client = await connect(transport);
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['fixture__test_simple_text', 'remote__test_simple_text', 'reference__echo']));
      expect(names).not.toContain('reference__trigger-long-running-operation');
      const echo = await client.callTool({ name: 'reference__echo', arguments: { message: 'hi' } });
      expect(JSON.stringify(echo.content)).toContain('hi');
      const sampled = await client.callTool({ name: 'remote__test_sampling', arguments: { prompt: 'Capital of France?' } });
      expect(sampled.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
      const prompts = await client.listPrompts();
      expect(prompts.prompts.map((p) => p.name)).toContain('fixture__test_simple_prompt');
    } finally {
      await client.close();
    }
  });
});

describe('tool filters', () => {
  it('hide a blocked tool and refuse to call it', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.base}/reference/mcp`));
    const client = await connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('echo');
      expect(tools.map((t) => t.name)).not.toContain('trigger-long-running-operation');
      await expect(client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 1 } })).rejects.toThrow(/Unknown tool/);
    } finally {
      await client.close();
    }
  });
});

describe('server-to-client requests', () => {
  it('route roots/list to the session whose call asked (the only busy one), and its answer back upstream', async () => {
    const a = await connect(new StreamableHTTPClientTransport(new URL(`${gw.base}/raw/mcp`)));
    const b = await connect(new StreamableHTTPClientTransport(new URL(`${gw.base}/raw/mcp`)));
    a.setRequestHandler('roots/list', () => ({ roots: [{ uri: 'file:///a', name: 'a' }] }));
    b.setRequestHandler('roots/list', () => ({ roots: [{ uri: 'file:///b', name: 'b' }] }));
    try {
      // One at a time: with both sessions busy the gateway cannot tell whose call asked, and
      // refuses (docs/decisions/0012; test/gateway.shared-upstream.test.ts).
      const ra = await a.callTool({ name: 'roots', arguments: {} });
      const rb = await b.callTool({ name: 'roots', arguments: {} });
      expect(JSON.stringify(ra.content)).toContain('file:///a');
      expect(JSON.stringify(rb.content)).toContain('file:///b');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

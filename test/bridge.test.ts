// `gatehouse connect` as a desktop client runs it: a real bridge process in front of a real
// gateway (our conformance fixture over stdio behind static bearer tokens), driven over
// stdio by the official SDK client.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { connectClient as connectSdkClient } from './helpers/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createFileTokenStore } from '../src/auth/client/index.js';
import { everythingStdio, startTestGateway } from './helpers/gateway.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TOKEN = 'bridge-test-token-0123456789';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({ auth: { mode: 'tokens', tokens: [TOKEN] }, servers: { fixture: everythingStdio() } });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

function bridgeArgs(url: string, extra: string[] = []): string[] {
  return ['--import', 'tsx', CLI, 'connect', url, '--header', `Authorization: Bearer ${TOKEN}`, '--log-level', 'debug', ...extra];
}

async function connectClient(args: string[], env: Record<string, string> = {}): Promise<{ client: Client; transport: StdioClientTransport; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args, env: { ...process.env, ...env } as Record<string, string>, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = await connectSdkClient(transport, 'legacy', 'bridge-test');
  return { client, transport, stderr: () => stderr };
}

/** Runs the bridge as a raw child, to see exactly what it writes and how it exits. */
function rawBridge(args: string[], env: Record<string, string | undefined> = {}): { child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exit };
}

async function waitFor(check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('gatehouse connect', () => {
  it('forwards tools/list, tools/call and a sampling round trip', async () => {
    const { client, stderr } = await connectClient(bridgeArgs(`${gw.base}/fixture/mcp`));
    try {
      // The remote saw the client's own initialize: the fixture's answer came back as is.
      expect(client.getServerVersion()?.name).toBeTruthy();
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['test_simple_text', 'test_sampling']));
      const simple = await client.callTool({ name: 'test_simple_text', arguments: {} });
      expect(simple.content).toEqual([{ type: 'text', text: 'This is a simple text response for testing.' }]);
      const sampled = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Capital of France?' } });
      expect(sampled.content).toEqual([{ type: 'text', text: 'LLM response: Paris' }]);
      // Many calls in flight at once.
      const many = await Promise.all(Array.from({ length: 20 }, () => client.callTool({ name: 'test_simple_text', arguments: {} })));
      expect(many).toHaveLength(20);
    } finally {
      await client.close();
    }
    expect(stderr()).not.toContain(TOKEN);
  }, 60_000);

  it('writes nothing but JSON-RPC to stdout and exits 0 when stdin closes', async () => {
    const b = rawBridge(bridgeArgs(`${gw.base}/fixture/mcp`));
    const send = (m: unknown) => b.child.stdin!.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    await waitFor(() => b.out().includes('"id":1'));
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    b.child.stdin!.write('not json at all\n');
    await waitFor(() => b.out().includes('"id":2') && b.out().includes('-32700'));
    b.child.stdin!.end();
    expect(await b.exit).toBe(0);
    const lines = b.out().trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(b.err()).toContain('"level"'); // logs went to stderr
  }, 60_000);

  it('exits 0 on SIGTERM', async () => {
    const b = rawBridge(bridgeArgs(`${gw.base}/fixture/mcp`));
    await waitFor(() => b.err().includes('bridge ready'));
    b.child.kill('SIGTERM');
    expect(await b.exit).toBe(0);
  }, 30_000);

  it('exits 1 with a clear message when the remote refuses the connection', async () => {
    const b = rawBridge(['--import', 'tsx', CLI, 'connect', `${gw.base}/fixture/mcp`, '--header', 'Authorization: Bearer wrong', '--transport', 'streamable-http']);
    b.child.stdin!.write(
      `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } })}\n`,
    );
    expect(await b.exit).toBe(1);
    expect(b.err()).toMatch(/gatehouse: the connection to the remote MCP server ended: .*401/);
    expect(b.out()).toBe('');
  }, 30_000);

  it('refuses plain http to a host other than this machine (exit 2)', async () => {
    const b = rawBridge(['--import', 'tsx', CLI, 'connect', 'http://example.com/mcp']);
    expect(await b.exit).toBe(2);
    expect(b.err()).toContain('refusing plain http');
  }, 30_000);

  it('reads the URL from UPSTREAM_URL and flag values from env: references', async () => {
    const { client } = await connectClient(['--import', 'tsx', CLI, 'connect', '--header', 'Authorization: env:BRIDGE_AUTH'], {
      UPSTREAM_URL: `${gw.base}/fixture/mcp`,
      BRIDGE_AUTH: `Bearer ${TOKEN}`,
    });
    try {
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('names every bad flag at once (exit 2)', async () => {
    const b = rawBridge(['--import', 'tsx', CLI, 'connect', 'https://example.com/mcp', '--transport', 'carrier-pigeon', '--callback-port', 'x', '--grant', 'client_credentials']);
    expect(await b.exit).toBe(2);
    expect(b.err()).toContain('--transport');
    expect(b.err()).toContain('--callback-port');
    expect(b.err()).toContain('--client-id');
  }, 30_000);
});

describe('token file store', () => {
  it('keeps tokens encrypted, mode 0600, key apart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tokens-'));
    const store = createFileTokenStore({ dir });
    const secret = 'access-token-that-must-not-appear-in-clear';
    await store.write('https://mcp.example.com/mcp', {
      issuers: { 'https://as.example.com': { tokens: { access_token: secret, token_type: 'Bearer', refresh_token: 'refresh-secret-too' } } },
      lastIssuer: 'https://as.example.com',
    });
    const files = readdirSync(join(dir, 'servers')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const file = join(dir, 'servers', files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'key')).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, 'utf8');
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain('refresh-secret-too');
    expect((await store.read('https://mcp.example.com/mcp'))?.issuers['https://as.example.com']?.tokens?.access_token).toBe(secret);
    // Another server's record cannot be swapped in: the URL is authenticated data.
    expect(await store.read('https://other.example.com/mcp')).toBeUndefined();
    expect(await store.remove('https://mcp.example.com/mcp')).toBe(true);
    expect(await store.read('https://mcp.example.com/mcp')).toBeUndefined();
  });

  it('lets one process at a time hold the login lock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    const a = createFileTokenStore({ dir });
    const b = createFileTokenStore({ dir });
    const order: string[] = [];
    const releaseA = await a.lock('https://mcp.example.com/mcp');
    const second = b.lock('https://mcp.example.com/mcp').then((release) => {
      order.push('b');
      return release;
    });
    await new Promise((r) => setTimeout(r, 300));
    order.push('a-done');
    await releaseA();
    await (await second)();
    expect(order).toEqual(['a-done', 'b']);
  });
});

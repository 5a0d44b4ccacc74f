// `gatehouse connect` against an OAuth-protected MCP server: a small authorization server and
// resource server in this process (short-lived tokens, refresh rotation, revocation), the
// bridge as a real process with the encrypted file token store, and a "browser" that follows
// the authorization server's immediate redirect to the bridge's loopback callback.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeServer } from './helpers/http-stub.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const BROWSER = fileURLToPath(new URL('../scripts/conformance/fake-browser.mjs', import.meta.url));

/** A protected MCP server and its authorization server on one port. */
class MockOAuthServer {
  base = '';
  tokenTtlMs = 60_000;
  /** Leave code_challenge_methods_supported out of the metadata. */
  noPkce = false;
  /** Access tokens from a refresh are refused (a broken refresh): only a new login helps. */
  refusedAfterRefresh = false;
  readonly counts = { register: 0, authorize: 0, code: 0, refresh: 0, mcp401: 0 };
  readonly issued: string[] = [];
  #server: Server;
  #challenges = new Map<string, string>();
  #access = new Map<string, number>();
  #refresh = new Set<string>();
  #n = 0;

  constructor() {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    await closeServer(this.#server);
  }

  reset(): void {
    for (const k of Object.keys(this.counts)) this.counts[k as keyof typeof this.counts] = 0;
    this.tokenTtlMs = 60_000;
    this.noPkce = false;
    this.refusedAfterRefresh = false;
  }

  /** Access tokens stop working; refresh tokens still do. */
  expireAccessTokens(): void {
    this.#access.clear();
  }

  /** Every token and grant is forgotten: the next request needs a new login. */
  revokeAll(): void {
    this.#access.clear();
    this.#refresh.clear();
  }

  #issue(byRefresh = false): Record<string, unknown> {
    const n = ++this.#n;
    const access = `at-${n}-${Math.random().toString(36).slice(2)}`;
    const refresh = `rt-${n}-${Math.random().toString(36).slice(2)}`;
    if (!(byRefresh && this.refusedAfterRefresh)) this.#access.set(access, Date.now());
    this.#refresh.add(refresh);
    this.issued.push(access, refresh);
    return { access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: Math.ceil(this.tokenTtlMs / 1000), scope: 'mcp' };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString();
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
    };

    if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
      return json(200, { resource: `${this.base}/mcp`, authorization_servers: [this.base], scopes_supported: ['mcp'] });
    }
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      return json(200, {
        issuer: this.base,
        authorization_endpoint: `${this.base}/authorize`,
        token_endpoint: `${this.base}/token`,
        registration_endpoint: `${this.base}/register`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        ...(this.noPkce ? {} : { code_challenge_methods_supported: ['S256'] }),
        token_endpoint_auth_methods_supported: ['none'],
      });
    }
    if (url.pathname === '/register' && req.method === 'POST') {
      this.counts.register++;
      const meta = JSON.parse(body) as Record<string, unknown>;
      return json(201, { ...meta, client_id: `client-${this.counts.register}` });
    }
    if (url.pathname === '/authorize') {
      this.counts.authorize++;
      const code = `code-${this.counts.authorize}-${Math.random().toString(36).slice(2)}`;
      if (url.searchParams.get('code_challenge_method') !== 'S256') return json(400, { error: 'invalid_request' });
      this.#challenges.set(code, url.searchParams.get('code_challenge') ?? '');
      const back = new URL(url.searchParams.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', url.searchParams.get('state') ?? '');
      res.writeHead(302, { location: back.href }).end();
      return;
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') === 'authorization_code') {
        const challenge = this.#challenges.get(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        if (!challenge || createHash('sha256').update(verifier).digest('base64url') !== challenge) return json(400, { error: 'invalid_grant' });
        this.#challenges.delete(form.get('code')!);
        this.counts.code++;
        return json(200, this.#issue());
      }
      if (form.get('grant_type') === 'refresh_token') {
        const rt = form.get('refresh_token') ?? '';
        if (!this.#refresh.delete(rt)) return json(400, { error: 'invalid_grant' });
        this.counts.refresh++;
        return json(200, this.#issue(true));
      }
      return json(400, { error: 'unsupported_grant_type' });
    }
    if (url.pathname === '/mcp') {
      if (req.method !== 'POST') return json(405, { error: 'method not allowed' });
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const at = token === undefined ? undefined : this.#access.get(token);
      if (at === undefined || Date.now() - at > this.tokenTtlMs) {
        this.counts.mcp401++;
        return json(401, { error: 'invalid_token' }, { 'www-authenticate': `Bearer resource_metadata="${this.base}/.well-known/oauth-protected-resource/mcp"` });
      }
      const m = JSON.parse(body) as { id?: number; method: string; params?: { protocolVersion?: string } };
      if (m.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      let result: unknown;
      if (m.method === 'initialize') {
        result = { protocolVersion: m.params?.protocolVersion ?? '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'mock-protected', version: '1' } };
      } else if (m.method === 'tools/list') {
        result = { tools: [{ name: 'whoami', inputSchema: { type: 'object' } }] };
      } else if (m.method === 'tools/call') {
        result = { content: [{ type: 'text', text: 'authorized' }] };
      } else {
        return json(200, { jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'Method not found' } });
      }
      return json(200, { jsonrpc: '2.0', id: m.id, result });
    }
    json(404, { error: 'not found' });
  }
}

const mock = new MockOAuthServer();
beforeAll(() => mock.start());
afterAll(() => mock.close());
beforeEach(() => mock.reset());

function configDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-oauth-test-'));
}

async function bridge(dir: string): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', CLI, 'connect', `${mock.base}/mcp`, '--browser-command', `${process.execPath} ${BROWSER}`, '--log-level', 'debug'],
    env: { ...process.env, XDG_CONFIG_HOME: dir },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'bridge-oauth-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** Runs a gatehouse command to its end. */
function run(args: string[], dir: string, stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, XDG_CONFIG_HOME: dir }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin.end(stdin);
  });
}

const browserFlags = () => ['--browser-command', `${process.execPath} ${BROWSER}`];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('gatehouse connect with OAuth', () => {
  it('logs in through the browser, keeps the tokens encrypted (0600) and reuses them next time', async () => {
    const dir = configDir();
    const first = await bridge(dir);
    try {
      const called = await first.client.callTool({ name: 'whoami', arguments: {} });
      expect(called.content).toEqual([{ type: 'text', text: 'authorized' }]);
    } finally {
      await first.client.close();
    }
    expect(mock.counts).toMatchObject({ register: 1, authorize: 1, code: 1 });
    // The authorization URL is always printed to stderr.
    expect(first.stderr()).toContain(`${mock.base}/authorize?`);

    const files = readdirSync(join(dir, 'gatehouse', 'servers')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const file = join(dir, 'gatehouse', 'servers', files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'gatehouse', 'key')).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, 'utf8');
    for (const secret of mock.issued) expect(raw).not.toContain(secret);
    for (const secret of mock.issued) expect(first.stderr()).not.toContain(secret);

    // A second run uses the stored tokens: no new registration, no new login.
    const second = await bridge(dir);
    try {
      await second.client.listTools();
    } finally {
      await second.client.close();
    }
    expect(mock.counts).toMatchObject({ register: 1, authorize: 1 });
  }, 60_000);

  it('keeps working across many refreshes of short-lived tokens', async () => {
    mock.tokenTtlMs = 1_500;
    const { client } = await bridge(configDir());
    try {
      for (let i = 0; i < 4; i++) {
        const called = await client.callTool({ name: 'whoami', arguments: {} });
        expect(called.content).toEqual([{ type: 'text', text: 'authorized' }]);
        await sleep(1_700);
      }
    } finally {
      await client.close();
    }
    expect(mock.counts.authorize).toBe(1);
    expect(mock.counts.refresh).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('logs in again when the tokens are revoked', async () => {
    const { client } = await bridge(configDir());
    try {
      await client.listTools();
      mock.revokeAll();
      const called = await client.callTool({ name: 'whoami', arguments: {} });
      expect(called.content).toEqual([{ type: 'text', text: 'authorized' }]);
    } finally {
      await client.close();
    }
    expect(mock.counts.authorize).toBe(2);
  }, 60_000);

  it('401 -> refresh -> retry; a refreshed token refused too -> a new login, same request', async () => {
    const { client } = await bridge(configDir());
    try {
      await client.listTools();
      mock.refusedAfterRefresh = true;
      mock.expireAccessTokens();
      const called = await client.callTool({ name: 'whoami', arguments: {} });
      expect(called.content).toEqual([{ type: 'text', text: 'authorized' }]);
    } finally {
      await client.close();
    }
    expect(mock.counts.refresh).toBe(1);
    expect(mock.counts.authorize).toBe(2);
  }, 60_000);

  it('two bridges started at the same moment share one login', async () => {
    const dir = configDir();
    const [a, b] = await Promise.all([bridge(dir), bridge(dir)]);
    try {
      const [ra, rb] = await Promise.all([a.client.listTools(), b.client.listTools()]);
      expect(ra.tools).toHaveLength(1);
      expect(rb.tools).toHaveLength(1);
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
    expect(mock.counts.authorize).toBe(1);
    expect(mock.counts.register).toBe(1);
  }, 60_000);

  it('refuses an authorization server that does not advertise PKCE S256 (exit 1)', async () => {
    mock.noPkce = true;
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    const r = await run(['connect', `${mock.base}/mcp`, ...browserFlags()], configDir(), `${JSON.stringify(init)}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('does not advertise PKCE S256');
    expect(mock.counts.authorize).toBe(0);
    expect(r.stdout).toBe('');
  }, 30_000);

  it('login stores tokens that connect then uses; logout forgets them', async () => {
    const dir = configDir();
    const login = await run(['login', `${mock.base}/mcp`, ...browserFlags()], dir);
    expect(login.code).toBe(0);
    expect(login.stderr).toContain('logged in');
    expect(mock.counts.authorize).toBe(1);

    const { client } = await bridge(dir);
    try {
      await client.listTools();
    } finally {
      await client.close();
    }
    expect(mock.counts.authorize).toBe(1);

    const logout = await run(['logout', `${mock.base}/mcp`], dir);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain('forgot');
    expect(readdirSync(join(dir, 'gatehouse', 'servers')).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 60_000);
});

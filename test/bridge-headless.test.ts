// `gatehouse connect` without a browser, as a real process driven by the official SDK client
// over stdio, against a real stand-in authorization server (test/helpers/oauth-stand-in.ts):
// endpoints named by hand for a server without discovery, configuration from a JSON file and
// from the environment alone, the device authorization grant, and the trace file.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { DEVICE_GRANT, OAuthStandIn } from './helpers/oauth-stand-in.js';

type StandInRequest = OAuthStandIn['requests'][number];

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const BROWSER = fileURLToPath(new URL('../scripts/conformance/fake-browser.mjs', import.meta.url));
const CLIENT_ID = 'machine-client';
const CLIENT_SECRET = `machine-secret-${Math.random().toString(36).slice(2)}`;

let as: OAuthStandIn;

beforeAll(async () => {
  as = await new OAuthStandIn().start();
  as.addClient(CLIENT_ID, CLIENT_SECRET);
});
afterAll(() => as?.close());
beforeEach(() => {
  as.discovery = true;
  as.slowDowns = 0;
  for (const k of Object.keys(as.counts)) as.counts[k as keyof typeof as.counts] = 0;
});

const tempDir = () => mkdtempSync(join(tmpdir(), 'gatehouse-headless-'));

interface BridgeRun {
  client: Client;
  stderr: () => string;
}

/** Starts `gatehouse connect` with args and env (nothing from this process's OAUTH2_* leaks in). */
function startBridge(args: string[], env: Record<string, string> = {}): { transport: StdioClientTransport; stderr: () => string } {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OAUTH2_|UPSTREAM_URL|MCP_PROXY_CONFIG|LOG_LEVEL)/.test(k))) as Record<string, string>;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', CLI, 'connect', ...args],
    env: { ...base, XDG_CONFIG_HOME: tempDir(), ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return { transport, stderr: () => stderr };
}

async function bridge(args: string[], env: Record<string, string> = {}): Promise<BridgeRun> {
  const { transport, stderr } = startBridge(args, env);
  const client = new Client({ name: 'headless-test', version: '1.0.0' });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Error(`bridge did not start: ${String(error)}\n${stderr()}`);
  }
  return { client, stderr };
}

async function whoami(client: Client): Promise<string> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return (result.content as { text: string }[])[0]!.text;
}

/** Runs a gatehouse command to its end. */
function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, XDG_CONFIG_HOME: tempDir(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function waitFor<T>(probe: () => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() - start > timeoutMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('servers without discovery: --token-url / --authorization-url', () => {
  it('client_credentials with --token-url never asks for metadata', async () => {
    as.discovery = false;
    const { client } = await bridge([as.mcpUrl, '--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', 'env:THE_SECRET', '--token-url', `${as.base}/token`], {
      THE_SECRET: CLIENT_SECRET,
    });
    try {
      expect(await whoami(client)).toBe(`client ${CLIENT_ID}`);
    } finally {
      await client.close();
    }
    expect(as.counts.clientCredentials).toBe(1);
    // Only 404s were asked for, if anything: the token came from the named endpoint.
    expect(as.counts.register).toBe(0);
  }, 60_000);

  it('the browser login with --authorization-url and --token-url and a pre-registered client', async () => {
    as.discovery = false;
    const { client } = await bridge([
      as.mcpUrl,
      '--client-id',
      'public-app',
      '--authorization-url',
      `${as.base}/authorize`,
      '--token-url',
      `${as.base}/token`,
      '--browser-command',
      `${process.execPath} ${BROWSER}`,
      '--token-store',
      'memory',
    ]);
    try {
      expect(await whoami(client)).toBe('client public-app');
    } finally {
      await client.close();
    }
    expect(as.counts).toMatchObject({ authorize: 1, code: 1, register: 0 });
  }, 60_000);

  it('names the missing pieces at once (exit 2)', async () => {
    const r = await run(['connect', as.mcpUrl, '--token-url', `${as.base}/token`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--authorization-url');
    expect(r.stderr).toContain('--client-id');
  }, 30_000);
});

describe('configuration from a JSON file and from the environment', () => {
  it('reads --config FILE with env: and file: references (paths beside the file)', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret.txt'), `${CLIENT_SECRET}\n`);
    const file = join(dir, 'bridge.json');
    writeFileSync(file, JSON.stringify({ url: as.mcpUrl, grant: 'client_credentials', clientId: 'env:CFG_CLIENT', clientSecret: 'file:secret.txt', scope: 'mcp', transport: 'streamable-http' }));
    const { client } = await bridge(['--config', file], { CFG_CLIENT: CLIENT_ID });
    try {
      expect(await whoami(client)).toBe(`client ${CLIENT_ID}`);
    } finally {
      await client.close();
    }
    expect(as.counts.clientCredentials).toBe(1);
  }, 60_000);

  it("a desktop client's env block alone: UPSTREAM_URL and OAUTH2_*", async () => {
    as.discovery = false;
    const { client } = await bridge([], {
      UPSTREAM_URL: as.mcpUrl,
      OAUTH2_GRANT: 'client_credentials',
      OAUTH2_CLIENT_ID: CLIENT_ID,
      OAUTH2_CLIENT_SECRET: 'env:VAULT_SECRET',
      VAULT_SECRET: CLIENT_SECRET,
      OAUTH2_TOKEN_URL: `${as.base}/token`,
      OAUTH2_SCOPE: 'mcp',
      LOG_LEVEL: 'debug',
    });
    try {
      expect(await whoami(client)).toBe(`client ${CLIENT_ID}`);
    } finally {
      await client.close();
    }
    expect(as.counts.clientCredentials).toBe(1);
  }, 60_000);

  it('MCP_PROXY_CONFIG names the file; a flag wins over the file', async () => {
    const dir = tempDir();
    const file = join(dir, 'bridge.json');
    writeFileSync(file, JSON.stringify({ url: 'https://wrong.example/mcp', grant: 'client_credentials', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }));
    const { client } = await bridge([as.mcpUrl], { MCP_PROXY_CONFIG: file });
    try {
      expect(await whoami(client)).toBe(`client ${CLIENT_ID}`);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('reports unknown keys and bad values of the file together (exit 2)', async () => {
    const dir = tempDir();
    const file = join(dir, 'bridge.json');
    writeFileSync(file, JSON.stringify({ url: as.mcpUrl, grant: 'password', clientSecrt: 'x' }));
    const r = await run(['connect', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('clientSecrt');
    expect(r.stderr).toContain('--grant');
  }, 30_000);
});

describe('--grant device_code (RFC 8628)', () => {
  it('shows the user code, polls through slow_down and authorization_pending, then forwards', async () => {
    as.slowDowns = 1;
    const { transport, stderr } = startBridge([as.mcpUrl, '--grant', 'device_code', '--token-store', 'memory', '--transport', 'streamable-http']);
    const client = new Client({ name: 'device-test', version: '1.0.0' });
    const connected = client.connect(transport);
    // Two lines, which may reach us in pieces: wait until both are whole and name the same code.
    const userCode = await waitFor(() => {
      const text = stderr();
      const code = /enter the code (\S+)\s/.exec(text)?.[1];
      const linked = /\/device\?user_code=([^\s&]+)\s/.exec(text)?.[1];
      return code !== undefined && code === linked ? code : undefined;
    }, 'the user code and its link on stderr');
    expect(stderr()).toContain(`${as.base}/device?user_code=${userCode}`);
    // Not approved yet: the bridge keeps polling (authorization_pending) until this.
    await waitFor(() => (as.counts.devicePolls >= 2 ? true : undefined), 'two polls');
    expect(as.approve(userCode)).toBe(true);
    await connected;
    try {
      expect(await whoami(client)).toMatch(/^client dyn-\d+$/);
    } finally {
      await client.close();
    }
    expect(as.counts).toMatchObject({ register: 1, deviceAuthorization: 1, slowDown: 1, deviceIssued: 1 });
  }, 90_000);

  it('login ends with exit 1 and says so when the device code expires', async () => {
    const dir = tempDir();
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'login', as.mcpUrl, '--grant', 'device_code', '--client-id', 'device-app'], {
      env: { ...process.env, XDG_CONFIG_HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    await waitFor(() => (/enter the code/.test(stderr) ? true : undefined), 'the user code');
    as.expireDeviceCodes();
    expect(await exit).toBe(1);
    expect(stderr).toContain('expired');
  }, 60_000);

  // The stand-in's metadata lists client_secret_basic, client_secret_post and none: --auth-style
  // picks, for the device authorization request and every poll alike (RFC 8628 §3.1, §3.4).
  it.each([
    ['body', (r: StandInRequest) => r.authorization === undefined && r.form.get('client_id') === CLIENT_ID && r.form.get('client_secret') === CLIENT_SECRET],
    ['header', (r: StandInRequest) => r.authorization === `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}` && !r.form.has('client_secret') && !r.form.has('client_id')],
  ])('a --client-id client with --client-secret and --auth-style %s: the device request and the polls authenticate that way', async (style, sentThatWay) => {
    const first = as.requests.length;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'login', as.mcpUrl, '--grant', 'device_code', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--auth-style', style, '--token-store', 'memory'],
      { env: { ...process.env, XDG_CONFIG_HOME: tempDir() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
    const userCode = await waitFor(() => /enter the code (\S+)\s/.exec(stderr)?.[1], 'the user code');
    expect(as.approve(userCode)).toBe(true);
    expect(await exit, stderr).toBe(0);
    const sent = as.requests.slice(first);
    const start = sent.filter((r) => r.path === '/device_authorization');
    const polls = sent.filter((r) => r.path === '/token' && r.form.get('grant_type') === DEVICE_GRANT);
    expect(start).toHaveLength(1);
    expect(polls.length).toBeGreaterThanOrEqual(1);
    for (const request of [...start, ...polls]) expect(sentThatWay(request), JSON.stringify({ path: request.path, authorization: request.authorization, form: [...request.form.keys()] })).toBe(true);
  }, 60_000);
});

describe('--trace-file', () => {
  it('records every HTTP request and OAuth step, and never a token, secret or code', async () => {
    const dir = tempDir();
    const trace = join(dir, 'trace.jsonl');
    // Device flow (device code, user code, refresh token), then client credentials (secret),
    // then the browser login (authorization code, PKCE): every secret this server knows.
    const device = startBridge([as.mcpUrl, '--grant', 'device_code', '--token-store', 'memory', '--trace-file', trace]);
    const deviceClient = new Client({ name: 'trace-test', version: '1.0.0' });
    const connected = deviceClient.connect(device.transport);
    const userCode = await waitFor(() => /enter the code (\S+)/.exec(device.stderr())?.[1], 'the user code');
    as.approve(userCode);
    await connected;
    as.expireAccessTokens(); // 401 -> refresh (refresh token on the wire) -> retry
    await whoami(deviceClient);
    await deviceClient.close();

    const machine = await bridge([as.mcpUrl, '--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--trace-file', trace, '--transport', 'streamable-http']);
    await whoami(machine.client);
    await machine.client.close();

    const browser = await bridge([as.mcpUrl, '--browser-command', `${process.execPath} ${BROWSER}`, '--token-store', 'memory', '--trace-file', trace]);
    await whoami(browser.client);
    await browser.client.close();

    const text = readFileSync(trace, 'utf8');
    const spans = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; name: string; status?: number; ms: number; url?: string; grant?: string });
    const names = new Set(spans.map((s) => s.name));
    for (const name of ['oauth.discovery.protected-resource', 'oauth.discovery.authorization-server', 'oauth.token.device_code', 'oauth.token.refresh_token', 'oauth.token.client_credentials', 'oauth.token.authorization_code', 'oauth.authorize']) {
      expect(names, name).toContain(name);
    }
    expect(spans.some((s) => s.status === 401 && s.url === as.mcpUrl)).toBe(true);
    expect(spans.some((s) => s.status === 200 && s.url === as.mcpUrl)).toBe(true);
    expect(spans.every((s) => typeof s.ms === 'number')).toBe(true);

    expect(as.secrets.length).toBeGreaterThan(8);
    for (const secret of [...as.secrets, ...as.userCodes, CLIENT_SECRET, Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')]) {
      expect(text.includes(secret), `trace holds ${secret.slice(0, 6)}…`).toBe(false);
    }
  }, 120_000);
});

describe('the lean HTTP path (--transport streamable-http) with the browser login', () => {
  it('logs in on the first 401, and 16 requests refused together cause one refresh and all succeed', async () => {
    const { client } = await bridge([as.mcpUrl, '--transport', 'streamable-http', '--browser-command', `${process.execPath} ${BROWSER}`, '--token-store', 'memory']);
    try {
      expect(await whoami(client)).toMatch(/^client dyn-\d+$/);
      expect(as.counts).toMatchObject({ authorize: 1, code: 1 });
      as.expireAccessTokens();
      const answers = await Promise.all(Array.from({ length: 16 }, () => whoami(client)));
      expect(new Set(answers).size).toBe(1);
    } finally {
      await client.close();
    }
    expect(as.counts.refresh).toBe(1);
    expect(as.counts.authorize).toBe(1);
  }, 60_000);
});

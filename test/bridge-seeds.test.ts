// `gatehouse connect` configured the way the two stdio bridges it replaces are configured
// (/work/shared/seeds 001 and 002): mcp-oauth2-proxy's nested JSON file and its variables
// (the environment wins over that file, as there; OAUTH2_CALLBACK_PORT, ALLOW_INSECURE_HTTP,
// UPSTREAM_TIMEOUT_MS), and the Go mcp-proxy's `-u/--url`, `-i`, `-s` with its
// GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET defaults. Option resolution is checked directly;
// the command lines and a desktop client's env blocks run as real processes against the
// stand-in authorization server (test/helpers/oauth-stand-in.ts).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { CONNECT_ENV, resolveConnectFlags, SEED_CALLBACK_PORT } from '../src/cli/connect-options.js';
import { ConfigError } from '../src/config/index.js';
import { OAuthStandIn } from './helpers/oauth-stand-in.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const BROWSER = fileURLToPath(new URL('../scripts/conformance/fake-browser.mjs', import.meta.url));
const CLIENT_ID = 'seed-client';
const CLIENT_SECRET = `seed-secret-${Math.random().toString(36).slice(2)}`;
const URL_A = 'https://mcp.example.com/mcp';

const tempDir = () => mkdtempSync(join(tmpdir(), 'gatehouse-seeds-'));

function writeJson(value: unknown): string {
  const file = join(tempDir(), 'config.json');
  writeFileSync(file, JSON.stringify(value));
  return file;
}

/** The problems resolveConnectFlags names (exit 2), as "path: message" lines. */
function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

/** mcp-oauth2-proxy's config.example.json, as its README shows it. */
const SEED_FILE = {
  upstream: { url: URL_A, timeoutMs: 30000, openServerStream: true },
  oauth2: {
    grant: 'client_credentials',
    tokenUrl: 'https://idp.example.com/oauth2/token',
    clientId: 'my-client',
    clientSecret: 'set-via-OAUTH2_CLIENT_SECRET',
    scope: 'mcp:read mcp:write',
    audience: 'https://mcp.example.com',
    authStyle: 'body',
    refreshSkewSeconds: 30,
  },
  log: { level: 'info' },
};

describe("mcp-oauth2-proxy's configuration (seed 001)", () => {
  it('reads its nested file: upstream.url, oauth2.*, log.level, upstream.timeoutMs, allowInsecureHttp', () => {
    const file = writeJson({ ...SEED_FILE, allowInsecureHttp: true });
    const r = resolveConnectFlags(undefined, { config: file }, {});
    expect(r).toMatchObject({
      url: URL_A,
      grant: 'client_credentials',
      tokenUrl: 'https://idp.example.com/oauth2/token',
      clientId: 'my-client',
      clientSecret: 'set-via-OAUTH2_CLIENT_SECRET',
      scope: 'mcp:read mcp:write',
      logLevel: 'info',
      timeoutMs: 30_000,
      allowHttp: true,
      audience: 'https://mcp.example.com',
      authStyle: 'body',
    });
    // What Gatehouse does its own way is said, key by key; openServerStream: true needs no word.
    expect(r.warnings.join('\n')).not.toContain('audience');
    expect(r.warnings.join('\n')).not.toContain('authStyle');
    expect(r.warnings.join('\n')).toContain('oauth2.refreshSkewSeconds has no effect');
    expect(r.warnings.join('\n')).not.toContain('openServerStream');
  });

  it('names unknown keys inside its sections and a key given both ways, all at once', () => {
    const file = writeJson({ upstream: { url: URL_A, urll: 'x' }, oauth2: { grant: 'authorization_code', clientID: 'a' }, url: URL_A });
    const found = problems(() => resolveConnectFlags(undefined, { config: file }, {}));
    expect(found.some((p) => p.includes('upstream.urll: unknown key'))).toBe(true);
    expect(found.some((p) => p.includes('oauth2.clientID: unknown key'))).toBe(true);
    expect(found.some((p) => p.includes('given twice (also as upstream.url)'))).toBe(true);
  });

  it('the environment wins over its file (as there), but our own flat file wins over the environment (decision 0010)', () => {
    const env = { OAUTH2_CLIENT_SECRET: 'from-env', OAUTH2_SCOPE: 'env-scope', UPSTREAM_URL: 'https://env.example/mcp' };
    const seed = resolveConnectFlags(undefined, { config: writeJson(SEED_FILE) }, env);
    expect(seed).toMatchObject({ clientSecret: 'from-env', scope: 'env-scope', url: 'https://env.example/mcp', clientId: 'my-client' });
    const flat = resolveConnectFlags(undefined, { config: writeJson({ url: URL_A, grant: 'client_credentials', clientId: 'c', clientSecret: 'from-file', scope: 'file-scope' }) }, env);
    expect(flat).toMatchObject({ clientSecret: 'from-file', scope: 'file-scope', url: URL_A });
    // A flag wins over both.
    expect(resolveConnectFlags(undefined, { config: writeJson(SEED_FILE), clientSecret: 'flag' }, env).clientSecret).toBe('flag');
  });

  it('OAUTH2_CALLBACK_PORT sets the callback port (0: any free port)', () => {
    expect(resolveConnectFlags(URL_A, {}, { OAUTH2_CALLBACK_PORT: '61234' }).callbackPort).toBe(61234);
    const any = resolveConnectFlags(URL_A, {}, { OAUTH2_CLIENT_ID: 'x', OAUTH2_CALLBACK_PORT: '0' });
    expect(any.callbackPort).toBeUndefined();
    expect(any.defaultCallbackPort).toBeUndefined();
    expect(problems(() => resolveConnectFlags(URL_A, {}, { OAUTH2_CALLBACK_PORT: 'x' }))).toEqual(['--callback-port: must be a port number (1-65535, or 0 for any free port)']);
  });

  it("a client id given its way (OAUTH2_CLIENT_ID, or its file) listens on its default port 53682; --client-id and dynamic registration on any free port", () => {
    const fromEnv = resolveConnectFlags(URL_A, {}, { OAUTH2_CLIENT_ID: 'registered-at-the-idp' });
    expect(fromEnv.defaultCallbackPort).toBe(SEED_CALLBACK_PORT);
    expect(fromEnv.notes.join('\n')).toContain('53682');
    const file = writeJson({ upstream: { url: URL_A }, oauth2: { grant: 'authorization_code', clientId: 'registered-at-the-idp' } });
    expect(resolveConnectFlags(undefined, { config: file }, {}).defaultCallbackPort).toBe(SEED_CALLBACK_PORT);
    expect(resolveConnectFlags(URL_A, { clientId: 'mine' }, {}).defaultCallbackPort).toBeUndefined();
    expect(resolveConnectFlags(URL_A, {}, {}).defaultCallbackPort).toBeUndefined();
    expect(resolveConnectFlags(URL_A, { grant: 'client_credentials' }, { OAUTH2_CLIENT_ID: 'x', OAUTH2_CLIENT_SECRET: 'y' }).defaultCallbackPort).toBeUndefined();
  });

  it('ALLOW_INSECURE_HTTP is --allow-http; a value that is not a boolean is named', () => {
    expect(resolveConnectFlags(URL_A, {}, { ALLOW_INSECURE_HTTP: 'true' }).allowHttp).toBe(true);
    expect(resolveConnectFlags(URL_A, {}, { ALLOW_INSECURE_HTTP: '1' }).allowHttp).toBe(true);
    expect(resolveConnectFlags(URL_A, {}, { ALLOW_INSECURE_HTTP: 'false' }).allowHttp).toBe(false);
    expect(resolveConnectFlags(URL_A, {}, {}).allowHttp).toBe(false);
    // Its file's allowInsecureHttp yields to the variable, as there.
    expect(resolveConnectFlags(undefined, { config: writeJson({ ...SEED_FILE, allowInsecureHttp: true }) }, { ALLOW_INSECURE_HTTP: 'false' }).allowHttp).toBe(false);
    expect(problems(() => resolveConnectFlags(URL_A, {}, { ALLOW_INSECURE_HTTP: 'perhaps' }))).toEqual(['ALLOW_INSECURE_HTTP: must be true or false']);
  });

  it('UPSTREAM_TIMEOUT_MS is --timeout in milliseconds; its other variables are named when set', () => {
    expect(resolveConnectFlags(URL_A, {}, { UPSTREAM_TIMEOUT_MS: '2500' }).timeoutMs).toBe(2500);
    const r = resolveConnectFlags(URL_A, {}, { OAUTH2_EXTRA_PARAMS: 'a=b', UPSTREAM_OPEN_SERVER_STREAM: 'true' });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/^OAUTH2_EXTRA_PARAMS \(mcp-oauth2-proxy's oauth2\.extraParams\) has no effect/);
  });

  it('OAUTH2_AUDIENCE and OAUTH2_AUTH_STYLE are --audience and --auth-style; a style other than header or body is named', () => {
    const r = resolveConnectFlags(URL_A, {}, { OAUTH2_AUDIENCE: 'https://api', OAUTH2_AUTH_STYLE: 'header' });
    expect(r).toMatchObject({ audience: 'https://api', authStyle: 'header', warnings: [] });
    expect(problems(() => resolveConnectFlags(URL_A, {}, { OAUTH2_AUTH_STYLE: 'basic' }))).toEqual(['--auth-style: must be header (HTTP Basic, client_secret_basic) or body (client_secret_post)']);
  });
});

describe("the Go mcp-proxy's flags and defaults (seed 002)", () => {
  it('-u/--url is the URL; GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET are its default credentials', () => {
    const env = { GOOGLE_CLIENT_ID: 'google-id', GOOGLE_CLIENT_SECRET: 'google-secret' };
    expect(resolveConnectFlags(undefined, { url: URL_A }, env)).toMatchObject({ url: URL_A, clientId: 'google-id', clientSecret: 'google-secret' });
    // -i / -s (--client-id / --client-secret), with env: references as there, win over them.
    expect(resolveConnectFlags(undefined, { url: URL_A, clientId: 'env:MY_ID', clientSecret: 'env:MY_SECRET' }, { ...env, MY_ID: 'mine', MY_SECRET: 's' })).toMatchObject({ clientId: 'mine', clientSecret: 's' });
  });

  it('the GOOGLE_* defaults are read only when it is invoked its way (-u), not for `connect URL`', () => {
    expect(resolveConnectFlags(URL_A, {}, { GOOGLE_CLIENT_ID: 'google-id', GOOGLE_CLIENT_SECRET: 'google-secret' })).toMatchObject({ clientId: undefined, clientSecret: undefined });
  });

  it('the URL given twice, differently, is refused', () => {
    expect(problems(() => resolveConnectFlags(URL_A, { url: 'https://other.example/mcp' }, {}))).toEqual(['--url: the URL is given twice (as the argument and with -u/--url): give it once']);
    expect(resolveConnectFlags(URL_A, { url: URL_A }, {}).url).toBe(URL_A);
  });
});

describe('--help names the variable of every flag that has one', () => {
  it('connect --help', async () => {
    const { code, stdout } = await run(['connect', '--help']);
    expect(code).toBe(0);
    // One block per option ("  -u, --url <url>  text..." and its wrapped lines).
    const blocks = stdout.split(/\n(?= {2}-)/).map((b) => b.replace(/\s+/g, ' ').trim());
    for (const [flag, names] of Object.entries(CONNECT_ENV)) {
      const block = blocks.find((b) => b.split(' <')[0]!.split(', ').includes(flag.split(' ')[0]!) || b.startsWith(`${flag} `));
      expect(block, flag).toBeDefined();
      const env = /\(env: ([^)]*)\)/.exec(block!)?.[1] ?? '';
      for (const name of names) expect(env, `${flag} -> ${name}`).toContain(name);
    }
    // The precedence and the flags without a variable are said too.
    expect(stdout.replace(/\s+/g, ' ')).toContain('No variable: --transport, --resource, --header, --token-store');
  }, 30_000);
});

// --- real processes ---------------------------------------------------------------------------

let as: OAuthStandIn;

beforeAll(async () => {
  as = await new OAuthStandIn().start();
  as.addClient(CLIENT_ID, CLIENT_SECRET);
});
afterAll(() => as?.close());
beforeEach(() => {
  as.requests.length = 0;
  for (const k of Object.keys(as.counts)) as.counts[k as keyof typeof as.counts] = 0;
});

/** The environment of a desktop client's launch: nothing of this process's OAuth settings. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(OAUTH2_|UPSTREAM_|MCP_PROXY_CONFIG|LOG_LEVEL|GOOGLE_CLIENT_|ALLOW_INSECURE_HTTP|BROWSER)/.test(k)),
  ) as Record<string, string>;
  return { ...base, XDG_CONFIG_HOME: tempDir(), ...extra };
}

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `gatehouse connect ARGS` under an SDK client; resolves with its answer to the whoami tool. */
async function whoamiThrough(args: string[], env: Record<string, string>): Promise<{ who: string; stderr: string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', 'tsx', CLI, 'connect', ...args], env: cleanEnv(env), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'seeds-test', version: '1.0.0' });
  try {
    await client.connect(transport).catch((error: unknown) => {
      throw new Error(`bridge did not start: ${String(error)}\n${stderr}`);
    });
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return { who: (result.content as { text: string }[])[0]!.text, stderr };
  } finally {
    await client.close();
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('as real processes', () => {
  it("its desktop config: MCP_PROXY_CONFIG in its shape, the real secret from the env block over the file's placeholder", async () => {
    const file = writeJson({ upstream: { url: as.mcpUrl }, oauth2: { grant: 'client_credentials', clientId: CLIENT_ID, clientSecret: 'set-via-OAUTH2_CLIENT_SECRET', refreshSkewSeconds: 30 }, log: { level: 'info' } });
    const { who, stderr } = await whoamiThrough([], { MCP_PROXY_CONFIG: file, OAUTH2_CLIENT_SECRET: CLIENT_SECRET });
    expect(who).toBe(`client ${CLIENT_ID}`);
    expect(stderr).toContain('oauth2.refreshSkewSeconds has no effect');
    expect(as.counts.clientCredentials).toBe(1);
  }, 60_000);

  it('OAUTH2_CALLBACK_PORT is the port of the redirect URI the authorization server sees', async () => {
    const port = await freePort();
    const { who } = await whoamiThrough([], {
      UPSTREAM_URL: as.mcpUrl,
      OAUTH2_GRANT: 'authorization_code',
      OAUTH2_CLIENT_ID: 'idp-registered-app',
      OAUTH2_CALLBACK_PORT: String(port),
      BROWSER: `${process.execPath} ${BROWSER}`,
    });
    expect(who).toBe('client idp-registered-app');
    const authorize = as.requests.find((r) => r.path === '/authorize');
    expect(authorize?.query.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    expect(as.counts.register).toBe(0);
  }, 60_000);

  it('ALLOW_INSECURE_HTTP=true lets plain http to another host through, as --allow-http does', async () => {
    const refused = await run(['connect', 'http://192.0.2.1/mcp', '--token-store', 'memory']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('ALLOW_INSECURE_HTTP=true');
    // stdin is closed at once: the bridge starts, then ends because its client left.
    const allowed = await run(['connect', 'http://192.0.2.1/mcp', '--token-store', 'memory'], { ALLOW_INSECURE_HTTP: 'true' });
    expect(allowed.stderr).not.toContain('refusing plain http');
    expect(allowed.stderr).toContain('bridge ready');
    expect(allowed.code).toBe(0);
  }, 30_000);

  it('["-u", URL] with GOOGLE_CLIENT_ID in the env block: the browser login with that client, no registration', async () => {
    const { who } = await whoamiThrough(['-u', as.mcpUrl, '--browser-command', `${process.execPath} ${BROWSER}`, '--token-store', 'memory'], { GOOGLE_CLIENT_ID: 'google-app' });
    expect(who).toBe('client google-app');
    expect(as.counts.register).toBe(0);
  }, 60_000);

  it('-u URL -i ID -s env:NAME, and Go-style -url / -client-id / -client-secret', async () => {
    const short = await whoamiThrough(['-u', as.mcpUrl, '-i', CLIENT_ID, '-s', 'env:MY_SECRET', '--grant', 'client_credentials'], { MY_SECRET: CLIENT_SECRET });
    expect(short.who).toBe(`client ${CLIENT_ID}`);
    const goStyle = await whoamiThrough([`-url=${as.mcpUrl}`, '-client-id', CLIENT_ID, '-client-secret', CLIENT_SECRET, '--grant', 'client_credentials'], {});
    expect(goStyle.who).toBe(`client ${CLIENT_ID}`);
  }, 60_000);
});

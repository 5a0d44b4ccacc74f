// CONTRACT, the `gatehouse` command run as a person runs it:
// - `gatehouse serve --public-url URL`: the issuer and every advertised URL use it;
// - `gatehouse config migrate FILE -o json` (`--output json`): JSON that `config check` accepts;
// - `gatehouse serve` on SIGINT: no new connections, the call in flight finishes, exit 0.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { runCli, startServe, tempRoot, type ServeRun } from './helpers/cli.js';
import { freshRequest } from './helpers/contract.js';
import { INIT, RAW_FIXTURE, rawPost } from './helpers/gateway.js';

const tmp = tempRoot('gh-contract-cli-');
afterAll(() => tmp.remove());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function serve(args: string[], cwd: string): Promise<ServeRun> {
  const run = await startServe(args, cwd);
  children.push(run.child);
  return run;
}

// The secrets the migrated files refer to, as `serve` and `config check` would find them.
const SECRETS = { CONTRACT_API_KEY: 'api-key-value-not-printed', CONTRACT_PROXY_TOKEN: 'proxy-token-value-not-printed' };

const RAW_SERVER = `raw: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RAW_FIXTURE)}] }`;

describe('gatehouse serve --public-url URL', () => {
  it('is the issuer, the base of the protected-resource metadata and of the 401 challenge, over publicUrl in the file', async () => {
    const dir = tmp.freshDir();
    const PUBLIC = 'https://gatehouse-flag.example.test';
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      [
        'publicUrl: https://from-the-file.example.test',
        'store: memory',
        'auth:',
        '  mode: oauth',
        `  users: { alice: { passwordHash: ${JSON.stringify(hashPassword('contract password, long enough'))} } }`,
        'servers:',
        `  ${RAW_SERVER}`,
        '',
      ].join('\n'),
    );
    const { base } = await serve(['--listen', '127.0.0.1:0', '--public-url', PUBLIC], dir);

    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const as = (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>;
      expect(as.issuer, path).toBe(PUBLIC);
      expect(as.authorization_endpoint).toBe(`${PUBLIC}/oauth/authorize`);
      expect(as.token_endpoint).toBe(`${PUBLIC}/oauth/token`);
      expect(as.registration_endpoint).toBe(`${PUBLIC}/oauth/register`);
    }

    for (const resource of ['/raw/mcp', '/mcp']) {
      const res = await fetch(`${base}/.well-known/oauth-protected-resource${resource}`);
      expect(res.status, resource).toBe(200);
      const prm = (await res.json()) as { resource: string; authorization_servers: string[] };
      expect(prm.resource).toBe(`${PUBLIC}${resource}`);
      expect(prm.authorization_servers).toEqual([PUBLIC]);

      const unauth = await rawPost(`${base}${resource}`, INIT());
      expect(unauth.status).toBe(401);
      expect(unauth.headers.get('www-authenticate')).toContain(`resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource${resource}"`);
    }
    expect(JSON.stringify(await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json())).not.toContain('from-the-file');
  });
});

describe('gatehouse config migrate FILE -o json', () => {
  const inputs: Record<string, unknown> = {
    'claude_desktop_config.json': {
      mcpServers: {
        files: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'], env: { API_KEY: 'env:CONTRACT_API_KEY' } },
        corp: { url: 'https://mcp.corp.example/mcp', headers: { 'X-Team': 'blue' } },
      },
    },
    'mcp-proxy.json': {
      mcpProxy: { baseURL: 'https://mcp.example.com', addr: ':9090', name: 'proxy', version: '1', options: { authTokens: ['env:CONTRACT_PROXY_TOKEN'] } },
      mcpServers: {
        fetch: { command: 'uvx', args: ['mcp-server-fetch'], options: { toolFilter: { mode: 'allow', list: ['fetch'] } } },
        remote: { url: 'https://remote.example/sse', transportType: 'sse' },
      },
    },
  };

  for (const [name, content] of Object.entries(inputs)) {
    for (const flag of ['-o', '--output']) {
      it(`${name} with ${flag} json: stdout is JSON alone, in the native shape, and config check accepts it`, async () => {
        const dir = tmp.freshDir();
        writeFileSync(join(dir, name), JSON.stringify(content, null, 2));
        const migrated = await runCli(['config', 'migrate', name, flag, 'json'], { cwd: dir, env: SECRETS });
        expect(migrated.status, migrated.stderr).toBe(0);
        const doc = JSON.parse(migrated.stdout) as { servers: Record<string, unknown> };
        expect(Object.keys(doc.servers).sort()).toEqual(Object.keys((content as { mcpServers: object }).mcpServers).sort());
        // Native keys, not the source format's.
        expect(doc).not.toHaveProperty('mcpServers');
        expect(doc).not.toHaveProperty('mcpProxy');
        // Secrets stay references, never values.
        expect(migrated.stdout).toMatch(/env:CONTRACT_(API_KEY|PROXY_TOKEN)/);
        for (const value of Object.values(SECRETS)) expect(migrated.stdout).not.toContain(value);

        writeFileSync(join(dir, 'gatehouse.json'), migrated.stdout);
        const checked = await runCli(['config', 'check', 'gatehouse.json'], { cwd: dir, env: SECRETS });
        expect(checked.status, `${checked.stdout}\n${checked.stderr}`).toBe(0);
        // And the file serve would find by itself is the same one.
        const found = await runCli(['config', 'check'], { cwd: dir, env: SECRETS });
        expect(found.stdout).toContain('gatehouse.json');
        expect(found.status, `${found.stdout}\n${found.stderr}`).toBe(0);
      });
    }
  }

  it('yaml stays the default; an unknown format is bad usage (exit 2)', async () => {
    const dir = tmp.freshDir();
    writeFileSync(join(dir, 'claude.json'), JSON.stringify(inputs['claude_desktop_config.json']));
    const yaml = await runCli(['config', 'migrate', 'claude.json'], { cwd: dir });
    expect(yaml.status).toBe(0);
    expect(() => JSON.parse(yaml.stdout) as unknown).toThrow();
    expect(yaml.stdout).toContain('servers:');
    const bad = await runCli(['config', 'migrate', 'claude.json', '-o', 'xml'], { cwd: dir });
    expect(bad.status).toBe(2);
  });
});

describe('gatehouse serve on SIGINT', () => {
  it('stops accepting connections, lets the call in flight finish, and exits 0', async () => {
    const dir = tmp.freshDir();
    writeFileSync(join(dir, 'gatehouse.yaml'), `store: memory\nauth: { mode: none }\nservers:\n  ${RAW_SERVER}\n`);
    const { child, base, stderr } = await serve(['--listen', '127.0.0.1:0'], dir);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

    const init = await rawPost(`${base}/raw/mcp`, INIT());
    expect(init.status).toBe(200);
    const sid = init.headers.get('mcp-session-id')!;
    const session = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
    await rawPost(`${base}/raw/mcp`, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);

    const slow = rawPost(`${base}/raw/mcp`, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { ms: 3000 } } }, session);
    // The call is in flight once the server has started it (the fixture's `state` says so).
    await expect
      .poll(
        async () => {
          const r = await rawPost(`${base}/raw/mcp`, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'state', arguments: {} } }, session);
          return JSON.stringify(r.json);
        },
        { timeout: 20_000, interval: 50 },
      )
      .toMatch(/\\"started\\":\[[^\]]+\]/);

    child.kill('SIGINT');
    await expect.poll(() => stderr(), { timeout: 20_000, interval: 50 }).toContain('"signal":"SIGINT"');

    // A new connection is no longer served (refused, or answered with an error, never a session).
    const late = await freshRequest(`${base}/raw/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify(INIT()),
    });
    if (late.status === undefined) expect(late.error).toBe('ECONNREFUSED');
    else expect(late.status, late.text).toBeGreaterThanOrEqual(500);

    const answer = await slow;
    expect(answer.status).toBe(200);
    const reply = Array.isArray(answer.json) ? (answer.json as unknown[]).at(-1) : answer.json;
    expect(reply).toMatchObject({ id: 2, result: { content: [{ type: 'text', text: expect.stringContaining('"ms":3000') }] } });

    expect(await exited).toEqual({ code: 0, signal: null });
  });
});

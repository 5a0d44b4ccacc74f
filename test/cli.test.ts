// The `gatehouse` command as a person runs it: exit codes, messages, the zero-config demo,
// and a graceful stop on SIGTERM with a call in flight.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, startServe, TSX, type ServeRun } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const run = (args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) =>
  spawnSync(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    encoding: 'utf8',
    timeout: 30_000,
  });

const tmp = () => mkdtempSync(join(tmpdir(), 'gh-cli-'));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts `serve` and resolves with the base URL once it is listening; killed after the file. */
async function serve(args: string[], cwd: string, env: Record<string, string> = {}): Promise<ServeRun> {
  const run = startServe(args, cwd, env);
  const started = await run;
  children.push(started.child);
  return started;
}

describe('gatehouse CLI', () => {
  it('prints its version and help', () => {
    const v = run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const h = run(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('serve');
    expect(h.stdout).toContain('config');
  });

  it('exits 2 on bad usage', () => {
    expect(run(['serve', '--no-such-flag']).status).toBe(2);
    expect(run(['frobnicate']).status).toBe(2);
  });

  it('config check names every problem and exits 2; a good file exits 0', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.yaml'), 'listen: nope\nservers:\n  github: { args: [x] }\n  web: { url: "ftp://x" }\n');
    const bad = run(['config', 'check', join(dir, 'bad.yaml')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('listen:');
    // CONTRACT.md's example, word for word.
    expect(bad.stderr).toContain('servers.github.command: required');
    expect(bad.stderr).toContain('servers.web.url:');
    writeFileSync(join(dir, 'good.yaml'), 'auth: { mode: none }\nservers:\n  a: { command: node }\n');
    const good = run(['config', 'check', join(dir, 'good.yaml')]);
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('valid');
  });

  it('config schema prints JSON Schema; config migrate prints the native form without secrets', () => {
    const schema = run(['config', 'schema']);
    expect(schema.status).toBe(0);
    expect(JSON.parse(schema.stdout)).toMatchObject({ type: 'object' });
    const dir = tmp();
    writeFileSync(
      join(dir, 'claude.json'),
      JSON.stringify({ mcpServers: { fs: { command: 'npx', args: ['-y', 'x'], env: { TOKEN: 'env:MY_SECRET' } } } }),
    );
    const migrated = run(['config', 'migrate', join(dir, 'claude.json')], { env: { MY_SECRET: 'do-not-print-me' } });
    expect(migrated.status).toBe(0);
    expect(migrated.stdout).toContain('servers:');
    expect(migrated.stdout).toContain('env:MY_SECRET');
    expect(migrated.stdout).not.toContain('do-not-print-me');
  });

  it('runs the zero-config demo: prints URLs and a token, serves the demo server', async () => {
    const dir = tmp();
    const { child, base, stderr } = await serve(['--listen', '127.0.0.1:0'], dir);
    for (let i = 0; i < 100 && !stderr().includes('Static bearer token:'); i++) await new Promise((r) => setTimeout(r, 50));
    const token = /Static bearer token:\s+(\S+)/.exec(stderr())?.[1];
    expect(token).toBeTruthy();
    expect(stderr()).toContain('/demo/mcp');
    expect(stderr()).toMatch(/Sign in as:\s+admin \/ \S+/);
    // OAuth is on: a challenge that names the resource metadata, and an authorization server.
    const unauth = await fetch(`${base}/demo/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('www-authenticate')).toContain('resource_metadata=');
    const meta = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    expect(meta.issuer).toBe(base);
    expect(statSync(join(dir, '.gatehouse', 'keys.json')).mode & 0o777).toBe(0o600);
    const init = await fetch(`${base}/demo/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    expect(init.status).toBe(200);
    expect(await init.json()).toMatchObject({ result: { serverInfo: { name: 'gatehouse-demo' } } });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    // The second start keeps the admin user and does not print a password again.
    const second = await serve(['--listen', '127.0.0.1:0'], dir);
    for (let i = 0; i < 100 && !second.stderr().includes('Sign in as:'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(second.stderr()).toContain('password printed at first start');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });

  it('stops gracefully on SIGTERM: the call in flight finishes, then it exits 0', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'gatehouse.yaml'), `auth: { mode: none }\nservers:\n  raw: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RAW_FIXTURE)}] }\n`);
    const { child, base } = await serve(['--listen', '127.0.0.1:0'], dir);
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(`${base}/raw/mcp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
    });
    const sid = init.headers.get('mcp-session-id')!;
    const slow = fetch(`${base}/raw/mcp`, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sid },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'slow', arguments: { ms: 700 } } }),
    }).then((r) => r.json());
    await new Promise((r) => setTimeout(r, 150));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const answer = await slow;
    expect(answer).toMatchObject({ id: 2, result: { content: [{ type: 'text' }] } });
    expect(await exited).toBe(0);
  });
});

describe('gatehouse serve refuses unsafe remotes', () => {
  it('exits 2 for plain http to a host that is not this machine', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'gatehouse.yaml'), 'auth: { mode: none }\nservers:\n  far: { url: "http://mcp.example.com/mcp" }\n');
    const r = run(['serve', '--listen', '127.0.0.1:0'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/https|allowHttp|allow-http/);
  });
});

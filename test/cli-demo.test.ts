// The zero-config demo across restarts and binds: its static token is kept in dataDir (0600)
// and the same at the next start, GATEHOUSE_TOKEN still wins; the banner's `users passwd`
// hint carries the --data-dir it was started with; on 0.0.0.0 it prints no 0.0.0.0 URL and
// says to set --public-url.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, servesKilledAfterEach, startServe, tempRoot, type ServeRun } from './helpers/cli.js';

const tmp = tempRoot('gh-cli-demo-');
afterAll(() => tmp.remove());
const serving = servesKilledAfterEach();

/** A demo serve, once its banner (what follows the log lines) is out. */
async function demo(args: string[], cwd: string, env: Record<string, string> = {}): Promise<ServeRun & { banner: string }> {
  const run = await startServe(args, cwd, env);
  serving.push(run);
  for (let i = 0; i < 200 && !run.stderr().includes('asks for your consent once'); i++) await new Promise((r) => setTimeout(r, 50));
  const all = run.stderr();
  return { ...run, banner: all.slice(all.indexOf('Gatehouse demo:')) };
}

async function stop(run: ServeRun): Promise<void> {
  const exited = new Promise((r) => run.child.once('exit', r));
  run.child.kill('SIGTERM');
  await exited;
}

const tokenOf = (banner: string) => /Static bearer token:\s+(\S+)/.exec(banner)?.[1];

async function initialize(base: string, token: string): Promise<number> {
  const res = await fetch(`${base}/demo/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  await res.body?.cancel();
  return res.status;
}

describe('gatehouse serve, the zero-config demo', () => {
  it('keeps its token in dataDir for the next start; GATEHOUSE_TOKEN wins; the passwd hint names --data-dir', async () => {
    const dir = tmp.freshDir();
    const args = ['--listen', '127.0.0.1:0', '--data-dir', 'demo-data'];
    const first = await demo(args, dir);
    const token = tokenOf(first.banner)!;
    expect(token).toBeTruthy();
    const file = join(dir, 'demo-data', 'demo-token');
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.banner).toContain(`kept in ${file}`);
    expect(first.banner).toContain(`delete ${file} to get a new one (restart)`);
    expect(first.banner).toContain('change it: gatehouse users passwd admin --data-dir demo-data)');
    expect(await initialize(first.base, token)).toBe(200);
    await stop(first);

    const second = await demo(args, dir);
    expect(tokenOf(second.banner)).toBe(token);
    expect(second.banner).toContain('reset it: gatehouse users passwd admin --data-dir demo-data)');
    expect(await initialize(second.base, token)).toBe(200);
    await stop(second);

    // The hint as printed acts on the demo's store: the admin user is there.
    const passwd = await runCli(['users', 'passwd', 'admin', '--data-dir', 'demo-data', '--password-stdin'], { cwd: dir, input: 'a new admin password, long enough\n' });
    expect(passwd.status, passwd.stderr).toBe(0);

    const chosen = await demo(args, dir, { GATEHOUSE_TOKEN: 'a-token-chosen-by-the-environment' });
    expect(tokenOf(chosen.banner)).toBe('a-token-chosen-by-the-environment');
    expect(chosen.banner).toContain('from GATEHOUSE_TOKEN');
    expect(await initialize(chosen.base, 'a-token-chosen-by-the-environment')).toBe(200);
    expect(await initialize(chosen.base, token)).toBe(401);
    // The environment's token is not written down; the kept one stays for starts without it.
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
  });

  it('on 0.0.0.0 prints no 0.0.0.0 URL: localhost ones for this machine, and says to set --public-url', async () => {
    const dir = tmp.freshDir();
    const run = await demo(['--listen', '0.0.0.0:0'], dir);
    const port = new URL(run.base).port;
    expect(run.banner).not.toContain('http://0.0.0.0');
    expect(run.banner).toContain(`MCP URL (Streamable HTTP):  http://localhost:${port}/demo/mcp`);
    expect(run.banner).toContain('restart with --public-url');
    // The default dataDir: no --data-dir in the hint.
    expect(run.banner).toContain('change it: gatehouse users passwd admin)');
  });
});

// `gatehouse users hash`: the hash of a password, read as `users add` reads one (--password-stdin
// or a no-echo prompt), for auth.users.NAME.passwordHash in a config file; `serve` signs the user
// in with it. Nothing is stored.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/crypto/index.js';
import { CLI, runCli, servesKilledAfterEach, startServe, tempRoot, TSX } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';
import { loginAndConsent } from './helpers/oauth.js';

const { freshDir, remove } = tempRoot('gh-users-hash-');
afterAll(remove);
const serving = servesKilledAfterEach();

const PASSWORD = 'a long enough passphrase';
const REDIRECT = 'https://app.example/cb';

describe('gatehouse users hash', () => {
  it('prints a hash of the password on stdin that serve signs the user in with from auth.users, and stores nothing', async () => {
    const dir = freshDir();
    const run = await runCli(['users', 'hash', '--password-stdin'], { cwd: dir, input: `${PASSWORD}\nnot read\n` });
    expect(run.status, run.stderr).toBe(0);
    const hash = run.stdout.trim();
    expect(run.stdout).toBe(`${hash}\n`);
    expect(hash).toMatch(/^scrypt\$/);
    expect(verifyPassword(PASSWORD, hash)).toBe(true);
    expect(run.stderr).toContain('auth.users.NAME.passwordHash');
    // No store was opened or made.
    expect(existsSync(join(dir, '.gatehouse'))).toBe(false);
    // Another run, another salt.
    const again = await runCli(['users', 'hash', '--password-stdin'], { cwd: dir, input: `${PASSWORD}\n` });
    expect(again.stdout.trim()).not.toBe(hash);

    const config = join(dir, 'gatehouse.json');
    const doc = {
      listen: '127.0.0.1:0',
      dataDir: join(dir, 'data'),
      auth: { mode: 'oauth', users: { dora: { passwordHash: hash } }, clients: [{ clientId: 'app', clientSecret: 'a-config-secret-long-enough', redirectUris: [REDIRECT], resource: '/mcp', requirePkce: false }] },
      servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } },
    };
    writeFileSync(config, JSON.stringify(doc));
    const served = await startServe(['--config', config], dir);
    serving.push(served);
    const { base } = served;
    const authorize = `${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: 'app', redirect_uri: REDIRECT, scope: 'mcp', state: 'st' }).toString()}`;
    const back = await loginAndConsent(base, authorize, 'dora', PASSWORD);
    expect(back.searchParams.get('code'), back.href).toBeTruthy();
  }, 60_000);

  it('refuses with exit 2 an empty password, or no terminal without --password-stdin, and prints nothing', async () => {
    const dir = freshDir();
    const empty = await runCli(['users', 'hash', '--password-stdin'], { cwd: dir, input: '\n' });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('the password is empty');
    const noTty = await runCli(['users', 'hash'], { cwd: dir });
    expect(noTty.status).toBe(2);
    expect(noTty.stderr).toContain('--password-stdin');
    expect(empty.stdout + noTty.stdout).toBe('');
  });

  it('asks on the terminal twice without echoing the password', async () => {
    const cwd = freshDir();
    // script(1) gives the command a pseudo-terminal; what it prints and echoes comes back on stdout.
    const cmd = [process.execPath, '--import', TSX, CLI, 'users', 'hash'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in:\n${out}`)), 20_000);
        const check = () => {
          if (!out.includes(text)) return;
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve();
        };
        child.stdout.on('data', check);
        check();
      });
    await waitFor('Password:');
    child.stdin.write('Typed-Secret-123\r');
    await waitFor('Repeat it:');
    child.stdin.write('Typed-Secret-123\r');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(out).not.toContain('Typed-Secret-123');
    const hash = /scrypt\$\S+/.exec(out)?.[0];
    expect(hash, out).toBeTruthy();
    expect(verifyPassword('Typed-Secret-123', hash!)).toBe(true);
  });
});

// `gatehouse users ...` as a person runs it: against the store serve would use, exit codes
// per CONTRACT.md, passwords from stdin or a no-echo terminal prompt, and while another
// process holds the database open.
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/crypto/index.js';
import { openStore } from '../src/store/index.js';
import { CLI, runCli, tempRoot, TSX } from './helpers/cli.js';

const { root, freshDir, remove } = tempRoot('gh-users-');
afterAll(remove);

/** Runs `gatehouse users ...` without blocking, so the tests can run side by side. */
const users = (args: string[], opts: { cwd: string; input?: string }) => runCli(['users', ...args], opts);

describe.concurrent('gatehouse users', () => {
  it('adds, lists, changes and removes users in ./.gatehouse when there is no config', async () => {
    const cwd = freshDir();
    const add = await users(['add', 'alice', '--password-stdin'], { cwd, input: 'first password\nignored second line\n' });
    expect(add.stderr).toContain('added user alice');
    expect(add.status).toBe(0);
    expect(statSync(join(cwd, '.gatehouse')).mode & 0o777).toBe(0o700);
    expect(statSync(join(cwd, '.gatehouse', 'gatehouse.db')).mode & 0o777).toBe(0o600);
    expect((await users(['add', 'bob', '--password-stdin'], { cwd, input: 'bobs password' })).status).toBe(0);

    const list = await users(['list'], { cwd });
    expect(list.status).toBe(0);
    expect(list.stdout).toBe('alice\nbob\n');
    const json = JSON.parse((await users(['list', '--json'], { cwd })).stdout) as { name: string; createdAt: string }[];
    expect(json.map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(Date.parse(json[0]!.createdAt)).toBeGreaterThan(0);

    expect((await users(['passwd', 'alice', '--password-stdin'], { cwd, input: 'second password\n' })).status).toBe(0);
    const store = await openStore({ store: { kind: 'sqlite' }, dataDir: join(cwd, '.gatehouse') }, undefined, { sweepIntervalMs: 0 });
    const alice = await store.users.get('alice');
    expect(verifyPassword('second password', alice!.passwordHash)).toBe(true);
    expect(verifyPassword('first password', alice!.passwordHash)).toBe(false);
    await store.close();

    const rm = await users(['remove', 'bob'], { cwd });
    expect(rm.status).toBe(0);
    expect((await users(['list'], { cwd })).stdout).toBe('alice\n');
  });

  it('refuses a duplicate, a bad name, an empty password and a missing user, changing nothing', async () => {
    const cwd = freshDir();
    expect((await users(['add', 'carol', '--password-stdin'], { cwd, input: 'pw-one\n' })).status).toBe(0);
    const dup = await users(['add', 'carol', '--password-stdin'], { cwd, input: 'pw-two\n' });
    expect(dup.status).toBe(1);
    expect(dup.stderr).toContain('already exists');
    const bad = await users(['add', 'not a name', '--password-stdin'], { cwd, input: 'pw\n' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('invalid user name');
    const empty = await users(['add', 'dave', '--password-stdin'], { cwd, input: '\n' });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('empty');
    expect((await users(['remove', 'nobody'], { cwd })).status).toBe(1);
    // No terminal and no --password-stdin: a usage error, not a hang.
    expect((await users(['add', 'erin'], { cwd })).status).toBe(2);
    expect((await users(['list'], { cwd })).stdout).toBe('carol\n');
  });

  it('uses the store of the config file and --data-dir, as serve would', async () => {
    const cwd = freshDir();
    writeFileSync(join(cwd, 'gatehouse.yaml'), 'dataDir: ./state\nauth: { mode: none }\n');
    expect((await users(['add', 'frank', '--password-stdin'], { cwd, input: 'pw\n' })).status).toBe(0);
    expect(existsSync(join(cwd, 'state', 'gatehouse.db'))).toBe(true);
    const other = join(cwd, 'elsewhere');
    expect((await users(['add', 'gina', '--password-stdin', '--data-dir', other], { cwd, input: 'pw\n' })).status).toBe(0);
    expect((await users(['list', '--data-dir', other], { cwd })).stdout).toBe('gina\n');
    expect((await users(['list', '--config', join(cwd, 'gatehouse.yaml')], { cwd: root })).stdout).toBe('frank\n');
    // An invalid config is a config error (exit 2), named.
    writeFileSync(join(cwd, 'broken.yaml'), 'store: mysql\n');
    const broken = await users(['list', '--config', join(cwd, 'broken.yaml')], { cwd });
    expect(broken.status).toBe(2);
    expect(broken.stderr).toContain('store');
    writeFileSync(join(cwd, 'memory.yaml'), 'store: memory\nauth: { mode: none }\n');
    expect((await users(['list', '--config', join(cwd, 'memory.yaml')], { cwd })).status).toBe(2);
  });

  it('works while another process holds the database open and writes to it', async () => {
    const cwd = freshDir();
    const store = await openStore({ store: { kind: 'sqlite' }, dataDir: join(cwd, '.gatehouse') }, undefined, { sweepIntervalMs: 0 });
    await store.users.add('held', (await import('../src/crypto/index.js')).hashPassword('pw'));
    // Keep a write transaction's worth of traffic going from this process meanwhile.
    let stop = false;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        await store.kv.increment('t', 'k', 60_000);
        await store.oauthAdapter('AccessToken').upsert(`t${i++}`, { grantId: 'g' }, 60);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const child = spawn(process.execPath, ['--import', TSX, CLI, 'users', 'add', 'while-serving', '--password-stdin'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end('pw\n');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    stop = true;
    await writer;
    expect(code).toBe(0);
    expect((await store.users.list()).map((u) => u.name)).toEqual(['held', 'while-serving']);
    await store.close();
  });

  it('asks on the terminal without echoing the password', async () => {
    const cwd = freshDir();
    // script(1) gives the command a pseudo-terminal; what it echoes comes back on stdout.
    const cmd = [process.execPath, '--import', TSX, CLI, 'users', 'add', 'tty-user'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in:\n${out}`)), 20_000);
        const check = () => {
          if (out.includes(text)) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('Password for tty-user:');
    child.stdin.write('Typed-Secret-123\r');
    await waitFor('Repeat it:');
    child.stdin.write('Typed-Secret-123\r');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, out).toBe(0);
    expect(out).toContain('added user tty-user');
    expect(out).not.toContain('Typed-Secret-123');
    const store = await openStore({ store: { kind: 'sqlite' }, dataDir: join(cwd, '.gatehouse') }, undefined, { sweepIntervalMs: 0 });
    expect(verifyPassword('Typed-Secret-123', (await store.users.get('tty-user'))!.passwordHash)).toBe(true);
    await store.close();
  });
});

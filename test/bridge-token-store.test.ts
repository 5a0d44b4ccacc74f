// `--token-store keychain` (the default): the token files' key in the OS keychain through the
// optional @napi-rs/keyring, else (logged) the encrypted file store with its key file. This
// machine's keychain is tried for real; whichever way it goes, the test checks that way.
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createFileTokenStore, openKeychainKeySource, openTokenStore, type ServerRecord } from '../src/auth/client/index.js';
import { OAuthStandIn } from './helpers/oauth-stand-in.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const BROWSER = fileURLToPath(new URL('../scripts/conformance/fake-browser.mjs', import.meta.url));

let as: OAuthStandIn;
beforeAll(async () => {
  as = await new OAuthStandIn().start();
});
afterAll(() => as?.close());

const tempDir = () => mkdtempSync(join(tmpdir(), 'gatehouse-store-'));

function run(args: string[], configHome: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, XDG_CONFIG_HOME: configHome }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const record = (token: string): ServerRecord => ({ issuers: { 'https://as.example': { tokens: { access_token: token, token_type: 'Bearer' } } }, lastIssuer: 'https://as.example' });

describe('token store', () => {
  it('login with the default store: the OS keychain when it works here, else the encrypted file (and says so)', async () => {
    // The same entry login uses, so that probing leaves nothing behind that login would not.
    const keychain = await openKeychainKeySource();
    const home = tempDir();
    const login = await run(['login', as.mcpUrl, '--browser-command', `${process.execPath} ${BROWSER}`], home);
    expect(login.code, login.stderr).toBe(0);

    const dir = join(home, 'gatehouse');
    const files = readdirSync(join(dir, 'servers')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const file = join(dir, 'servers', files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const raw = readFileSync(file, 'utf8');
    for (const secret of as.secrets) expect(raw).not.toContain(secret);

    // logout needs no key: it neither asks the keychain nor warns about it.
    const logout = await run(['logout', as.mcpUrl], home);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain('forgot');
    expect(logout.stderr).not.toContain('OS keychain');
    expect(readdirSync(join(dir, 'servers')).filter((f) => f.endsWith('.json'))).toEqual([]);

    if ('unavailable' in keychain) {
      // No Secret Service here (the usual headless Linux): the fallback is said out loud and
      // the key sits in its own 0600 file.
      expect(login.stderr).toContain('OS keychain not available');
      expect(statSync(join(dir, 'key')).mode & 0o777).toBe(0o600);
    } else {
      expect(login.stderr).not.toContain('OS keychain not available');
      expect(existsSync(join(dir, 'key'))).toBe(false);
    }
  }, 60_000);

  it('falls back to the file store, with the reason, when the keychain cannot be opened', async () => {
    const dir = tempDir();
    const reasons: string[] = [];
    const store = await openTokenStore('keychain', { dir, keychain: () => Promise.resolve({ unavailable: 'no Secret Service on the bus' }), onFallback: (r) => reasons.push(r) });
    expect(store.kind).toBe('file');
    expect(reasons).toEqual(['no Secret Service on the bus']);
    await store.write('https://mcp.example/mcp', record('at-fallback'));
    expect(existsSync(join(dir, 'key'))).toBe(true);
    expect((await store.read('https://mcp.example/mcp'))?.issuers['https://as.example']?.tokens?.access_token).toBe('at-fallback');
  });

  it('with a key from a key source, no key file is written and another key cannot read the tokens', async () => {
    const dir = tempDir();
    const key = randomBytes(32);
    const store = createFileTokenStore({ dir, keySource: { description: 'test key', key: () => Promise.resolve(key) } });
    expect(store.kind).toBe('keychain');
    await store.write('https://mcp.example/mcp', record('at-keychain'));
    expect(existsSync(join(dir, 'key'))).toBe(false);
    expect(readdirSync(join(dir, 'servers')).some((f) => readFileSync(join(dir, 'servers', f), 'utf8').includes('at-keychain'))).toBe(false);
    expect((await store.read('https://mcp.example/mcp'))?.lastIssuer).toBe('https://as.example');

    const other = createFileTokenStore({ dir, keySource: { description: 'other key', key: () => Promise.resolve(randomBytes(32)) } });
    expect(await other.read('https://mcp.example/mcp')).toBeUndefined();
    const fileKeyed = createFileTokenStore({ dir });
    expect(await fileKeyed.read('https://mcp.example/mcp')).toBeUndefined();
  });

  it('--token-store memory keeps nothing on disk', async () => {
    const home = tempDir();
    const login = await run(['login', as.mcpUrl, '--browser-command', `${process.execPath} ${BROWSER}`, '--token-store', 'memory'], home);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('memory token store');
    expect(existsSync(join(home, 'gatehouse', 'servers'))).toBe(false);
  }, 60_000);
});

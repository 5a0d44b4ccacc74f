// The store commands (users, clients, tokens) read what they need of the config (the store,
// dataDir, the gateway's routes, its clients' ids), not the secrets serve alone uses: an admin's
// shell without CHATGPT_SECRET can still add a user. And a variable a config file names that
// only ./.env sets is explained (./.env is read only without a config file).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempRoot } from './helpers/cli.js';

const { freshDir, remove } = tempRoot('gh-config-store-refs-');
afterAll(remove);

const PASSWORD = 'a long enough password for alice';

const CONFIG = [
  'dataDir: ./data',
  'auth:',
  '  tokens: ["${GH_TOKEN}"]',
  '  clients:',
  '    - { clientId: chatgpt, clientSecret: env:CHATGPT_SECRET, redirectUris: ["https://chatgpt.com/aip/g-1/oauth/callback"], resource: /api, requirePkce: false }',
  'servers:',
  '  corp: { url: env:UPSTREAM_URL, headers: { Cookie: "LtpaToken2=env:LTPA_TOKEN" } }',
  '',
].join('\n');

for (const name of ['CHATGPT_SECRET', 'LTPA_TOKEN', 'UPSTREAM_URL', 'DATABASE_URL', 'GH_TOKEN', 'OAUTH_CLIENT_SECRET']) {
  if (process.env[name] !== undefined) throw new Error(`unset ${name} to run these tests`);
}

describe('store commands and references they do not use', () => {
  it('users add, users list, clients list and tokens list work with a client secret, a header and a URL unset', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'gatehouse.yaml'), CONFIG);
    // None of CHATGPT_SECRET, LTPA_TOKEN, UPSTREAM_URL, GH_TOKEN is set (an empty one would count as set).
    const env = {};
    const add = await runCli(['users', 'add', 'alice', '--password-stdin'], { cwd: dir, input: `${PASSWORD}\n`, env });
    expect(add.stderr).not.toContain('is not set');
    expect(add.status, add.stderr).toBe(0);
    const list = await runCli(['users', 'list'], { cwd: dir, env });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain('alice');
    const clients = await runCli(['clients', 'list'], { cwd: dir, env });
    expect(clients.status, clients.stderr).toBe(0);
    expect(clients.stdout + clients.stderr).toContain('chatgpt');
    const tokens = await runCli(['tokens', 'list'], { cwd: dir, env });
    expect(tokens.status, tokens.stderr).toBe(0);
    // serve and config check still need every one of them.
    const check = await runCli(['config', 'check'], { cwd: dir, env });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain('auth.clients[0].clientSecret: environment variable CHATGPT_SECRET is not set');
    expect(check.stderr).toContain('servers.corp.url: environment variable UPSTREAM_URL is not set');
  });

  it('still says so when what they need is a reference that is not set (store: env:DATABASE_URL)', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'gatehouse.yaml'), `store: env:DATABASE_URL\n${CONFIG}`);
    const list = await runCli(['users', 'list'], { cwd: dir });
    expect(list.status).toBe(2);
    expect(list.stderr).toContain('store: environment variable DATABASE_URL is not set');
    expect(list.stderr).not.toContain('CHATGPT_SECRET');
  });
});

describe('a variable only ./.env sets, with a config file', () => {
  it('says that ./.env is read only without a config file, and what to do', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, '.env'), 'DOWNSTREAM_MCP_URL=https://downstream.example/mcp\nOAUTH_CLIENT_ID=cid\nOAUTH_CLIENT_SECRET=from-dotenv\nLTPA_TOKEN=ltpa\n');
    const migrated = await runCli(['config', 'migrate', '.env'], { cwd: dir });
    expect(migrated.status, migrated.stderr).toBe(0);
    writeFileSync(join(dir, 'gatehouse.yaml'), migrated.stdout);
    const check = await runCli(['config', 'check'], { cwd: dir });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain(
      'environment variable OAUTH_CLIENT_SECRET is not set (./.env sets it, but ./.env is read only when there is no config file: export it, or use file:)',
    );
    const serve = await runCli(['serve', '--listen', '127.0.0.1:0'], { cwd: dir });
    expect(serve.status).toBe(2);
    expect(serve.stderr).toContain('LTPA_TOKEN is not set (./.env sets it, but ./.env is read only when there is no config file');
  });
});

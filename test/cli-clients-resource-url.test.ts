// `gatehouse clients add|update --resource URL`: a protected resource named by its absolute URL is
// kept as its path, which `serve` resolves against the issuer it runs with (as it does /api), so
// that a URL of the wrong origin, or one publicUrl later changes, does not break every sign-in
// with invalid_target. A URL of another origin than the config's publicUrl is refused. Run as a
// person runs it: the CLI as a child on the real SQLite store, `serve` as a child.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import { runCli, startServe, tempRoot, type CliRun, servesKilledAfterEach } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';
import { loginAndConsent, tokenRequest as token } from './helpers/oauth.js';

const { freshDir, remove } = tempRoot('gh-client-resource-url-');
afterAll(remove);
const serving = servesKilledAfterEach();

const PASSWORD = 'a long enough passphrase';
const ACTIONS_REDIRECT = 'https://chat.openai.com/aip/g-test/oauth/callback';

interface Client {
  clientId: string;
  clientSecret?: string;
  resource: string | null;
  changed?: string[];
}

/** A working directory with a config naming one stdio server (so /api exists), `extra` on top. */
function setup(extra: Record<string, unknown> = {}): { dir: string; config: string; gatehouse: (args: string[], input?: string) => Promise<CliRun> } {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  const doc = { listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'oauth' }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } }, ...extra };
  writeFileSync(config, JSON.stringify(doc));
  return { dir, config, gatehouse: (args, input) => runCli([...args, '--config', config], { cwd: dir, ...(input === undefined ? {} : { input }) }) };
}

const ok = (run: CliRun): Client => {
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Client;
};

async function storedResource(dir: string, clientId: string): Promise<unknown> {
  const store = await openStore({ store: { kind: 'sqlite' }, dataDir: join(dir, 'data') }, undefined, { sweepIntervalMs: 0 });
  try {
    return (await store.oauthAdapter('Client').find(clientId))?.gatehouse_resource;
  } finally {
    await store.close();
  }
}

const ACTIONS = ['clients', 'add', '--name', 'ChatGPT', '--redirect-uri', ACTIONS_REDIRECT, '--confidential', '--no-pkce'];

describe.concurrent('gatehouse clients --resource URL', () => {
  it('clients add keeps a URL as its path, and the client signs in at a gateway of another origin', async () => {
    const { dir, config, gatehouse } = setup();
    expect((await gatehouse(['users', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).status).toBe(0);
    const run = await gatehouse([...ACTIONS, '--resource', 'https://mcp.example.com/api', '--json']);
    const client = ok(run);
    expect(client.resource).toBe('/api');
    expect(run.stderr).toContain('resource: /api (https://mcp.example.com/api, kept as its path');
    expect(await storedResource(dir, client.clientId)).toBe('/api');
    const text = await gatehouse([...ACTIONS, '--resource', 'https://mcp.example.com/api']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stderr).toContain('resource: /api (https://mcp.example.com/api, kept as its path');

    // serve at http://127.0.0.1:PORT: the token is for its /api, not refused as invalid_target.
    const served = await startServe(['--config', config], dir);
    serving.push(served);
    const { base } = served;
    const authorize = `${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: ACTIONS_REDIRECT, scope: 'mcp', state: 'st' }).toString()}`;
    const back = await loginAndConsent(base, authorize, 'alice', PASSWORD);
    expect(back.searchParams.get('error'), back.href).toBeNull();
    const code = back.searchParams.get('code');
    expect(code, back.href).toBeTruthy();
    const exchanged = await token(base, { grant_type: 'authorization_code', code: code!, redirect_uri: ACTIONS_REDIRECT, client_id: client.clientId, client_secret: client.clientSecret! });
    expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
    const rest = await fetch(`${base}/api/tools/raw__echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${exchanged.json.access_token as string}` },
      body: '{"said":"hi"}',
    });
    expect(rest.status, await rest.clone().text()).toBe(200);
  }, 90_000);

  it('clients update keeps a URL as its path; the same path is no change', async () => {
    const { dir, gatehouse } = setup();
    const client = ok(await gatehouse([...ACTIONS, '--resource', '/raw/api', '--json']));
    const updated = ok(await gatehouse(['clients', 'update', client.clientId, '--resource', 'http://localhost:8080/api', '--json']));
    expect(updated).toMatchObject({ resource: '/api', changed: ['resource /api'] });
    expect(await storedResource(dir, client.clientId)).toBe('/api');
    const again = ok(await gatehouse(['clients', 'update', client.clientId, '--resource', 'https://mcp.example.com/api', '--json']));
    expect(again).toMatchObject({ resource: '/api', changed: [] });
  });

  it("with publicUrl in the config: its URLs are kept as paths, another origin's are refused (exit 2)", async () => {
    const { dir, gatehouse } = setup({ publicUrl: 'https://gw.example' });
    const client = ok(await gatehouse([...ACTIONS, '--resource', 'https://gw.example/api', '--json']));
    expect(client.resource).toBe('/api');
    expect(await storedResource(dir, client.clientId)).toBe('/api');
    for (const args of [
      [...ACTIONS, '--resource', 'https://mcp.example.com/api'],
      ['clients', 'update', client.clientId, '--resource', 'https://mcp.example.com/raw/api'],
    ]) {
      const refused = await gatehouse(args);
      expect(refused.status, refused.stderr).toBe(2);
      expect(refused.stderr).toContain('not a URL of this gateway (https://gw.example)');
      expect(refused.stdout).toBe('');
    }
    expect(await storedResource(dir, client.clientId)).toBe('/api');
    const list = await gatehouse(['clients', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toHaveLength(1);
  });
});

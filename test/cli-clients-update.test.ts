// `gatehouse clients update ID`: a client added with `clients add` changed in place (same id,
// same secret unless rotated), under the rules of `add`. Run as a person runs it: the CLI as a
// child on the real SQLite store, and `gatehouse serve` as a child that is never restarted.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import { runCli, startServe, tempRoot, type CliRun, servesKilledAfterEach } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';
import { loginAndConsent as signIn, tokenRequest as token } from './helpers/oauth.js';

const { freshDir, remove } = tempRoot('gh-client-update-');
afterAll(remove);
const serving = servesKilledAfterEach();

const PASSWORD = 'a long enough passphrase';
const loginAndConsent = (base: string, url: string): Promise<URL> => signIn(base, url, 'alice', PASSWORD);
// What the GPT editor shows only after the action is saved, and what the operator guessed before.
const GUESSED = 'https://chat.openai.com/aip/g-guessed/oauth/callback';
const SHOWN = 'https://chatgpt.com/aip/g-real/oauth/callback';

interface Client {
  clientId: string;
  clientSecret?: string;
  name: string;
  redirectUris: string[];
  confidential: boolean;
  grants: string[];
  resource: string | null;
  requirePkce: boolean;
  changed?: string[];
}

/** A working directory with a config naming one stdio server (so /api exists), an auth.clients entry, and its data dir. */
function setup(): { dir: string; config: string; dataDir: string; gatehouse: (args: string[], input?: string) => Promise<CliRun> } {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  const dataDir = join(dir, 'data');
  const doc = {
    listen: '127.0.0.1:0',
    dataDir,
    auth: { mode: 'oauth', clients: [{ clientId: 'from-config', clientSecret: 'a-config-secret-long-enough', redirectUris: [GUESSED] }] },
    servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } },
  };
  writeFileSync(config, JSON.stringify(doc));
  return { dir, config, dataDir, gatehouse: (args, input) => runCli([...args, '--config', config], { cwd: dir, ...(input === undefined ? {} : { input }) }) };
}

const ok = (run: CliRun): Client => {
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Client;
};

/** Every OAuth row of the store as it lies in the database file. */
function rows(dataDir: string): unknown[] {
  const db = new Database(join(dataDir, 'gatehouse.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM gatehouse_oauth_records ORDER BY model, key').all();
  } finally {
    db.close();
  }
}

describe.concurrent('gatehouse clients update, on the store', () => {
  it('changes what it is told and keeps the id, the secret and the rest; clients list shows it', async () => {
    const { dataDir, gatehouse } = setup();
    const added = ok(await gatehouse(['clients', 'add', '--name', 'ChatGPT', '--redirect-uri', GUESSED, '--confidential', '--resource', '/api', '--no-pkce', '--json']));
    const read = async () => {
      const store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
      try {
        return (await store.oauthAdapter('Client').find(added.clientId))!;
      } finally {
        await store.close();
      }
    };
    const before = await read();

    const moved = await gatehouse(['clients', 'update', added.clientId, '--redirect-uri', SHOWN, '--redirect-uri', SHOWN.replace('g-real', 'g-real2')]);
    expect(moved.status, moved.stderr).toBe(0);
    expect(moved.stdout).toBe(''); // no secret rotated: nothing to paste
    expect(moved.stderr).toContain(`updated client "ChatGPT" (${added.clientId})`);
    expect(moved.stderr).toContain(`redirect URIs ${SHOWN}, ${SHOWN.replace('g-real', 'g-real2')}`);
    const after = await read();
    expect(after).toEqual({ ...before, redirect_uris: [SHOWN, SHOWN.replace('g-real', 'g-real2')] });

    const more = ok(await gatehouse(['clients', 'update', added.clientId, '--add-redirect-uri', GUESSED, '--name', 'ChatGPT 2', '--no-resource', '--pkce', '--json']));
    expect(more).toMatchObject({
      clientId: added.clientId,
      name: 'ChatGPT 2',
      redirectUris: [SHOWN, SHOWN.replace('g-real', 'g-real2'), GUESSED],
      confidential: true,
      resource: null,
      requirePkce: true,
    });
    expect(more.clientSecret).toBeUndefined();
    const stored = await read();
    expect(stored.client_secret).toBe(before.client_secret);
    expect(stored.client_id_issued_at).toBe(before.client_id_issued_at);
    // Back to the defaults: not written, as `add` does not write them.
    expect(stored).not.toHaveProperty('gatehouse_resource');
    expect(stored).not.toHaveProperty('gatehouse_require_pkce');

    const machine = ok(await gatehouse(['clients', 'update', added.clientId, '--grants', 'client_credentials', '--resource', '/raw/api', '--json']));
    expect(machine).toMatchObject({ grants: ['client_credentials'], resource: '/raw/api' });
    expect(await read()).toMatchObject({ grant_types: ['client_credentials'], response_types: [], gatehouse_resource: '/raw/api' });

    // Asked for what it already is: nothing written.
    const rowsBefore = rows(dataDir);
    const same = await gatehouse(['clients', 'update', added.clientId, '--name', 'ChatGPT 2']);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stderr).toContain('nothing changed');
    expect(rows(dataDir)).toEqual(rowsBefore);

    const text = (await gatehouse(['clients', 'list'])).stdout;
    expect(text).toMatch(new RegExp(`${added.clientId}  ChatGPT 2  confidential  grants client_credentials  resource /raw/api  created`));
  });

  it('refuses an unknown id, a config client, no flags and bad values with exit 2, naming every problem, and writes nothing', async () => {
    const { dataDir, gatehouse } = setup();
    const conf = ok(await gatehouse(['clients', 'add', '--name', 'Conf', '--redirect-uri', GUESSED, '--confidential', '--json']));
    const pub = ok(await gatehouse(['clients', 'add', '--name', 'Pub', '--redirect-uri', 'http://127.0.0.1/callback', '--json']));
    const before = rows(dataDir);
    expect(before.length).toBe(2);

    const cases: [string[], string[]][] = [
      [['0123456789abcdef', '--name', 'X'], ['no client with id 0123456789abcdef']],
      [['from-config', '--redirect-uri', SHOWN], ['from-config', 'config file (auth.clients)', 'edit it there']],
      [['https://client.example/metadata.json', '--name', 'X'], ['client ID metadata document']],
      [[conf.clientId], ['say what to change', '--redirect-uri', '--rotate-secret']],
      [[pub.clientId, '--no-pkce'], ['--no-pkce', 'only a confidential client', `client ${pub.clientId} is public`]],
      [[pub.clientId, '--rotate-secret'], ['--rotate-secret', 'public']],
      [[pub.clientId, '--grants', 'client_credentials'], ['--grants', 'client_credentials needs a clientSecret']],
      // Every bad value at once.
      [
        [conf.clientId, '--redirect-uri', 'http://evil.example/cb', '--redirect-uri', 'https://ok.example/cb#frag', '--grants', 'authorization_code,password', '--resource', 'api', '--name', ' '],
        ['--redirect-uri http://evil.example/cb', '--redirect-uri https://ok.example/cb#frag: has a fragment', '--grants password', '--resource api', '--name: required'],
      ],
      [[conf.clientId, '--add-redirect-uri', 'javascript:alert(1)'], ['--add-redirect-uri javascript:alert(1)']],
      [[conf.clientId, '--grants', 'refresh_token'], ['--grants', 'refresh_token comes with authorization_code']],
      [[conf.clientId, '--resource', '/nope'], ['--resource /nope: not a protected resource', '/raw/api']],
      [[conf.clientId, '--pkce', '--no-pkce', '--resource', '/api', '--no-resource'], ['--pkce and --no-pkce: give one', '--resource and --no-resource: give one']],
      [[conf.clientId, '--redirect-uri', SHOWN, '--add-redirect-uri', SHOWN], ['--redirect-uri and --add-redirect-uri: give one']],
    ];
    const runs = await Promise.all(cases.map(([args]) => gatehouse(['clients', 'update', ...args])));
    runs.forEach((run, i) => {
      const [args, says] = cases[i]!;
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(2);
      for (const s of says) expect(run.stderr, args.join(' ')).toContain(s);
      expect(run.stdout).toBe('');
    });
    expect(rows(dataDir)).toEqual(before);
  });
});

const restCall = (base: string, bearer: string) =>
  fetch(`${base}/api/tools/raw__echo`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: '{"said":"hi"}' });

describe('clients update against a running `gatehouse serve` (never restarted)', () => {
  it('a new redirect URI works and the old one is refused; a rotated secret replaces the old one; tokens issued before stay valid', async () => {
    const { dir, config, gatehouse } = setup();
    expect((await gatehouse(['users', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).status).toBe(0);
    // ChatGPT Actions as the README sets them up, with the callback URL guessed before the GPT editor showed it.
    const client = ok(await gatehouse(['clients', 'add', '--name', 'ChatGPT', '--redirect-uri', GUESSED, '--confidential', '--resource', '/api', '--no-pkce', '--json']));
    const run = await startServe(['--config', config], dir);
    serving.push(run);
    const { base } = run;
    const authorize = (redirectUri: string) =>
      `${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: client.clientId, redirect_uri: redirectUri, scope: 'mcp', state: 'st' }).toString()}`;
    /** The code flow as ChatGPT Actions run it (no PKCE, the secret in the body). */
    const signIn = async (redirectUri: string, secret: string) => {
      const back = await loginAndConsent(base, authorize(redirectUri));
      expect(back.origin + back.pathname).toBe(redirectUri);
      const code = back.searchParams.get('code');
      expect(code, back.href).toBeTruthy();
      const exchanged = await token(base, { grant_type: 'authorization_code', code: code!, redirect_uri: redirectUri, client_id: client.clientId, client_secret: secret });
      expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
      return { access: exchanged.json.access_token as string, refresh: exchanged.json.refresh_token as string };
    };
    const refresh = (refreshToken: string, secret: string) =>
      token(base, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: client.clientId, client_secret: secret });

    const first = await signIn(GUESSED, client.clientSecret!);

    // The GPT editor shows another callback URL: the same client_id and secret, a new redirect URI.
    const moved = await gatehouse(['clients', 'update', client.clientId, '--redirect-uri', SHOWN]);
    expect(moved.status, moved.stderr).toBe(0);
    const refused = await fetch(authorize(GUESSED), { redirect: 'manual' });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('location')).toBeNull(); // never sent to a redirect URI it no longer has
    expect(await refused.text()).toContain('redirect_uri');
    const second = await signIn(SHOWN, client.clientSecret!);
    expect((await restCall(base, second.access)).status).toBe(200);
    // The grant made with the old redirect URI stands.
    expect((await restCall(base, first.access)).status).toBe(200);

    const rotated = await gatehouse(['clients', 'update', client.clientId, '--rotate-secret']);
    expect(rotated.status, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(new RegExp(`^client_id: ${client.clientId}\nclient_secret: [A-Za-z0-9_-]{43}\n$`));
    const newSecret = /client_secret: (\S+)/.exec(rotated.stdout)![1]!;
    expect(newSecret).not.toBe(client.clientSecret);
    expect(rotated.stderr).toContain(`gatehouse tokens revoke --client ${client.clientId}`);

    const oldSecret = await refresh(second.refresh, client.clientSecret!);
    expect(oldSecret.status).toBe(401);
    expect(oldSecret.json.error).toBe('invalid_client');
    const newOne = await refresh(second.refresh, newSecret);
    expect(newOne.status, JSON.stringify(newOne.json)).toBe(200);
    expect((await restCall(base, newOne.json.access_token as string)).status).toBe(200);
    // Not revoked by the rotation (a choice: `tokens revoke --client` ends them).
    expect((await restCall(base, second.access)).status).toBe(200);
    expect((await refresh(first.refresh, newSecret)).status).toBe(200);
    // A whole new sign-in with the new secret, on the redirect URI the update gave.
    await signIn(SHOWN, newSecret);
    // The old secret in a Basic header (the other token exchange method) fails as well.
    const stale = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret!}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh }).toString(),
    });
    expect(stale.status).toBe(401);

    // A client that registered itself (DCR) is not the operator's to change.
    const registered = await fetch(`${base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], client_name: 'Claude' }),
    });
    expect(registered.status).toBe(201);
    const dcr = (await registered.json()) as { client_id: string };
    const refusedDcr = await gatehouse(['clients', 'update', dcr.client_id, '--redirect-uri', SHOWN]);
    expect(refusedDcr.status).toBe(2);
    expect(refusedDcr.stderr).toContain('registered itself (dynamic client registration)');
    const stillThere = await fetch(
      `${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: dcr.client_id, redirect_uri: SHOWN, scope: 'mcp', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString()}`,
      { redirect: 'manual' },
    );
    expect(stillThere.status).toBe(400);
  }, 120_000);
});

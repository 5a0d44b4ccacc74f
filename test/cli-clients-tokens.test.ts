// `gatehouse clients ...` and `gatehouse tokens ...` as a person runs them: against the SQLite
// store serve would use, exit codes per CONTRACT.md, secrets shown once and never listed,
// token values never shown; and a client added here works against the real gateway.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SUCCESSOR_MODEL } from '../src/auth/server/refresh-grace.js';
import { hashPassword } from '../src/crypto/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { runCli, tempRoot, type CliRun } from './helpers/cli.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';

const { root, freshDir, remove } = tempRoot('gh-clients-');
afterAll(remove);

type Run = CliRun;

/** Runs `gatehouse ...` with `--data-dir DIR` appended, without blocking. */
const gatehouse = (dataDir: string, args: string[]): Promise<Run> => runCli([...args, '--data-dir', dataDir], { cwd: root });

const open = (dataDir: string) => openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });

interface AddedClient {
  clientId: string;
  clientSecret?: string;
  applicationType: string;
}

interface ListedClient {
  clientId: string;
  name: string;
  redirectUris: string[];
  confidential: boolean;
  grants: string[];
  createdAt: string;
}

interface ListedToken {
  model: string;
  id: string;
  user: string | null;
  client: string | null;
  grant: string | null;
  expiresAt: string | null;
}

/** A grant with an access and a refresh token, as oidc-provider would store them. */
async function issue(store: Store, accountId: string, clientId: string, tag: string): Promise<string[]> {
  const grantId = `grant-${tag}`;
  const access = `access-token-value-${tag}`;
  const refresh = `refresh-token-value-${tag}`;
  await store.oauthAdapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId, clientId }, 3600);
  await store.oauthAdapter('AccessToken').upsert(access, { jti: access, kind: 'AccessToken', accountId, clientId, grantId }, 3600);
  await store.oauthAdapter('RefreshToken').upsert(refresh, { jti: refresh, kind: 'RefreshToken', accountId, clientId, grantId }, 86_400);
  return [access, refresh];
}

describe.concurrent('gatehouse clients', () => {
  it('adds public and confidential clients, lists them without secrets, removes them', async () => {
    const dir = join(freshDir(), 'data');
    const pub = await gatehouse(dir, ['clients', 'add', '--name', 'Desk App', '--redirect-uri', 'http://127.0.0.1/callback', '--redirect-uri', 'cursor://example.app/cb', '--json']);
    expect(pub.status, pub.stderr).toBe(0);
    const added = JSON.parse(pub.stdout) as AddedClient;
    expect(added.clientSecret).toBeUndefined();
    expect(added.applicationType).toBe('native');

    const conf = await gatehouse(dir, ['clients', 'add', '--name', 'Actions', '--redirect-uri', 'https://chat.example.com/oauth/callback', '--confidential']);
    expect(conf.status, conf.stderr).toBe(0);
    const confId = /^client_id: (\S+)$/m.exec(conf.stdout)![1]!;
    const secret = /^client_secret: (\S+)$/m.exec(conf.stdout)![1]!;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(conf.stderr).not.toContain(secret);

    // The store has the shape oidc-provider reads, and only a hash of the secret.
    const store = await open(dir);
    const stored = await store.oauthAdapter('Client').find(confId);
    expect(stored).toMatchObject({
      client_id: confId,
      client_name: 'Actions',
      redirect_uris: ['https://chat.example.com/oauth/callback'],
      response_types: ['code'],
      // A secret alone gives no client_credentials (tokens with no user): --grant client_credentials does.
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic',
      application_type: 'web',
    });
    expect(stored!.client_secret).toMatch(/^sha256\$/);
    expect(await store.oauthAdapter('Client').find(added.clientId)).toMatchObject({ token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] });
    await issue(store, 'alice', confId, 'c1');
    await issue(store, 'bob', added.clientId, 'p1');
    await store.close();
    expect(readFileSync(join(dir, 'gatehouse.db')).includes(Buffer.from(secret))).toBe(false);

    const list = await gatehouse(dir, ['clients', 'list', '--json']);
    expect(list.status).toBe(0);
    expect(list.stdout).not.toContain(secret);
    expect(list.stdout).not.toContain('sha256$');
    const listed = JSON.parse(list.stdout) as ListedClient[];
    expect(listed.map((c) => c.clientId).sort()).toEqual([added.clientId, confId].sort());
    const desk = listed.find((c) => c.clientId === added.clientId)!;
    expect(desk).toMatchObject({ name: 'Desk App', redirectUris: ['http://127.0.0.1/callback', 'cursor://example.app/cb'], confidential: false, grants: ['authorization_code', 'refresh_token'] });
    expect(listed.find((c) => c.clientId === confId)).toMatchObject({ confidential: true, grants: ['authorization_code', 'refresh_token'] });
    expect(Date.parse(desk.createdAt)).toBeGreaterThan(0);
    const text = await gatehouse(dir, ['clients', 'list']);
    expect(text.stdout).toContain('Actions');
    expect(text.stdout).toContain('https://chat.example.com/oauth/callback');
    expect(text.stdout).not.toContain('sha256$');

    const rm = await gatehouse(dir, ['clients', 'remove', confId]);
    expect(rm.status, rm.stderr).toBe(0);
    expect(rm.stderr).toContain('3 of its grants and tokens');
    const after = JSON.parse((await gatehouse(dir, ['clients', 'list', '--json'])).stdout) as ListedClient[];
    expect(after.map((c) => c.clientId)).toEqual([added.clientId]);
    const check = await open(dir);
    expect(await check.oauthAdapter('Client').find(confId)).toBeUndefined();
    expect(await check.listOAuth({ clientId: confId })).toEqual([]);
    // The other client's tokens are untouched.
    expect(await check.listOAuth({ clientId: added.clientId, models: ['Grant', 'AccessToken', 'RefreshToken'] })).toHaveLength(3);
    await check.close();

    const unknown = await gatehouse(dir, ['clients', 'remove', confId]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`no client with id ${confId}`);
  });

  it('refuses bad redirect URIs and missing flags with exit 2, naming each, and writes nothing', async () => {
    const dir = join(freshDir(), 'data');
    const bad = await gatehouse(dir, [
      'clients', 'add', '--name', 'Bad',
      '--redirect-uri', 'http://example.com/cb',
      '--redirect-uri', 'https://ok.example/cb#frag',
      '--redirect-uri', '/relative/cb',
      '--redirect-uri', 'javascript:alert(1)',
    ]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('http://example.com/cb');
    expect(bad.stderr).toContain('fragment');
    expect(bad.stderr).toContain('/relative/cb: is not an absolute URI');
    expect(bad.stderr).toContain('javascript');
    const noName = await gatehouse(dir, ['clients', 'add', '--redirect-uri', 'https://ok.example/cb']);
    expect(noName.status).toBe(2);
    expect(noName.stderr).toContain('--name');
    const noUri = await gatehouse(dir, ['clients', 'add', '--name', 'X']);
    expect(noUri.status).toBe(2);
    expect(noUri.stderr).toContain('--redirect-uri');
    expect((await gatehouse(dir, ['clients', 'add', '--name', 'X', '--redirect-uri', 'https://ok.example/cb', '--bogus'])).status).toBe(2);
    const badGrant = await gatehouse(dir, ['clients', 'add', '--name', 'X', '--redirect-uri', 'https://ok.example/cb', '--grant', 'password']);
    expect(badGrant.status).toBe(2);
    expect(badGrant.stderr).toContain('--grant password');
    expect((await gatehouse(dir, ['clients', 'remove'])).status).toBe(2);
    const list = await gatehouse(dir, ['clients', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});

describe.concurrent('gatehouse tokens', () => {
  it('lists grants and tokens without their values and revokes by user, by client and all', async () => {
    const dir = join(freshDir(), 'data');
    const store = await open(dir);
    const values = [
      ...(await issue(store, 'alice', 'client-a', 'a1')),
      ...(await issue(store, 'alice', 'client-b', 'a2')),
      ...(await issue(store, 'bob', 'client-a', 'b1')),
      ...(await issue(store, 'carol', 'client-c', 'c1')),
    ];
    await store.oauthAdapter('AuthorizationCode').upsert('code-value-x', { jti: 'code-value-x', accountId: 'bob', clientId: 'client-c', grantId: 'grant-x' }, 60);
    // Not a token: stays.
    await store.oauthAdapter('Session').upsert('session-1', { jti: 'session-1', uid: 'u1', accountId: 'alice' }, 3600);
    await store.close();

    const list = await gatehouse(dir, ['tokens', 'list', '--json']);
    expect(list.status, list.stderr).toBe(0);
    for (const v of [...values, 'code-value-x']) expect(list.stdout).not.toContain(v);
    const rows = JSON.parse(list.stdout) as ListedToken[];
    expect(rows).toHaveLength(13);
    expect(rows.filter((r) => r.model === 'Grant').map((r) => r.grant).sort()).toEqual(['grant-a1', 'grant-a2', 'grant-b1', 'grant-c1']);
    const access = rows.find((r) => r.model === 'AccessToken' && r.user === 'bob')!;
    expect(access).toMatchObject({ client: 'client-a', grant: 'grant-b1' });
    expect(access.id).toMatch(/^sha256:[A-Za-z0-9_-]{12}$/);
    expect(Date.parse(access.expiresAt!)).toBeGreaterThan(Date.now());
    const text = await gatehouse(dir, ['tokens', 'list']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/RefreshToken\s+sha256:[A-Za-z0-9_-]{12}\s+carol\s+client-c\s+grant-c1/);
    for (const v of values) expect(text.stdout).not.toContain(v);

    const byUser = await gatehouse(dir, ['tokens', 'revoke', '--user', 'alice']);
    expect(byUser.status, byUser.stderr).toBe(0);
    expect(byUser.stdout).toContain('revoked 6');
    const byClient = await gatehouse(dir, ['tokens', 'revoke', '--client', 'client-a', '--json']);
    expect(JSON.parse(byClient.stdout)).toEqual({ revoked: 3 });
    const check = await open(dir);
    expect(await check.listOAuth({ accountId: 'alice', models: ['Grant', 'AccessToken', 'RefreshToken'] })).toEqual([]);
    expect(await check.oauthAdapter('AccessToken').find(values[0]!)).toBeUndefined();
    expect(await check.listOAuth({ clientId: 'client-a' })).toEqual([]);
    expect(await check.oauthAdapter('RefreshToken').find(values[7]!)).toMatchObject({ accountId: 'carol' });
    expect(await check.oauthAdapter('Session').find('session-1')).toBeDefined();
    await check.close();

    const all = await gatehouse(dir, ['tokens', 'revoke', '--all']);
    expect(all.stdout).toContain('revoked 4'); // carol's three and the code
    expect(JSON.parse((await gatehouse(dir, ['tokens', 'list', '--json'])).stdout)).toEqual([]);
    const last = await open(dir);
    expect(await last.oauthAdapter('Session').find('session-1')).toBeDefined();
    await last.close();
  });

  it('neither lists nor counts refresh-grace records, and revokes them with their tokens', async () => {
    const dir = join(freshDir(), 'data');
    const store = await open(dir);
    const [, aliceRefresh] = await issue(store, 'alice', 'client-a', 'a1');
    const [, bobRefresh] = await issue(store, 'bob', 'client-b', 'b1');
    // The first answer to a refresh, kept for its grace window under the used refresh token, as
    // refresh-grace.ts keeps it: the same key as that token's own row, with its user, client and grant.
    const successors = store.oauthAdapter(SUCCESSOR_MODEL);
    await successors.insertIfAbsent(aliceRefresh!, { clientId: 'client-a', grantId: 'grant-a1', accountId: 'alice', response: 'sealed-answer-a1' }, 40);
    await successors.insertIfAbsent(bobRefresh!, { clientId: 'client-b', grantId: 'grant-b1', accountId: 'bob', response: 'sealed-answer-b1' }, 40);
    await store.close();

    const list = await gatehouse(dir, ['tokens', 'list', '--json']);
    expect(list.status, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as ListedToken[];
    expect(rows.map((r) => r.model).sort()).toEqual(['AccessToken', 'AccessToken', 'Grant', 'Grant', 'RefreshToken', 'RefreshToken']);
    // One row per ID: the refresh token's ID is not shown a second time for its successor.
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    const text = await gatehouse(dir, ['tokens', 'list']);
    expect(text.stdout).not.toContain(SUCCESSOR_MODEL);
    expect(text.stdout.trim().split('\n')).toHaveLength(7); // the heading and six rows

    // Revoked with their user's tokens, and not counted: the count is what the list showed.
    const byUser = await gatehouse(dir, ['tokens', 'revoke', '--user', 'alice']);
    expect(byUser.status, byUser.stderr).toBe(0);
    expect(byUser.stdout).toContain('revoked 3 grants and tokens of user alice');
    const check = await open(dir);
    expect(await check.listOAuth({ models: [SUCCESSOR_MODEL] })).toEqual([expect.objectContaining({ accountId: 'bob', grantId: 'grant-b1' })]);
    await check.close();
    const all = await gatehouse(dir, ['tokens', 'revoke', '--all', '--json']);
    expect(JSON.parse(all.stdout)).toEqual({ revoked: 3 });
    const last = await open(dir);
    expect(await last.listOAuth()).toEqual([]);
    await last.close();
  });

  it('users passwd and clients remove count what tokens list shows, and delete the refresh-grace records too', async () => {
    const dir = join(freshDir(), 'data');
    // A client of the store for `clients remove` to find, added as a person adds one.
    const added = await gatehouse(dir, ['clients', 'add', '--name', 'Desk', '--redirect-uri', 'http://127.0.0.1/callback', '--json']);
    expect(added.status, added.stderr).toBe(0);
    const { clientId } = JSON.parse(added.stdout) as AddedClient;
    const store = await open(dir);
    await store.users.add('alice', hashPassword('alice password, long enough'));
    const [, aliceRefresh] = await issue(store, 'alice', 'client-a', 'a1');
    const [, bobRefresh] = await issue(store, 'bob', clientId, 'b1');
    const successors = store.oauthAdapter(SUCCESSOR_MODEL);
    await successors.insertIfAbsent(aliceRefresh!, { clientId: 'client-a', grantId: 'grant-a1', accountId: 'alice', response: 'sealed-answer-a1' }, 40);
    await successors.insertIfAbsent(bobRefresh!, { clientId, grantId: 'grant-b1', accountId: 'bob', response: 'sealed-answer-b1' }, 40);
    await store.close();

    // What the list shows: three of alice's, three of the client's.
    const rows = JSON.parse((await gatehouse(dir, ['tokens', 'list', '--json'])).stdout) as ListedToken[];
    expect(rows.filter((r) => r.user === 'alice')).toHaveLength(3);
    expect(rows.filter((r) => r.client === clientId)).toHaveLength(3);

    const passwd = await runCli(['users', 'passwd', 'alice', '--password-stdin', '--data-dir', dir], { cwd: root, input: 'a new password for alice\n' });
    expect(passwd.status, passwd.stderr).toBe(0);
    expect(passwd.stderr).toContain('changed the password of alice; revoked 3 grants and tokens (in sqlite ');
    const check = await open(dir);
    expect(await check.listOAuth({ accountId: 'alice' })).toEqual([]);
    expect(await check.listOAuth({ models: [SUCCESSOR_MODEL] })).toEqual([expect.objectContaining({ accountId: 'bob', clientId })]);
    await check.close();

    const rm = await gatehouse(dir, ['clients', 'remove', clientId]);
    expect(rm.status, rm.stderr).toBe(0);
    expect(rm.stderr).toContain(`removed client ${clientId} and 3 of its grants and tokens\n`);
    const last = await open(dir);
    expect(await last.listOAuth()).toEqual([]);
    await last.close();
  });

  it('needs exactly one selector (exit 2)', async () => {
    const dir = join(freshDir(), 'data');
    const none = await gatehouse(dir, ['tokens', 'revoke']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--user NAME, --client ID or --all');
    const two = await gatehouse(dir, ['tokens', 'revoke', '--user', 'a', '--all']);
    expect(two.status).toBe(2);
    expect(two.stderr).toContain('exactly one');
    expect((await gatehouse(dir, ['tokens', 'revoke', '--user'])).status).toBe(2);
    expect((await gatehouse(dir, ['tokens', 'frobnicate'])).status).toBe(2);
  });
});

describe('a client added by the CLI', () => {
  it('works with the gateway: client_credentials token, MCP call, removal; public native redirects accepted', async () => {
    const dataDir = join(freshDir(), 'data');
    // --grant client_credentials implies a secret; the CLI says what the client may do.
    const added = await gatehouse(dataDir, ['clients', 'add', '--name', 'Robot', '--redirect-uri', 'https://robot.example/cb', '--grant', 'client_credentials', '--json']);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stderr).toContain('grants: authorization_code, refresh_token, client_credentials');
    const { clientId, clientSecret } = JSON.parse(added.stdout) as AddedClient;
    // A confidential client without --grant client_credentials: the code flow only.
    const codeOnly = JSON.parse((await gatehouse(dataDir, ['clients', 'add', '--name', 'Actions', '--redirect-uri', 'https://chat.example.com/cb', '--confidential', '--json'])).stdout) as AddedClient;
    expect(codeOnly.clientSecret).toBeTruthy();
    const gw = await startTestGateway({ store: 'sqlite', dataDir, auth: { mode: 'oauth' }, servers: { raw: rawStdio() } });
    try {
      const token = (secret: string, id = clientId) =>
        fetch(`${gw.base}/oauth/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'mcp', resource: `${gw.base}/raw/mcp` }).toString(),
        });
      const res = await token(clientSecret!);
      const body = (await res.json()) as { access_token: string; token_type: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.token_type).toBe('Bearer');
      const init = await rawPost(`${gw.base}/raw/mcp`, INIT(), { authorization: `Bearer ${body.access_token}` });
      expect(init.status).toBe(200);
      expect((await token('not-the-secret')).status).toBe(401);
      const refused = await token(codeOnly.clientSecret!, codeOnly.clientId);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toBe('unauthorized_client');
      // Stored hashed: the token value is not in the list either.
      const listed = await gatehouse(dataDir, ['tokens', 'list', '--json']);
      expect(listed.stdout).not.toContain(body.access_token);
      expect((JSON.parse(listed.stdout) as ListedToken[]).some((r) => r.model === 'ClientCredentials' && r.client === clientId)).toBe(true);
      // Removed: the client can no longer get tokens.
      expect((await gatehouse(dataDir, ['clients', 'remove', clientId])).status).toBe(0);
      expect((await token(clientSecret!)).status).toBe(401);

      // A public native client from the CLI is accepted by the provider: loopback on any port, and an app scheme.
      const pub = await gatehouse(dataDir, ['clients', 'add', '--name', 'Desk', '--redirect-uri', 'http://127.0.0.1/callback', '--redirect-uri', 'cursor://desk.example/cb', '--json']);
      const publicId = (JSON.parse(pub.stdout) as AddedClient).clientId;
      for (const redirect of ['http://127.0.0.1:54321/callback', 'cursor://desk.example/cb', 'https://evil.example/cb']) {
        const authorize = new URL(`${gw.base}/oauth/authorize`);
        for (const [k, v] of Object.entries({
          client_id: publicId,
          redirect_uri: redirect,
          response_type: 'code',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          resource: `${gw.base}/raw/mcp`,
          state: 's',
        })) {
          authorize.searchParams.set(k, v);
        }
        const res = await fetch(authorize, { redirect: 'manual' });
        const page = await res.text();
        if (redirect.startsWith('https://evil')) {
          expect(res.status).toBe(400);
          continue;
        }
        expect(res.status, page).toBeGreaterThanOrEqual(300);
        expect(res.headers.get('location'), redirect).toMatch(/\/login\//);
      }
    } finally {
      await gw.close();
    }
  }, 60_000);
});

// `gatehouse clients add --resource / --no-pkce / --grants`: what a config client may say, from
// the command line. Run as a person runs it (the CLI as a child, the real SQLite store, `serve`
// as a child on the same config), down to the token requests ChatGPT Actions and a machine
// client make.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import { runCli, startServe, tempRoot, type CliRun, servesKilledAfterEach } from './helpers/cli.js';
import { INIT, RAW_FIXTURE, rawPost } from './helpers/gateway.js';
import { loginAndConsent as signIn, tokenRequest as token } from './helpers/oauth.js';

const { freshDir, remove } = tempRoot('gh-client-rules-');
afterAll(remove);
const serving = servesKilledAfterEach();

const PASSWORD = 'a long enough passphrase';
const loginAndConsent = (base: string, url: string): Promise<URL> => signIn(base, url, 'alice', PASSWORD);
const ACTIONS_REDIRECT = 'https://chat.openai.com/aip/g-test/oauth/callback';

interface Listed {
  clientId: string;
  name: string;
  confidential: boolean;
  grants: string[];
  resource: string | null;
  requirePkce: boolean;
}

interface Added extends Listed {
  clientSecret?: string;
}

/** A working directory with a config naming one stdio server (so /raw/api exists) and its data dir. */
function setup(): { dir: string; config: string; gatehouse: (args: string[], input?: string) => Promise<CliRun> } {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  const doc = { listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'oauth' }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } };
  writeFileSync(config, JSON.stringify(doc));
  return { dir, config, gatehouse: (args, input) => runCli([...args, '--config', config], { cwd: dir, ...(input === undefined ? {} : { input }) }) };
}

const added = (run: CliRun): Added => {
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Added;
};

describe.concurrent('gatehouse clients add: resource, PKCE and grants', () => {
  it('stores --resource, --no-pkce and --grants as the authorization server reads them, and lists them', async () => {
    const { dir, gatehouse } = setup();
    const actions = added(
      await gatehouse(['clients', 'add', '--name', 'ChatGPT', '--redirect-uri', ACTIONS_REDIRECT, '--confidential', '--resource', '/api', '--no-pkce', '--json']),
    );
    expect(actions).toMatchObject({ confidential: true, grants: ['authorization_code', 'refresh_token'], resource: '/api', requirePkce: false });
    const robotRun = await gatehouse(['clients', 'add', '--name', 'Robot', '--redirect-uri', 'https://robot.example/cb', '--grants', 'client_credentials', '--resource', '/raw/api', '--json']);
    const robot = added(robotRun);
    // client_credentials implies a secret, as --grant client_credentials does.
    expect(robot).toMatchObject({ confidential: true, grants: ['client_credentials'], resource: '/raw/api', requirePkce: true });
    expect(robot.clientSecret).toBeTruthy();
    expect(robotRun.stderr).toContain('grants: client_credentials; resource: /raw/api');
    const plain = added(await gatehouse(['clients', 'add', '--name', 'Plain', '--redirect-uri', 'https://plain.example/cb', '--grants', 'authorization_code', '--json']));
    expect(plain).toMatchObject({ confidential: false, grants: ['authorization_code'], resource: null, requirePkce: true });

    const store = await openStore({ store: { kind: 'sqlite' }, dataDir: join(dir, 'data') }, undefined, { sweepIntervalMs: 0 });
    const clients = store.oauthAdapter('Client');
    expect(await clients.find(actions.clientId)).toMatchObject({ gatehouse_resource: '/api', gatehouse_require_pkce: false, response_types: ['code'] });
    const storedRobot = await clients.find(robot.clientId);
    expect(storedRobot).toMatchObject({ gatehouse_resource: '/raw/api', grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'client_secret_basic' });
    expect(storedRobot).not.toHaveProperty('gatehouse_require_pkce');
    // Defaults are not written: a record stored before these flags reads the same way.
    const storedPlain = await clients.find(plain.clientId);
    expect(storedPlain).not.toHaveProperty('gatehouse_resource');
    expect(storedPlain).not.toHaveProperty('gatehouse_require_pkce');
    await clients.upsert('0ld', {
      client_id: '0ld',
      client_id_issued_at: 1,
      client_name: 'Stored before',
      redirect_uris: ['https://old.example/cb'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
    });
    await store.close();

    const list = await gatehouse(['clients', 'list', '--json']);
    expect(list.status, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as Listed[];
    const byName = (name: string) => listed.find((c) => c.name === name);
    expect(byName('ChatGPT')).toMatchObject({ resource: '/api', requirePkce: false, confidential: true });
    expect(byName('Robot')).toMatchObject({ resource: '/raw/api', requirePkce: true, grants: ['client_credentials'] });
    expect(byName('Stored before')).toMatchObject({ resource: null, requirePkce: true, grants: ['authorization_code', 'refresh_token'] });
    const text = (await gatehouse(['clients', 'list'])).stdout;
    expect(text).toMatch(new RegExp(`${actions.clientId}  ChatGPT  confidential  resource /api  no PKCE  created`));
    expect(text).toMatch(new RegExp(`${robot.clientId}  Robot  confidential  grants client_credentials  resource /raw/api  created`));
    expect(text).toMatch(/0ld {2}Stored before {2}public {2}created/);
  });

  it('refuses what a config client may not be, with exit 2, naming the flag, and writes nothing', async () => {
    const { gatehouse } = setup();
    const base = ['clients', 'add', '--name', 'X', '--redirect-uri', 'https://x.example/cb'];
    const cases: [string[], string[]][] = [
      // A public client cannot drop PKCE (the config's requirePkce rule).
      [['--no-pkce'], ['--no-pkce', 'confidential', '--confidential']],
      // Every bad flag at once.
      [['--no-pkce', '--resource', 'api', '--grants', 'refresh_token'], ['--no-pkce', '--resource api', '--grants: refresh_token comes with authorization_code']],
      [['--resource', 'api', '--confidential'], ['--resource api', 'a protected path such as /api']],
      // A resource this gateway does not protect is named with the other problems, not after them.
      [['--no-pkce', '--resource', '/nope'], ['--no-pkce', '--confidential', '--resource /nope: not a protected resource']],
      [['--redirect-uri', 'http://evil.example/cb', '--resource', 'https://mcp.example.com/nope'], ['--redirect-uri http://evil.example/cb', '--resource https://mcp.example.com/nope: not a protected resource']],
      [['--resource', '/nope', '--confidential'], ['--resource /nope: not a protected resource', '/raw/api']],
      [['--grants', 'refresh_token', '--confidential'], ['--grants', 'refresh_token comes with authorization_code']],
      [['--grants', 'authorization_code,password'], ['--grants password']],
      [['--grants', ''], ['--grants']],
      [['--grant', 'implicit'], ['--grant implicit']],
      [['--grant', 'client_credentials', '--grants', 'client_credentials'], ['--grant and --grants']],
    ];
    const runs = await Promise.all(cases.map(([extra]) => gatehouse([...base, ...extra])));
    runs.forEach((run, i) => {
      const [extra, says] = cases[i]!;
      expect(run.status, `${extra.join(' ')}: ${run.stderr}`).toBe(2);
      for (const s of says) expect(run.stderr, extra.join(' ')).toContain(s);
      expect(run.stdout).toBe('');
    });
    const list = await gatehouse(['clients', 'list', '--json']);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});

const restCall = (base: string, bearer: string, path = '/api/tools/raw__echo') =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` }, body: '{"said":"hi"}' });

describe('clients added by the CLI, against `gatehouse serve`', () => {
  it('ChatGPT Actions (--resource /api --no-pkce) get a REST token without PKCE; a --grants client_credentials client gets one for its resource', async () => {
    const { dir, config, gatehouse } = setup();
    expect((await gatehouse(['users', 'add', 'alice', '--password-stdin'], `${PASSWORD}\n`)).status).toBe(0);
    const actions = added(
      await gatehouse(['clients', 'add', '--name', 'ChatGPT', '--redirect-uri', ACTIONS_REDIRECT, '--confidential', '--resource', '/api', '--no-pkce', '--json']),
    );
    // The same client without --no-pkce: PKCE stays required.
    const strict = added(await gatehouse(['clients', 'add', '--name', 'Strict', '--redirect-uri', ACTIONS_REDIRECT, '--confidential', '--resource', '/api', '--json']));
    const run = await startServe(['--config', config], dir);
    serving.push(run);
    const { base } = run;

    // What ChatGPT Actions send: no code_challenge, no resource; the secret in the body (client_secret_post).
    const authorize = (clientId: string) =>
      `${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: ACTIONS_REDIRECT, scope: 'mcp', state: 'st' }).toString()}`;
    const back = await loginAndConsent(base, authorize(actions.clientId));
    expect(back.origin + back.pathname).toBe(ACTIONS_REDIRECT);
    const code = back.searchParams.get('code');
    expect(code, back.href).toBeTruthy();
    const exchanged = await token(base, { grant_type: 'authorization_code', code: code!, redirect_uri: ACTIONS_REDIRECT, client_id: actions.clientId, client_secret: actions.clientSecret! });
    expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
    expect(exchanged.json.token_type).toBe('Bearer');
    expect(typeof exchanged.json.refresh_token).toBe('string');
    const access = exchanged.json.access_token as string;
    // Bound to the REST API (/api), which --resource named: it opens /api and not the MCP routes.
    const rest = await restCall(base, access);
    expect(rest.status, await rest.clone().text()).toBe(200);
    expect(await rest.json()).toEqual(['{"said":"hi"}']);
    expect((await rawPost(`${base}/mcp`, INIT(), { authorization: `Bearer ${access}` })).status).toBe(401);
    expect((await rawPost(`${base}/raw/mcp`, INIT(), { authorization: `Bearer ${access}` })).status).toBe(401);
    // A secret alone gives no client_credentials.
    const noMachine = await token(base, { grant_type: 'client_credentials', scope: 'mcp' }, { id: actions.clientId, secret: actions.clientSecret! });
    expect(noMachine.json.error).toBe('unauthorized_client');

    // Without --no-pkce the same request is refused for want of PKCE.
    const refused = await fetch(authorize(strict.clientId), { redirect: 'manual' });
    const location = new URL(refused.headers.get('location') ?? 'about:blank');
    expect(location.origin + location.pathname).toBe(ACTIONS_REDIRECT);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);

    // Added while serve runs: a machine client with --grants client_credentials and --resource /raw/api.
    const robot = added(
      await gatehouse(['clients', 'add', '--name', 'Robot', '--redirect-uri', 'https://robot.example/cb', '--grants', 'client_credentials', '--resource', '/raw/api', '--json']),
    );
    const creds = { id: robot.clientId, secret: robot.clientSecret! };
    const machine = await token(base, { grant_type: 'client_credentials', scope: 'mcp' }, creds);
    expect(machine.status, JSON.stringify(machine.json)).toBe(200);
    expect(machine.json.token_type).toBe('Bearer');
    const machineToken = machine.json.access_token as string;
    expect((await restCall(base, machineToken, '/raw/api/tools/echo')).status).toBe(200);
    expect((await restCall(base, machineToken)).status).toBe(401);
    // Held to its resource, as a config client's client_credentials tokens are.
    const elsewhere = await token(base, { grant_type: 'client_credentials', scope: 'mcp', resource: `${base}/mcp` }, creds);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json.error).toBe('invalid_target');
    // No code flow for it (--grants said client_credentials only).
    const noCode = await fetch(
      `${base}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: robot.clientId, redirect_uri: 'https://robot.example/cb', scope: 'mcp', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString()}`,
      { redirect: 'manual' },
    );
    expect(noCode.headers.get('location') ?? '').toMatch(/error=unauthorized_client|error=invalid_request/);

    // Nobody can give themselves these rules by registering (DCR) instead.
    for (const rule of [{ gatehouse_require_pkce: false }, { gatehouse_resource: '/api' }]) {
      const res = await fetch(`${base}/oauth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], client_name: 'Sneaky', token_endpoint_auth_method: 'client_secret_basic', ...rule }),
      });
      const body = (await res.json()) as { error?: string; error_description?: string };
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(body.error).toBe('invalid_client_metadata');
      expect(body.error_description).toContain('gatehouse clients add');
    }
  }, 90_000);
});

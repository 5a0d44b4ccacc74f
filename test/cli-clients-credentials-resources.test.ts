// `gatehouse clients add|update --client-credentials-resource`: the config's
// `auth.clients[].clientCredentialsResources` for a client kept in the store. Run as a person
// runs it: the CLI as a child on the real SQLite store, and `gatehouse serve` as a child that
// is never restarted, down to the token requests and MCP calls a machine client makes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/index.js';
import { runCli, startServe, tempRoot, type CliRun, servesKilledAfterEach } from './helpers/cli.js';
import { INIT, RAW_FIXTURE, rawPost } from './helpers/gateway.js';
import { tokenRequest } from './helpers/oauth.js';

const { freshDir, remove } = tempRoot('gh-client-cc-resources-');
afterAll(remove);
const serving = servesKilledAfterEach();

interface Client {
  clientId: string;
  clientSecret?: string;
  grants: string[];
  resource: string | null;
  clientCredentialsResources: string[] | null;
  changed?: string[];
}

/** A working directory with a config naming two stdio servers (a, b) and its data dir (SQLite, the default store). */
function setup(): { dir: string; config: string; dataDir: string; gatehouse: (args: string[]) => Promise<CliRun> } {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  const dataDir = join(dir, 'data');
  const raw = { command: process.execPath, args: [RAW_FIXTURE] };
  writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir, auth: { mode: 'oauth' }, servers: { a: raw, b: raw } }));
  return { dir, config, dataDir, gatehouse: (args) => runCli([...args, '--config', config], { cwd: dir }) };
}

const ok = (run: CliRun): Client => {
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Client;
};

const ROBOT = ['clients', 'add', '--name', 'Robot', '--redirect-uri', 'https://robot.example/cb', '--json'];

async function storedClient(dataDir: string, id: string): Promise<Record<string, unknown> | undefined> {
  const store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
  try {
    return await store.oauthAdapter('Client').find(id);
  } finally {
    await store.close();
  }
}

describe.concurrent('gatehouse clients add|update --client-credentials-resource, on the store', () => {
  it('stores the list as paths, lists it, replaces it and clears it', async () => {
    const { dataDir, gatehouse } = setup();
    // A URL is kept as its path, as --resource keeps it (serve resolves it against its issuer).
    const run = await gatehouse([...ROBOT, '--grants', 'client_credentials', '--client-credentials-resource', '/a/mcp', '--client-credentials-resource', 'https://gw.example/b/mcp']);
    const robot = ok(run);
    expect(robot).toMatchObject({ grants: ['client_credentials'], resource: null, clientCredentialsResources: ['/a/mcp', '/b/mcp'] });
    expect(run.stderr).toContain('client_credentials tokens only for: /a/mcp, /b/mcp');
    expect(await storedClient(dataDir, robot.clientId)).toMatchObject({ gatehouse_client_credentials_resources: ['/a/mcp', '/b/mcp'] });

    const listed = JSON.parse((await gatehouse(['clients', 'list', '--json'])).stdout) as Client[];
    expect(listed).toEqual([expect.objectContaining({ clientId: robot.clientId, clientCredentialsResources: ['/a/mcp', '/b/mcp'] })]);
    expect((await gatehouse(['clients', 'list'])).stdout).toContain(`${robot.clientId}  Robot  confidential  grants client_credentials  client_credentials for /a/mcp,/b/mcp  created`);

    // The flag replaces the list (duplicates dropped); the same list again is no change.
    const narrowed = ok(await gatehouse(['clients', 'update', robot.clientId, '--client-credentials-resource', '/b/mcp', '--client-credentials-resource', '/b/mcp', '--json']));
    expect(narrowed).toMatchObject({ clientCredentialsResources: ['/b/mcp'], changed: ['client_credentials tokens only for /b/mcp'] });
    const same = await gatehouse(['clients', 'update', robot.clientId, '--client-credentials-resource', 'https://gw.example/b/mcp']);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stderr).toContain('nothing changed');

    const cleared = ok(await gatehouse(['clients', 'update', robot.clientId, '--no-client-credentials-resource', '--json']));
    expect(cleared).toMatchObject({ clientCredentialsResources: null, changed: ['no client_credentials resource list'] });
    expect(await storedClient(dataDir, robot.clientId)).not.toHaveProperty('gatehouse_client_credentials_resources');
    // A client stored without one lists null, as one added before the flag existed does.
    expect((JSON.parse((await gatehouse(['clients', 'list', '--json'])).stdout) as Client[])[0]!.clientCredentialsResources).toBeNull();
  });

  it("refuses what the config key refuses, with exit 2, naming the flag and the config's words, and writes nothing", async () => {
    const { gatehouse } = setup();
    const cases: [string[], string[]][] = [
      // The config's refine: only with client_credentials among the grants.
      [['--client-credentials-resource', '/a/mcp'], ['--client-credentials-resource: only for a client whose grants include client_credentials (add --grant client_credentials)']],
      [['--grants', 'authorization_code,refresh_token', '--confidential', '--client-credentials-resource', '/a/mcp'], ['only for a client whose grants include client_credentials (list client_credentials in --grants)']],
      // The config's form: a protected path such as /mcp, or its absolute URL.
      [['--grant', 'client_credentials', '--client-credentials-resource', 'a/mcp'], ['--client-credentials-resource a/mcp: a protected path such as /mcp, or its absolute URL']],
      // Not a resource of this gateway (serve refuses such a config entry at start); every problem at once.
      [
        ['--grant', 'client_credentials', '--client-credentials-resource', '/nope/mcp', '--client-credentials-resource', '/a/mcp', '--client-credentials-resource', 'ftp://x'],
        ['--client-credentials-resource /nope/mcp: not a protected resource of this gateway', '/a/mcp, /a/sse', '--client-credentials-resource ftp://x: a protected path'],
      ],
    ];
    const runs = await Promise.all(cases.map(([extra]) => gatehouse([...ROBOT, ...extra])));
    runs.forEach((run, i) => {
      const [extra, says] = cases[i]!;
      expect(run.status, `${extra.join(' ')}: ${run.stderr}`).toBe(2);
      for (const s of says) expect(run.stderr, extra.join(' ')).toContain(s);
      expect(run.stdout).toBe('');
    });
    expect(JSON.parse((await gatehouse(['clients', 'list', '--json'])).stdout)).toEqual([]);

    const robot = ok(await gatehouse([...ROBOT, '--grant', 'client_credentials', '--client-credentials-resource', '/a/mcp']));
    const updates: [string[], string[]][] = [
      [['--client-credentials-resource', '/b/mcp', '--no-client-credentials-resource'], ['--client-credentials-resource and --no-client-credentials-resource: give one']],
      [['--client-credentials-resource', '/nope/mcp'], ['--client-credentials-resource /nope/mcp: not a protected resource of this gateway']],
      // Dropping the grant leaves a list the config would refuse: said, with how to clear it.
      [
        ['--grants', 'authorization_code,refresh_token'],
        ['its stored --client-credentials-resource list (/a/mcp): only for a client whose grants include client_credentials (clear it with --no-client-credentials-resource)'],
      ],
    ];
    for (const [extra, says] of updates) {
      const run = await gatehouse(['clients', 'update', robot.clientId, ...extra]);
      expect(run.status, `${extra.join(' ')}: ${run.stderr}`).toBe(2);
      for (const s of says) expect(run.stderr, extra.join(' ')).toContain(s);
    }
    const after = JSON.parse((await gatehouse(['clients', 'list', '--json'])).stdout) as Client[];
    expect(after).toEqual([expect.objectContaining({ grants: ['authorization_code', 'refresh_token', 'client_credentials'], clientCredentialsResources: ['/a/mcp'] })]);
    // Both at once is fine: the grant goes with its list.
    const both = ok(await gatehouse(['clients', 'update', robot.clientId, '--grants', 'authorization_code,refresh_token', '--no-client-credentials-resource', '--json']));
    expect(both).toMatchObject({ grants: ['authorization_code', 'refresh_token'], clientCredentialsResources: null });
  });
});

describe('--client-credentials-resource against a running `gatehouse serve` (never restarted)', () => {
  it('the token endpoint and the bearer check hold the client to its current list', async () => {
    const { dir, config, gatehouse } = setup();
    const run = await startServe(['--config', config], dir);
    serving.push(run);
    const { base } = run;
    // Added while serve runs: read from the store at each request.
    const robot = ok(await gatehouse([...ROBOT, '--grants', 'client_credentials', '--client-credentials-resource', '/a/mcp', '--client-credentials-resource', '/b/mcp']));
    const creds = { id: robot.clientId, secret: robot.clientSecret! };
    const tokenFor = (resource?: string) =>
      tokenRequest(base, { grant_type: 'client_credentials', scope: 'mcp', ...(resource === undefined ? {} : { resource: `${base}${resource}` }) }, creds);
    const issued = async (resource?: string): Promise<string> => {
      const r = await tokenFor(resource);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return r.json.access_token as string;
    };
    const status = async (server: string, token: string) => (await rawPost(`${base}/${server}/mcp`, INIT(), { authorization: `Bearer ${token}` })).status;

    // A listed resource: a token for it, which opens it and not the other.
    const forA = await issued('/a/mcp');
    expect([await status('a', forA), await status('b', forA)]).toEqual([200, 401]);
    // The same server's other route is covered, as with the config key.
    expect((await tokenFor('/a/sse')).status).toBe(200);
    // Another resource is refused at the token endpoint, naming the list.
    const elsewhere = await tokenFor('/mcp');
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.json).toMatchObject({ error: 'invalid_target', error_description: expect.stringContaining(`only for ${base}/a/mcp`) });
    // Naming none: one token for all of them.
    const all = await issued();
    expect([await status('a', all), await status('b', all)]).toEqual([200, 200]);
    // Issued for /b/mcp, not used yet.
    const forB = await issued('/b/mcp');

    // Narrowed to /a/mcp while serve runs.
    const narrowed = await gatehouse(['clients', 'update', robot.clientId, '--client-credentials-resource', '/a/mcp']);
    expect(narrowed.status, narrowed.stderr).toBe(0);
    expect(narrowed.stderr).toContain('client_credentials tokens only for /a/mcp');
    const refused = await tokenFor('/b/mcp');
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('invalid_target');
    // Tokens already issued stop opening /b/mcp: at once for one serve has not checked yet...
    expect(await status('b', forB)).toBe(401);
    const why = await rawPost(`${base}/b/mcp`, INIT(), { authorization: `Bearer ${forB}` });
    expect(why.headers.get('www-authenticate')).toContain('error="invalid_token"');
    // ...and within the bearer cache's 10 s for one it has (then it is looked up again).
    const deadline = Date.now() + 15_000;
    while ((await status('b', all)) !== 401) {
      expect(Date.now(), 'the token for all kept opening /b/mcp').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await status('a', all)).toBe(200);
    expect(await status('a', forA)).toBe(200);
    // A new token naming none is for /a/mcp only now.
    const fresh = await issued();
    expect([await status('a', fresh), await status('b', fresh)]).toEqual([200, 401]);

    // Nobody can give themselves such a list by registering (DCR) instead.
    const registered = await fetch(`${base}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://claude.ai/api/mcp/auth_callback'], client_name: 'Sneaky', gatehouse_client_credentials_resources: ['/a/mcp'] }),
    });
    const body = (await registered.json()) as { error?: string; error_description?: string };
    expect(registered.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toBe('invalid_client_metadata');
    expect(body.error_description).toContain('gatehouse clients add');
  }, 90_000);
});

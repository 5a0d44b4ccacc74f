// `gatehouse connect --client-id` with a binding kept in the token store (SEP-2352: the client
// is bound to realm x of a Keycloak-like authorization server) and --token-url /
// --authorization-url without --expected-issuer: each endpoint must be the bound server's
// (under its issuer by plain path segments) before anything of the client goes there. Against
// a loopback stand-in (MCP server and authorization server on one origin) that logs every
// request as it arrived, since a real `gatehouse serve` has no realms to route between; the
// browser is a stand-in that logs the URL it was given and answers the callback.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { createFileTokenStore } from '../src/auth/client/token-store.js';
import { connectUntilExit, tempRoot } from './helpers/cli.js';
import { closeServer, requestText } from './helpers/http-stub.js';

const SECRET = 's3cret-value-of-desk-app';
const { freshDir, remove } = tempRoot('gh-connect-binding-endpoints-');
afterAll(remove);

interface Logged {
  readonly method: string;
  /** The request target as sent (not normalised): what a server or proxy on the way routes. */
  readonly target: string;
  readonly authorization: string | null;
}

interface StandIn {
  readonly base: string;
  readonly log: Logged[];
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await closeServer(s);
});

/**
 * The MCP server at /mcp (401 to everything) and its authorization server. `issuerPath`, when
 * set, is the path of the issuer its resource metadata names (with RFC 8414 metadata there);
 * unset, it publishes none (the case --token-url is for). Every token request is refused
 * (invalid_grant): what matters is where it went.
 */
async function standIn(issuerPath?: string): Promise<StandIn> {
  const log: Logged[] = [];
  let base = '';
  const server = createServer((req, res) => {
    const names = issuerPath === undefined ? undefined : `${base}${issuerPath}`;
    void requestText(req).then(() => {
      log.push({ method: req.method!, target: req.url!, authorization: req.headers.authorization ?? null });
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url!.startsWith('/mcp')) return res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
      if (names !== undefined && req.url === '/.well-known/oauth-protected-resource/mcp') return json({ resource: `${base}/mcp`, authorization_servers: [names] });
      if (issuerPath !== undefined && req.url === `/.well-known/oauth-authorization-server${issuerPath}`) {
        return json({ issuer: names, authorization_endpoint: `${names}/auth`, token_endpoint: `${names}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], grant_types_supported: ['client_credentials'] });
      }
      if (req.method === 'POST' && req.url!.includes('token')) return res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: 'stand-in' }));
      return res.writeHead(404).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, log };
}

/** A stand-in browser: logs the URL it is sent to, then answers the loopback callback with a code. */
function opener(dir: string): string {
  const file = join(dir, 'opener.mjs');
  writeFileSync(
    file,
    `import { appendFileSync } from 'node:fs';
const url = new URL(process.argv[2]);
appendFileSync(process.env.OPENER_LOG, url.href + '\\n');
const cb = new URL(url.searchParams.get('redirect_uri'));
cb.searchParams.set('code', 'stand-in-code');
cb.searchParams.set('state', url.searchParams.get('state'));
await fetch(cb).catch(() => {});
`,
  );
  return file;
}

interface Run {
  readonly status: number | null;
  readonly stderr: string;
  /** The URLs the browser was sent to. */
  readonly opened: string[];
  /** The requests that carried the client's secret (HTTP Basic, as the stand-in's metadata-less endpoints get it). */
  readonly withSecret: string[];
}

/**
 * One `gatehouse connect` of the pre-registered client desk-app, the token store (file) holding
 * its binding to realm x of `s`, with `more` arguments (BASE in them is the stand-in's origin).
 */
async function connect(s: StandIn, more: string[]): Promise<Run> {
  const dir = freshDir();
  const url = `${s.base}/mcp`;
  await createFileTokenStore({ dir: join(dir, 'gatehouse') }).write(url, { issuers: {}, clientIssuers: { 'desk-app': `${s.base}/realms/x` } });
  const openerLog = join(dir, 'opener.log');
  const args = [url, '--client-id', 'desk-app', '--client-secret', 'env:DESK_SECRET', '--token-store', 'file', '--browser-command', `${process.execPath} ${opener(dir)}`, ...more.map((a) => a.replaceAll('BASE', s.base))];
  const from = s.log.length;
  const { status, stderr } = await connectUntilExit(args, { DESK_SECRET: SECRET, XDG_CONFIG_HOME: dir, OPENER_LOG: openerLog }, dir);
  const basic = `Basic ${Buffer.from(`desk-app:${SECRET}`).toString('base64')}`;
  return {
    status,
    stderr,
    opened: existsSync(openerLog) ? readFileSync(openerLog, 'utf8').split('\n').filter(Boolean) : [],
    withSecret: s.log.slice(from).filter((r) => r.authorization === basic || r.target.includes(SECRET)).map((r) => r.target),
  };
}

const REALM_X_TOKEN = 'BASE/realms/x/protocol/openid-connect/token';
const REALM_X_AUTH = 'BASE/realms/x/protocol/openid-connect/auth';

/** Under realm x to the URL parser, realm x2's to a server or proxy that decodes %2F, decodes twice, or drops ";" parameters. */
const DISGUISED = [
  'BASE/realms/x/..%2F..%2Frealms/x2/protocol/openid-connect/token',
  'BASE/realms/x/%2e%2e%2fx2/protocol/openid-connect/token',
  'BASE/realms/x/..;/x2/protocol/openid-connect/token',
  'BASE/realms/x/%252e%252e/x2/protocol/openid-connect/token',
];

describe('gatehouse connect --client-id --token-url, bound to realm x in the token store', () => {
  it('a token URL under realm x only as the URL parser reads it (%2F, ..;, %252e): refused before the browser or the token endpoint', async () => {
    const s = await standIn();
    for (const tokenUrl of DISGUISED) {
      const authorizationUrl = tokenUrl.replace(/token$/, 'auth');
      const run = await connect(s, ['--token-url', tokenUrl, '--authorization-url', authorizationUrl]);
      expect(run.status, run.stderr).not.toBe(0);
      expect(run.stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(`${s.base}/realms/x`)}`);
      expect(run.stderr).toContain(`--token-url ${tokenUrl.replace('BASE', s.base)} is not known to be its token endpoint`);
      expect(run.opened, tokenUrl).toEqual([]);
      expect(run.withSecret, tokenUrl).toEqual([]);
      expect(run.stderr).not.toContain(SECRET);
    }
  }, 120_000);

  it('an --authorization-url elsewhere (another host, or disguised): refused before the browser opens; the bound server\'s own goes on', async () => {
    const s = await standIn();
    for (const authorizationUrl of ['https://login.attacker.example/authorize', 'BASE/realms/x2/protocol/openid-connect/auth', 'BASE/realms/x/..%2F..%2Frealms/x2/protocol/openid-connect/auth']) {
      const run = await connect(s, ['--token-url', REALM_X_TOKEN, '--authorization-url', authorizationUrl]);
      expect(run.status, run.stderr).not.toBe(0);
      expect(run.stderr).toContain(`--authorization-url ${authorizationUrl.replace('BASE', s.base)} is not known to be its authorization endpoint`);
      expect(run.stderr).toContain(`run 'gatehouse logout ${s.base}/mcp'`);
      expect(run.stderr).not.toContain('Open this URL to log in');
      expect(run.opened, authorizationUrl).toEqual([]);
      expect(run.withSecret, authorizationUrl).toEqual([]);
    }
    // Realm x's own endpoints: the browser is sent there, and the code goes to its token endpoint.
    const owned = await connect(s, ['--token-url', REALM_X_TOKEN, '--authorization-url', REALM_X_AUTH]);
    expect(owned.opened[0]).toMatch(new RegExp(`^${s.base}/realms/x/protocol/openid-connect/auth\\?.*client_id=desk-app`));
    expect(owned.withSecret).toContain('/realms/x/protocol/openid-connect/token');
  }, 120_000);
});

describe('gatehouse connect --grant client_credentials, bound to realm x in the token store', () => {
  it('--token-url of realm x2 (plain or disguised): refused before the secret goes out; realm x\'s is used', async () => {
    const s = await standIn();
    for (const tokenUrl of ['BASE/realms/x2/protocol/openid-connect/token', DISGUISED[0]!, DISGUISED[2]!]) {
      const run = await connect(s, ['--grant', 'client_credentials', '--token-url', tokenUrl]);
      expect(run.status, run.stderr).not.toBe(0);
      expect(run.stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(`${s.base}/realms/x`)}`);
      expect(run.stderr).toContain(`--token-url ${tokenUrl.replace('BASE', s.base)} is not known to be its token endpoint`);
      expect(run.stderr).toContain(`run 'gatehouse logout ${s.base}/mcp'`);
      expect(run.withSecret, tokenUrl).toEqual([]);
    }
    // No request at all went out for those runs: refused before the bridge started.
    expect(s.log).toEqual([]);
    const owned = await connect(s, ['--grant', 'client_credentials', '--token-url', REALM_X_TOKEN]);
    expect(owned.withSecret).toContain('/realms/x/protocol/openid-connect/token');
    // --expected-issuer is the person's choice: it replaces the kept binding for the run.
    const chosen = await connect(s, ['--grant', 'client_credentials', '--token-url', 'BASE/realms/x2/protocol/openid-connect/token', '--expected-issuer', 'BASE/realms/x2']);
    expect(chosen.withSecret).toContain('/realms/x2/protocol/openid-connect/token');
  }, 120_000);

  it('with discovery naming realm x2: refused before the secret goes out, saying the binding is kept in the token store', async () => {
    const s = await standIn('/realms/x2');
    const run = await connect(s, ['--grant', 'client_credentials']);
    expect(run.status, run.stderr).not.toBe(0);
    expect(run.stderr).toContain('Authorization server mismatch');
    expect(run.stderr).toContain('when first used with this server (kept in the token store)');
    expect(run.withSecret).toEqual([]);
  }, 60_000);
});

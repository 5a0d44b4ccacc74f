// A pre-registered `--client-id` client without --expected-issuer is bound (SEP-2352) to the
// first authorization server it is used with, and the binding is kept in the token store with
// the server's record: each test's "runs" are separate OAuthSession instances over the same
// encrypted token file (a new store object each, as a new `gatehouse connect` process opens),
// with an MCP server whose resource metadata names one of two authorization servers.
import { Writable } from 'node:stream';
import { join } from 'node:path';

import type { FetchLike } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';

import { createFileTokenStore, type ServerRecord } from '../src/auth/client/token-store.js';
import { OAuthSession, type OAuthSessionOptions } from '../src/auth/client/oauth-session.js';
import { staticDiscoveryState } from '../src/auth/client/static-discovery.js';
import { createLogger } from '../src/observability/index.js';
import { runCli, tempRoot } from './helpers/cli.js';

const MCP = 'https://mcp.example/mcp';
const AS1 = 'https://as-one.example';
const AS2 = 'https://as-two.example';

const { freshDir, remove } = tempRoot('gh-client-binding-');
afterAll(remove);

interface Sent {
  readonly url: string;
  readonly authorization: string | null;
}

/** The MCP server's metadata names `names.as`; both authorization servers issue tokens to anyone. */
function world(names: { as: string }): { fetchFn: FetchLike; sent: Sent[] } {
  const sent: Sent[] = [];
  const fetchFn: FetchLike = (input, init) => {
    const url = new URL(String(input));
    sent.push({ url: url.href, authorization: new Headers(init?.headers).get('authorization') });
    const json = (v: unknown) => Promise.resolve(new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } }));
    if (url.href === 'https://mcp.example/.well-known/oauth-protected-resource/mcp') return json({ resource: MCP, authorization_servers: [names.as] });
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      const o = url.origin;
      return json({ issuer: o, authorization_endpoint: `${o}/authorize`, token_endpoint: `${o}/token`, device_authorization_endpoint: `${o}/device`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], grant_types_supported: ['authorization_code', 'refresh_token'] });
    }
    // RFC 8628: approved at once; polled again after a millisecond.
    if (url.pathname === '/device') return json({ device_code: 'dc', user_code: 'UC', verification_uri: `${url.origin}/verify`, interval: 0.001 });
    if (url.pathname === '/token') return json({ access_token: `at-${url.host}`, refresh_token: `rt-${url.host}`, token_type: 'Bearer', expires_in: 3600 });
    return Promise.resolve(new Response('not found', { status: 404 }));
  };
  return { fetchFn, sent };
}

/** Everything that reached AS2 carrying the client: its authorization URL (the id) or its token endpoint (the secret). */
const toAs2 = (sent: Sent[], opened: URL[]) => [...sent.filter((s) => s.url === `${AS2}/token`).map((s) => s.url), ...opened.filter((u) => u.origin === AS2).map((u) => u.href)];

function logged() {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const lines = () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string; issuer?: string });
  return { logger: createLogger({ level: 'info', destination }), lines };
}

/** One `gatehouse connect` run: its own store object over `dir`, its own session; the browser "approves" at once. */
function run(dir: string, fetchFn: FetchLike, opened: URL[], expectedIssuer?: string, more: Partial<OAuthSessionOptions> = {}) {
  const { logger, lines } = logged();
  const store = createFileTokenStore({ dir });
  const session = new OAuthSession({
    serverUrl: MCP,
    notify: () => undefined,
    store,
    logger,
    clientId: 'desk-app',
    clientSecret: 'desk-secret',
    expectedIssuer,
    fetchFn,
    openBrowser: (u) => {
      opened.push(u);
      const callback = new URL(u.searchParams.get('redirect_uri')!);
      callback.searchParams.set('code', 'c1');
      callback.searchParams.set('state', u.searchParams.get('state')!);
      void fetch(callback);
      return Promise.resolve();
    },
    ...more,
  });
  return { session, store, lines };
}

/** Tokens an earlier login at AS1 left, as a record written before the binding was stored. */
const earlierLogin: ServerRecord = {
  issuers: { [AS1]: { tokens: { access_token: 'old', refresh_token: 'r1', token_type: 'Bearer', issuer: AS1 }, obtainedAt: 0 } },
  lastIssuer: AS1,
};

describe('a --client-id client without --expected-issuer, across runs', () => {
  it('run 1 binds AS1 (said in a warning) and refuses AS2; run 2 starts from AS1, not from the server run 1 refused', async () => {
    const dir = freshDir();
    const names = { as: AS1 };
    const { fetchFn, sent } = world(names);
    const opened: URL[] = [];
    await createFileTokenStore({ dir }).write(MCP, earlierLogin);

    const one = run(dir, fetchFn, opened);
    await one.session.load();
    await one.session.authorize(); // the stored refresh token, at AS1
    expect(sent.filter((s) => s.url === `${AS1}/token`)).toHaveLength(1);
    expect(one.lines().filter((l) => l.msg.includes('trust on first use'))).toEqual([expect.objectContaining({ level: 'warn', issuer: AS1 })]);
    expect((await one.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': AS1 });

    names.as = AS2; // the MCP server now names another authorization server (a 401: discovery again)
    await expect(one.session.authorize({ rediscover: true, force: true })).rejects.toThrow(/mismatch/i);
    expect((await one.store.read(MCP))?.discovery?.authorizationServerUrl).not.toBe(AS2);

    // The next process, as the reviewer ran it: a forced login from what the store holds.
    const two = run(dir, fetchFn, opened);
    await two.session.load();
    await two.session.authorize({ force: true });
    expect(toAs2(sent, opened)).toEqual([]);
    expect(opened.map((u) => u.origin)).toEqual([AS1]);
  });

  it('a later run refuses another authorization server before it sees the id or the secret, and says how to move on', async () => {
    const dir = freshDir();
    const names = { as: AS1 };
    const { fetchFn, sent } = world(names);
    const opened: URL[] = [];
    await createFileTokenStore({ dir }).write(MCP, earlierLogin);
    const one = run(dir, fetchFn, opened);
    await one.session.load();
    await one.session.authorize();

    names.as = AS2;
    const two = run(dir, fetchFn, opened);
    await two.session.load();
    const refused = two.session.authorize({ rediscover: true, force: true });
    await expect(refused).rejects.toThrow(`Authorization server mismatch: credentials are bound to ${JSON.stringify(AS1)} but this call resolved ${JSON.stringify(AS2)}`);
    await expect(refused).rejects.toThrow(`run 'gatehouse logout ${MCP}'`);
    await expect(refused).rejects.toThrow('pass --expected-issuer');
    expect(toAs2(sent, opened)).toEqual([]);
    expect(two.lines().filter((l) => l.msg.includes('trust on first use'))).toEqual([]);
  });

  it('a stored discovery naming another authorization server (as an older version left it) is not reused: discovery again', async () => {
    const dir = freshDir();
    const names = { as: AS1 };
    const { fetchFn, sent } = world(names);
    const opened: URL[] = [];
    const one = run(dir, fetchFn, opened);
    await one.store.write(MCP, earlierLogin);
    await one.session.load();
    await one.session.authorize();
    const stored = (await one.store.read(MCP))!;
    await one.store.write(MCP, { ...stored, discovery: { authorizationServerUrl: AS2 } });

    names.as = AS2;
    const two = run(dir, fetchFn, opened);
    await two.session.load();
    await expect(two.session.authorize({ force: true })).rejects.toThrow(/mismatch/i);
    expect(toAs2(sent, opened)).toEqual([]);

    // The MCP server names AS1 again: the stale discovery does not stand in the way.
    names.as = AS1;
    await one.store.write(MCP, { ...stored, discovery: { authorizationServerUrl: AS2 } });
    const three = run(dir, fetchFn, opened);
    await three.session.load();
    await three.session.authorize({ force: true });
    expect(opened.map((u) => u.origin)).toEqual([AS1]);
  });

  it('the ways out: gatehouse logout forgets the binding, --expected-issuer replaces it', async () => {
    const home = freshDir();
    const dir = join(home, 'gatehouse'); // where `gatehouse logout --token-store file` looks with XDG_CONFIG_HOME=home
    const names = { as: AS1 };
    const { fetchFn, sent } = world(names);
    const opened: URL[] = [];
    await createFileTokenStore({ dir }).write(MCP, earlierLogin);
    const one = run(dir, fetchFn, opened);
    await one.session.load();
    await one.session.authorize();
    names.as = AS2;

    // --expected-issuer: the person's word wins over the stored binding, and is kept.
    // (No rediscovery asked for, as after a 401 to no token: the stored discovery names AS1.)
    const chosen = run(dir, fetchFn, opened, AS2);
    await chosen.session.load();
    await chosen.session.authorize({ force: true });
    expect(opened.map((u) => u.origin)).toEqual([AS2]);
    expect((await chosen.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': AS2 });
    names.as = AS1;
    const back = run(dir, fetchFn, opened);
    await back.session.load();
    await expect(back.session.authorize({ rediscover: true, force: true })).rejects.toThrow(/mismatch/i);

    // gatehouse logout: the record goes, binding and all; the next run binds anew (and says so).
    const logout = await runCli(['logout', MCP, '--token-store', 'file'], { cwd: home, env: { XDG_CONFIG_HOME: home } });
    expect(logout.status, logout.stderr).toBe(0);
    expect(await createFileTokenStore({ dir }).read(MCP)).toBeUndefined();
    const fresh = run(dir, fetchFn, opened);
    await fresh.session.load();
    await fresh.session.authorize({ force: true });
    expect(opened.map((u) => u.origin)).toEqual([AS2, AS1]);
    expect(fresh.lines().filter((l) => l.msg.includes('trust on first use'))).toEqual([expect.objectContaining({ issuer: AS1 })]);
    expect(sent.filter((s) => s.url === `${AS1}/token`).length).toBeGreaterThan(0);
  }, 60_000);
});

describe('--expected-issuer naming the server the MCP server moved to, while the stored discovery names the old one', () => {
  /** Run 1 binds AS1 and leaves its discovery stored; then the MCP server names AS2. */
  async function movedAfterALogin(dir: string, names: { as: string }, fetchFn: FetchLike, opened: URL[]) {
    const one = run(dir, fetchFn, opened);
    await one.session.load();
    await one.session.authorize({ force: true });
    expect((await one.store.read(MCP))?.discovery?.authorizationServerUrl).toBe(AS1);
    names.as = AS2;
  }

  it("the reviewer's three runs: refused on a 401, then gatehouse login --expected-issuer AS2 as the error advises, then a plain run", async () => {
    const dir = freshDir();
    const names = { as: AS1 };
    const { fetchFn, sent } = world(names);
    const opened: URL[] = [];
    await movedAfterALogin(dir, names, fetchFn, opened);

    // Run 2: the token is refused (rediscovery), AS2 found, refused; the error names the flag.
    const two = run(dir, fetchFn, opened);
    await two.session.load();
    await expect(two.session.authorize({ rediscover: true, force: true })).rejects.toThrow('pass --expected-issuer');
    expect(toAs2(sent, opened)).toEqual([]);
    expect((await two.store.read(MCP))?.discovery?.authorizationServerUrl).toBe(AS1);

    // Run 3: `gatehouse login --expected-issuer AS2` (a forced login, no 401 to rediscover on).
    const three = run(dir, fetchFn, opened, AS2);
    await three.session.load();
    await three.session.authorize({ force: true });
    expect(opened.map((u) => u.origin)).toEqual([AS1, AS2]);
    const after = await three.store.read(MCP);
    expect(after?.clientIssuers).toEqual({ 'desk-app': AS2 });
    expect(after?.discovery?.authorizationServerUrl).toBe(AS2);

    // Run 4: no flag; the stored binding is AS2 now.
    const four = run(dir, fetchFn, opened);
    await four.session.load();
    await four.session.authorize({ force: true });
    expect(opened.map((u) => u.origin)).toEqual([AS1, AS2, AS2]);
  });

  it('gatehouse connect --expected-issuer AS2 with no tokens stored (its first request: a 401 to no token, no rediscovery asked for)', async () => {
    const dir = freshDir();
    const names = { as: AS1 };
    const { fetchFn } = world(names);
    const opened: URL[] = [];
    await movedAfterALogin(dir, names, fetchFn, opened);
    const { issuers: _tokens, lastIssuer: _last, ...rest } = (await createFileTokenStore({ dir }).read(MCP))!;
    await createFileTokenStore({ dir }).write(MCP, { ...rest, issuers: {} });

    const chosen = run(dir, fetchFn, opened, AS2);
    await chosen.session.load();
    expect(chosen.session.tokens()).toBeUndefined();
    await chosen.session.authorize();
    expect(opened.map((u) => u.origin)).toEqual([AS1, AS2]);
    expect((await chosen.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': AS2 });
  });

  it('gatehouse login --grant device_code --expected-issuer AS2', async () => {
    const dir = freshDir();
    const names = { as: AS1 };
    const { fetchFn, sent } = world(names);
    const opened: URL[] = [];
    await movedAfterALogin(dir, names, fetchFn, opened);

    const chosen = run(dir, fetchFn, opened, AS2, { grant: 'device_code' });
    await chosen.session.load();
    await chosen.session.authorize({ force: true });
    expect(sent.filter((s) => s.url.startsWith(AS2)).map((s) => s.url)).toEqual([`${AS2}/.well-known/oauth-authorization-server`, `${AS2}/device`, `${AS2}/token`]);
    expect(sent.filter((s) => s.url.startsWith(`${AS1}/device`))).toEqual([]);
    expect((await chosen.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': AS2 });
    expect(chosen.session.tokens()?.access_token).toBe('at-as-two.example');
  });
});

describe('--token-url without --expected-issuer', () => {
  const REALM = `${AS1}/realms/x`;
  /** A Keycloak-like server: its issuer has a path, so the token URL's origin is not it. */
  function realm(): { fetchFn: FetchLike; sent: string[] } {
    const sent: string[] = [];
    const fetchFn: FetchLike = (input) => {
      const url = new URL(String(input));
      sent.push(url.href);
      const json = (v: unknown) => Promise.resolve(new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } }));
      if (url.href === 'https://mcp.example/.well-known/oauth-protected-resource/mcp') return json({ resource: MCP, authorization_servers: [REALM] });
      if (url.pathname === '/.well-known/oauth-authorization-server/realms/x') {
        return json({ issuer: REALM, authorization_endpoint: `${REALM}/authorize`, token_endpoint: `${REALM}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'] });
      }
      if (url.pathname === '/realms/x/token') return json({ access_token: 'at', refresh_token: 'rt', token_type: 'Bearer', expires_in: 3600 });
      return Promise.resolve(new Response('not found', { status: 404 }));
    };
    return { fetchFn, sent };
  }
  const endpoints = { tokenUrl: `${REALM}/token`, authorizationUrl: `${REALM}/authorize` };

  it("keeps no binding from the token URL's origin: a later run with discovery binds the issuer it finds (with --expected-issuer, that one is kept)", async () => {
    const dir = freshDir();
    const { fetchFn, sent } = realm();
    const opened: URL[] = [];
    const one = run(dir, fetchFn, opened, undefined, { staticDiscovery: staticDiscoveryState(endpoints) });
    await one.session.load();
    await one.session.authorize({ force: true });
    expect(sent).toContain(`${REALM}/token`);
    expect((await one.store.read(MCP))?.clientIssuers).toBeUndefined();

    const two = run(dir, fetchFn, opened);
    await two.session.load();
    await two.session.authorize({ rediscover: true, force: true });
    expect(opened.map((u) => u.href.split('?')[0])).toEqual([`${REALM}/authorize`, `${REALM}/authorize`]);
    expect((await two.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': REALM });
    expect(two.lines().filter((l) => l.msg.includes('trust on first use'))).toEqual([expect.objectContaining({ issuer: REALM })]);

    // --token-url with --expected-issuer: the person named it, so it is kept.
    const named = run(freshDir(), fetchFn, opened, REALM, { staticDiscovery: staticDiscoveryState({ ...endpoints, issuer: REALM }) });
    await named.session.load();
    await named.session.authorize({ force: true });
    expect((await named.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': REALM });
  });

  it('checks the binding a run with discovery stored: the realm issuer owns its token URL; another realm is refused before it sees the client', async () => {
    const dir = freshDir();
    const { fetchFn, sent } = realm();
    const opened: URL[] = [];
    await createFileTokenStore({ dir }).write(MCP, { issuers: {}, clientIssuers: { 'desk-app': REALM } });
    const same = run(dir, fetchFn, opened, undefined, { staticDiscovery: staticDiscoveryState(endpoints) });
    await same.session.load();
    await same.session.authorize({ force: true });
    expect(sent).toContain(`${REALM}/token`);
    expect((await same.store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': REALM });

    const other = `${AS1}/realms/x2`;
    const elsewhere = run(dir, fetchFn, opened, undefined, { staticDiscovery: staticDiscoveryState({ tokenUrl: `${other}/token`, authorizationUrl: `${other}/authorize` }) });
    await elsewhere.session.load();
    const error = await elsewhere.session.authorize({ force: true }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).toContain(`credentials are bound to "${REALM}" but this call resolved "${AS1}"`);
    expect(error?.message).toContain("run 'gatehouse logout https://mcp.example/mcp'");
    expect([...sent, ...opened.map((u) => u.href)].filter((u) => u.startsWith(other))).toEqual([]);
  });
});

describe('the mismatch error for a server URL with secrets in its query', () => {
  it('describes the logout rather than printing a redacted command that names no record, and leaks nothing', async () => {
    const dir = freshDir();
    const secretUrl = `${MCP}?key=sekrit-123`;
    const { fetchFn, sent } = world({ as: AS2 });
    const opened: URL[] = [];
    await createFileTokenStore({ dir }).write(secretUrl, { issuers: {}, clientIssuers: { 'desk-app': AS1 } });
    const two = run(dir, fetchFn, opened, undefined, { serverUrl: secretUrl });
    await two.session.load();
    const error = await two.session.authorize({ force: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toMatch(/^Authorization server mismatch/);
    expect(message).toContain('run gatehouse logout with the server URL exactly as given here');
    expect(message).not.toContain("'gatehouse logout");
    expect(message).not.toContain('[REDACTED]');
    expect(message).not.toContain('sekrit-123');
    expect(toAs2(sent, opened)).toEqual([]);
  });
});

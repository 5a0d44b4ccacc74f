// Refresh-token grace across instances: two authorization servers sharing one store (a real
// PostgreSQL, and one SQLite file), as several Gatehouse instances behind a balancer share
// PostgreSQL (DESIGN.md "Growing past one machine"). A reuse inside the window that lands on
// the other instance gets the successor the first use got; after the window it is refused as
// replay and the grant is revoked, whichever instance sees it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationServer, generateServerKeys, type AuthorizationServer, type ServerKeys } from '../src/auth/server/index.js';
import { TOKEN_MODELS } from '../src/cli/tokens.js';
import { resolveConfig } from '../src/config/index.js';
import { hashPassword } from '../src/crypto/index.js';
import { createLogger, silentLogger } from '../src/observability/index.js';
import { clientSecretMatches, type Store } from '../src/store/index.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { openSqliteStore, SQLITE_FILE } from '../src/store/sqlite/sqlite-store.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { Browser, csrfOf, form, TEST_REDIRECT, tokenRequest } from './helpers/oauth.js';

const PASSWORD = 'correct horse battery staple';
const GRACE = 10;

/**
 * The clock of every store and server below: frozen at the start, moved by `skew` seconds only, so
 * whether a reuse is inside the grace window never depends on how fast this machine runs.
 */
const START = Date.now();
let skew = 0;
const nowMs = () => START + skew * 1000;

interface Instance {
  readonly base: string;
  readonly as: AuthorizationServer;
  readonly server: Server;
  readonly store: Store;
}

async function listen(): Promise<{ server: Server; base: string; serve(h: (req: IncomingMessage, res: ServerResponse) => void): void }> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, serve: (h) => (handler = h) };
}

/**
 * Two authorization servers, each with its own store connection to the same database and its
 * own listener, behind one public URL (the first one's), with the same keys: what two
 * `gatehouse serve` processes sharing a store and a key file are.
 */
async function startPair(openStoreConnection: () => Promise<Store>, dataDir: string): Promise<[Instance, Instance]> {
  const keys: ServerKeys = generateServerKeys();
  const listeners = [await listen(), await listen()];
  const publicUrl = listeners[0]!.base;
  const instances: Instance[] = [];
  for (const l of listeners) {
    const store = await openStoreConnection();
    const config = resolveConfig(
      {
        format: 'native',
        location: undefined,
        baseDir: process.cwd(),
        doc: {
          publicUrl,
          dataDir,
          auth: { users: { alice: { passwordHash: hashPassword(PASSWORD) } }, clients: [{ clientId: 'app', name: 'App', redirectUris: [TEST_REDIRECT] }] },
          servers: { raw: { command: 'true' } },
        },
      },
      {},
    );
    const as = await createAuthorizationServer({
      config,
      logger: process.env.AUTH_TEST_DEBUG ? createLogger({ level: 'debug' }) : silentLogger(),
      resources: [{ path: '/raw/mcp', server: 'raw' }],
      adapter: (model) => store.oauthAdapter(model),
      keys,
      clientSecretMatches,
      refreshGraceSeconds: GRACE,
      now: nowMs,
    });
    l.serve((req, res) => {
      if (!as.listener(req, res)) res.writeHead(404).end();
    });
    instances.push({ base: l.base, as, server: l.server, store });
  }
  return instances as [Instance, Instance];
}

async function stopPair(pair: readonly Instance[] | undefined): Promise<void> {
  for (const i of pair ?? []) {
    await i.as.close();
    await new Promise((resolve) => i.server.close(resolve));
    await i.store.close();
  }
}

/** The code flow of `app` for /raw/mcp on instance `at`; returns its first refresh token. */
async function signIn(at: Instance, issuer: string): Promise<string> {
  const browser = new Browser();
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'app',
    redirect_uri: TEST_REDIRECT,
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: `${issuer}/raw/mcp`,
  });
  let step = await browser.follow(`${at.base}/oauth/authorize?${q.toString()}`, at.base);
  const onInstance = (url: string) => url.replace(issuer, at.base);
  step = await browser.follow(onInstance(step.url), at.base);
  if (new URL(step.url).pathname.startsWith('/login/')) {
    const posted = await browser.request(onInstance(step.url), form({ csrf: csrfOf(await step.res.text()), username: 'alice', password: PASSWORD }));
    expect(posted.status).toBe(303);
    step = await browser.follow(onInstance(new URL(posted.headers.get('location')!, step.url).href), at.base);
  }
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const posted = await browser.request(onInstance(step.url), form({ csrf: csrfOf(await step.res.text()), decision: 'allow' }));
    step = await browser.follow(onInstance(new URL(posted.headers.get('location')!, step.url).href), at.base);
  }
  const code = new URL(step.url).searchParams.get('code');
  expect(code, step.url).toBeTruthy();
  const exchanged = await tokenRequest(at.base, { grant_type: 'authorization_code', code: code!, redirect_uri: TEST_REDIRECT, code_verifier: verifier, client_id: 'app' });
  expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
  return exchanged.json.refresh_token as string;
}

const refresh = (at: Instance, token: string) => tokenRequest(at.base, { grant_type: 'refresh_token', refresh_token: token, client_id: 'app' });

interface Backend {
  readonly openConnection: () => Promise<Store>;
  readonly dataDir: string;
  /** The raw successor rows of a grant, read past the store. */
  rows(grantId: string): Promise<{ key: string; payload: string }[]>;
  close(): Promise<void>;
}

function suite(name: string, open: () => Promise<Backend>) {
  describe(`refresh grace across two instances on ${name}`, () => {
    let pair: [Instance, Instance];
    let backend: Backend;
    beforeAll(async () => {
      backend = await open();
      pair = await startPair(backend.openConnection, backend.dataDir);
    }, 120_000);
    afterAll(async () => {
      await stopPair(pair);
      await backend?.close();
    });

    /** The refresh and access tokens of one grant, and the successor records kept for it. */
    const chain = async (grantOf: string) => {
      const [access] = await Promise.all([pair[0].store.listOAuth({ models: ['AccessToken'], grantId: grantOf })]);
      const refreshTokens = await pair[0].store.listOAuth({ models: ['RefreshToken'], grantId: grantOf });
      const kept = await pair[0].store.listOAuth({ models: ['RefreshTokenSuccessor'], grantId: grantOf });
      return { access: access.length, refresh: refreshTokens.length, unconsumed: refreshTokens.filter((r) => r.consumedAt === undefined).length, kept: kept.length };
    };
    const grantOf = async (refreshToken: string) => (await pair[0].store.oauthAdapter('RefreshToken').find(refreshToken))?.grantId as string;

    it('answers a reuse inside the window on the other instance with the successor the first use got: one chain', async () => {
      skew = 0;
      const [a, b] = pair;
      const used = await signIn(a, a.base);
      const grant = await grantOf(used);
      const first = await refresh(a, used);
      expect(first.status).toBe(200);
      skew = GRACE - 1;
      const again = await refresh(b, used);
      expect(again.status, JSON.stringify(again.json)).toBe(200);
      expect(again.json.refresh_token).toBe(first.json.refresh_token);
      expect(again.json.access_token).toBe(first.json.access_token);
      expect(again.json).toEqual(first.json);
      // And back on the first instance, the same again.
      expect((await refresh(a, used)).json).toEqual(first.json);
      // In the store: the used token and its one successor (unconsumed), the code exchange's and the successor's access tokens.
      expect(await chain(grant)).toEqual({ access: 2, refresh: 2, unconsumed: 1, kept: 1 });
      // The successor rotates on as usual, on either instance.
      const next = await refresh(b, first.json.refresh_token as string);
      expect(next.status).toBe(200);
      expect(next.json.refresh_token).not.toBe(first.json.refresh_token);
    });

    it('gives two instances racing on one token the same successor', async () => {
      skew = 0;
      const [a, b] = pair;
      for (let round = 0; round < 3; round++) {
        const used = await signIn(a, a.base);
        // Remembered consent: each sign-in here adds to the same grant, so count what the race adds.
        const grant = await grantOf(used);
        const before = await chain(grant);
        const [onA, onB] = await Promise.all([refresh(a, used), refresh(b, used)]);
        expect([onA.status, onB.status]).toEqual([200, 200]);
        expect(onB.json).toEqual(onA.json);
        // One successor (the used token consumed, one new unconsumed), one access token, one kept answer.
        expect(await chain(grant)).toEqual({ access: before.access + 1, refresh: before.refresh + 1, unconsumed: before.unconsumed, kept: before.kept + 1 });
      }
    });

    it('refuses a reuse after the window as replay on either instance, and revokes the grant', async () => {
      const [a, b] = pair;
      for (const [firstOn, reuseOn] of [[a, b], [b, a], [a, a]] as const) {
        skew = 0;
        const used = await signIn(a, a.base);
        const grant = await grantOf(used);
        const first = await refresh(firstOn, used);
        expect(first.status).toBe(200);
        skew = GRACE + 1;
        const late = await refresh(reuseOn, used);
        expect(late.status).toBe(400);
        expect(late.json.error).toBe('invalid_grant');
        // RFC 9700 §4.14.2: the whole grant goes, the successor with it, and the first answer kept for the window.
        expect((await refresh(firstOn, first.json.refresh_token as string)).status).toBe(400);
        expect(await chain(grant)).toEqual({ access: 0, refresh: 0, unconsumed: 0, kept: 0 });
      }
    });

    it('drops the first answer kept for the window when the grant is revoked: /revoke, and what tokens revoke deletes', async () => {
      skew = 0;
      const [a, b] = pair;
      // /revoke of the successor on the other instance: the grant goes (oidc-provider's revokeGrantPolicy), the kept answer with it.
      const used = await signIn(a, a.base);
      const grant = await grantOf(used);
      const first = await refresh(a, used);
      expect(first.status).toBe(200);
      expect((await chain(grant)).kept).toBe(1);
      const revoked = await fetch(`${b.base}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: first.json.refresh_token as string, token_type_hint: 'refresh_token', client_id: 'app' }).toString(),
      });
      expect(revoked.status).toBe(200);
      expect(await chain(grant)).toEqual({ access: 0, refresh: 0, unconsumed: 0, kept: 0 });
      expect((await refresh(b, used)).status).toBe(400);
      // gatehouse tokens revoke (and users passwd, clients remove) delete TOKEN_MODELS of a user or client.
      const used2 = await signIn(a, a.base);
      const grant2 = await grantOf(used2);
      expect((await refresh(a, used2)).status).toBe(200);
      expect((await chain(grant2)).kept).toBe(1);
      await a.store.deleteOAuth({ models: TOKEN_MODELS, accountId: 'alice' });
      expect(await chain(grant2)).toEqual({ access: 0, refresh: 0, unconsumed: 0, kept: 0 });
      expect((await refresh(b, used2)).status).toBe(400);
    });

    it('keeps the first answer sealed with the used token, and sweeps it once expired', async () => {
      skew = 0;
      const [a, b] = pair;
      const used = await signIn(a, a.base);
      const grant = await grantOf(used);
      const first = await refresh(a, used);
      const rows = await backend.rows(grant);
      expect(rows).toHaveLength(1);
      expect(rows[0]!.key).toBe(createHash('sha256').update(used).digest('base64url'));
      for (const secret of [used, first.json.access_token as string, first.json.refresh_token as string]) expect(rows[0]!.payload).not.toContain(secret);
      // The store opens it with the used token only, and even then what it holds is sealed under the
      // servers' key (keys.json, not in the store): a copy of the database plus a stolen used token
      // yields no token. The instances, which hold that key, answer a reuse with it.
      const opened = await b.store.oauthAdapter('RefreshTokenSuccessor').find(used);
      expect(opened).toMatchObject({ clientId: 'app', grantId: grant });
      expect(typeof opened?.response).toBe('string');
      for (const secret of [first.json.access_token as string, first.json.refresh_token as string]) expect(JSON.stringify(opened)).not.toContain(secret);
      expect(await b.store.oauthAdapter('RefreshTokenSuccessor').find(first.json.refresh_token as string)).toBeUndefined();
      skew = GRACE - 1;
      expect((await refresh(b, used)).json).toEqual(first.json);
      // Expired records are cleaned like the others: by the sweep (and never returned).
      skew = GRACE + 60;
      expect(await b.store.sweep()).toBeGreaterThanOrEqual(1);
      expect(await backend.rows(grant)).toHaveLength(0);
    });
  });
}

const root = mkdtempSync(join(tmpdir(), 'gh-grace-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SUCCESSOR_ROWS = "SELECT key, payload FROM gatehouse_oauth_records WHERE model = 'RefreshTokenSuccessor' AND grant_id = ";

let pg: TestPostgres | undefined;
suite('one PostgreSQL', async () => {
  pg = await startPostgres();
  const server = pg;
  return {
    openConnection: () => openPostgresStore({ url: server.url, now: nowMs, sweepIntervalMs: 0, maxConnections: 4 }),
    dataDir: join(root, 'pg'),
    rows: (grantId) => server.query<{ key: string; payload: string }>(`${SUCCESSOR_ROWS}$1`, [grantId]),
    close: () => server.stop(),
  };
});

suite('one SQLite file', () => {
  const dataDir = join(root, 'sqlite');
  return Promise.resolve({
    openConnection: () => Promise.resolve(openSqliteStore({ dataDir, now: nowMs, sweepIntervalMs: 0 })),
    dataDir,
    rows: (grantId) => {
      const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
      try {
        return Promise.resolve(db.prepare(`${SUCCESSOR_ROWS}?`).all(grantId) as { key: string; payload: string }[]);
      } finally {
        db.close();
      }
    },
    close: () => Promise.resolve(),
  });
});

// Refresh-token grace when the store fails in the middle of it (refresh-grace.ts
// sameSuccessorDuringGrace): keeping the first answer (insertIfAbsent) or destroying what a
// losing rotation minted. The client gets an OAuth JSON error it can retry on inside the window
// (503 temporarily_unavailable), never a plain-text 500, and what the failed rotation minted is
// destroyed rather than left live and undelivered. One authorization server on a SQLite file.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationServer, generateServerKeys, type AuthorizationServer } from '../src/auth/server/index.js';
import { resolveConfig } from '../src/config/index.js';
import { hashPassword } from '../src/crypto/index.js';
import { silentLogger } from '../src/observability/index.js';
import { clientSecretMatches, type OAuthAdapter, type Store } from '../src/store/index.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { Browser, csrfOf, form, TEST_REDIRECT, tokenRequest } from './helpers/oauth.js';

const PASSWORD = 'correct horse battery staple';
const GRACE = 10;

/** The clock of the store and the server: frozen, moved by `skew` seconds only. */
const START = Date.now();
let skew = 0;
const nowMs = () => START + skew * 1000;

/** Failures injected into the store, per model and operation: how many of the next calls throw. */
const failures = new Map<string, number>();
const failNext = (model: string, op: 'insertIfAbsent' | 'destroy', times = 1) => failures.set(`${model}.${op}`, times);
function failing(model: string, inner: OAuthAdapter): OAuthAdapter {
  const maybeFail = (op: string) => {
    const left = failures.get(`${model}.${op}`) ?? 0;
    if (left <= 0) return;
    failures.set(`${model}.${op}`, left - 1);
    throw new Error(`store down (${model}.${op})`);
  };
  return {
    ...inner,
    insertIfAbsent: async (...args) => {
      maybeFail('insertIfAbsent');
      return inner.insertIfAbsent(...args);
    },
    destroy: async (id) => {
      maybeFail('destroy');
      return inner.destroy(id);
    },
  };
}

const root = mkdtempSync(join(tmpdir(), 'gh-grace-fail-'));
let store: Store;
let as: AuthorizationServer;
let server: Server;
let base: string;

beforeAll(async () => {
  const dataDir = join(root, 'data');
  store = openSqliteStore({ dataDir, now: nowMs, sweepIntervalMs: 0 });
  server = createServer((req, res) => {
    if (!as.listener(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = resolveConfig(
    {
      format: 'native',
      location: undefined,
      baseDir: process.cwd(),
      doc: {
        publicUrl: base,
        dataDir,
        auth: { users: { alice: { passwordHash: hashPassword(PASSWORD) } }, clients: [{ clientId: 'app', name: 'App', redirectUris: [TEST_REDIRECT] }] },
        servers: { raw: { command: 'true' } },
      },
    },
    {},
  );
  as = await createAuthorizationServer({
    config,
    logger: silentLogger(),
    resources: [{ path: '/raw/mcp', server: 'raw' }],
    adapter: (model) => failing(model, store.oauthAdapter(model)),
    keys: generateServerKeys(),
    clientSecretMatches,
    refreshGraceSeconds: GRACE,
    now: nowMs,
  });
}, 60_000);

afterAll(async () => {
  await as?.close();
  await new Promise((resolve) => server?.close(resolve));
  await store?.close();
  rmSync(root, { recursive: true, force: true });
});

/** The code flow of `app` for /raw/mcp; returns its first refresh token. */
async function signIn(): Promise<string> {
  const browser = new Browser();
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'app',
    redirect_uri: TEST_REDIRECT,
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: `${base}/raw/mcp`,
  });
  let step = await browser.follow(`${base}/oauth/authorize?${q.toString()}`, base);
  step = await browser.follow(step.url, base);
  if (new URL(step.url).pathname.startsWith('/login/')) {
    const posted = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), username: 'alice', password: PASSWORD }));
    expect(posted.status).toBe(303);
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  }
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const posted = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), decision: 'allow' }));
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  }
  const code = new URL(step.url).searchParams.get('code');
  expect(code, step.url).toBeTruthy();
  const exchanged = await tokenRequest(base, { grant_type: 'authorization_code', code: code!, redirect_uri: TEST_REDIRECT, code_verifier: verifier, client_id: 'app' });
  expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
  return exchanged.json.refresh_token as string;
}

/** A refresh, read as text first: a failure must still be an OAuth JSON error. */
async function refresh(token: string): Promise<{ status: number; type: string | null; retryAfter: string | null; text: string; json: Record<string, unknown> | undefined }> {
  const res = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: 'app' }).toString(),
  });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, type: res.headers.get('content-type'), retryAfter: res.headers.get('retry-after'), text, json };
}

const grantOf = async (refreshToken: string) => (await store.oauthAdapter('RefreshToken').find(refreshToken))?.grantId as string;
/** The tokens of one grant, and the successor records kept for it. */
const chain = async (grantId: string) => {
  const access = await store.listOAuth({ models: ['AccessToken'], grantId });
  const refreshTokens = await store.listOAuth({ models: ['RefreshToken'], grantId });
  const kept = await store.listOAuth({ models: ['RefreshTokenSuccessor'], grantId });
  return { access: access.length, refresh: refreshTokens.length, unconsumed: refreshTokens.filter((r) => r.consumedAt === undefined).length, kept: kept.length };
};

function expectRetryableError(res: Awaited<ReturnType<typeof refresh>>): void {
  expect(res.status, res.text).toBe(503);
  expect(res.type).toMatch(/^application\/json/);
  expect(res.json?.error, res.text).toBe('temporarily_unavailable');
  expect(typeof res.json?.error_description).toBe('string');
  expect(res.retryAfter).toBe('1');
}

describe('refresh grace when the store fails', () => {
  it('answers temporarily_unavailable when the first answer cannot be kept, destroys what it minted, and a retry in the window succeeds', async () => {
    skew = 0;
    failures.clear();
    const used = await signIn();
    const grant = await grantOf(used);
    const before = await chain(grant);
    failNext('RefreshTokenSuccessor', 'insertIfAbsent');
    const failed = await refresh(used);
    expectRetryableError(failed);
    // Nothing minted lives on: the used token is consumed (its window still runs), no new access or refresh token.
    expect(await chain(grant)).toEqual({ access: before.access, refresh: before.refresh, unconsumed: before.unconsumed - 1, kept: before.kept });
    // The client retries inside the window with the same token, and gets one chain.
    skew = 3;
    const retried = await refresh(used);
    expect(retried.status, retried.text).toBe(200);
    expect(await chain(grant)).toEqual({ access: before.access + 1, refresh: before.refresh + 1, unconsumed: before.unconsumed, kept: before.kept + 1 });
    expect((await refresh(retried.json!.refresh_token as string)).status).toBe(200);
  });

  it('answers temporarily_unavailable when a losing rotation cannot destroy what it minted, and destroys it when the store lets it', async () => {
    skew = 0;
    failures.clear();
    const used = await signIn();
    const grant = await grantOf(used);
    const first = await refresh(used);
    expect(first.status).toBe(200);
    const afterFirst = await chain(grant);
    // The reuse in the window loses to the kept answer; destroying its access token fails once.
    skew = 2;
    failNext('AccessToken', 'destroy');
    const failed = await refresh(used);
    expectRetryableError(failed);
    expect(failed.text).not.toContain(first.json!.access_token as string);
    // What the reuse minted is gone (the second attempt at destroying it went through).
    expect(await chain(grant)).toEqual(afterFirst);
    // A retry in the window gets the first answer.
    skew = 4;
    const retried = await refresh(used);
    expect(retried.status, retried.text).toBe(200);
    expect(retried.json).toEqual(first.json);
    expect(await chain(grant)).toEqual(afterFirst);
  });
});

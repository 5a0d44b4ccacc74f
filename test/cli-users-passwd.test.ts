// `gatehouse users passwd NAME` against the store a running gateway (auth.mode oauth) uses:
// by default it ends the user's browser sessions and revokes their grants and tokens (a new
// password is often a reaction to a leaked one, RFC 9700 §4.14); `--keep-sessions` changes the
// password only. The CONTRACT.md form, `passwd NAME [--password-stdin]`, keeps working.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from '../src/crypto/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { runCli, tempRoot } from './helpers/cli.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { Browser, csrfOf, form, TEST_REDIRECT, tokenRequest } from './helpers/oauth.js';

const { root, freshDir, remove } = tempRoot('gh-passwd-');
const dataDir = `${freshDir()}/data`;
const PASSWORDS = { bob: 'bob password, long enough', carol: 'carol password, long enough' };

let gw: Awaited<ReturnType<typeof startTestGateway>>;
beforeAll(async () => {
  const store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
  for (const [name, password] of Object.entries(PASSWORDS)) await store.users.add(name, hashPassword(password));
  await store.close();
  gw = await startTestGateway({
    store: 'sqlite',
    dataDir,
    auth: { mode: 'oauth', clients: [{ clientId: 'app', name: 'App', redirectUris: [TEST_REDIRECT] }] },
    servers: { raw: rawStdio() },
  });
}, 60_000);
afterAll(async () => {
  await gw?.close();
  remove();
});

const passwd = (args: string[], password: string) => runCli(['users', 'passwd', ...args, '--data-dir', dataDir], { cwd: root, input: `${password}\n` });

async function mcpStatus(token: string): Promise<number> {
  return (await rawPost(`${gw.base}/raw/mcp`, INIT(), { authorization: `Bearer ${token}` })).status;
}

/** The code flow of `app` in `browser` (its cookies are the session); signs in when the login page shows. */
async function signIn(browser: Browser, user: string, password: string): Promise<{ access: string; refresh: string; loginShown: boolean }> {
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: 'app',
    redirect_uri: TEST_REDIRECT,
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    resource: `${gw.base}/raw/mcp`,
  });
  let step = await browser.follow(`${gw.base}/oauth/authorize?${q.toString()}`, gw.base);
  const loginShown = new URL(step.url).pathname.startsWith('/login/');
  if (loginShown) {
    const posted = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), username: user, password }));
    expect(posted.status).toBe(303);
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, gw.base);
  }
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const posted = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), decision: 'allow' }));
    step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, gw.base);
  }
  const code = new URL(step.url).searchParams.get('code');
  expect(code, step.url).toBeTruthy();
  const exchanged = await tokenRequest(gw.base, { grant_type: 'authorization_code', code: code!, redirect_uri: TEST_REDIRECT, code_verifier: verifier, client_id: 'app' });
  expect(exchanged.status, JSON.stringify(exchanged.json)).toBe(200);
  return { access: exchanged.json.access_token as string, refresh: exchanged.json.refresh_token as string, loginShown };
}

/** What the store holds for `user`, by model (read by a second process, as the CLI does). */
async function recordsOf(user: string): Promise<Record<string, number>> {
  const store: Store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
  try {
    const counts: Record<string, number> = {};
    for (const r of await store.listOAuth({ accountId: user })) counts[r.model] = (counts[r.model] ?? 0) + 1;
    return counts;
  } finally {
    await store.close();
  }
}

async function passwordIs(user: string, password: string): Promise<boolean> {
  const store = await openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });
  try {
    return verifyPassword(password, (await store.users.get(user))!.passwordHash);
  } finally {
    await store.close();
  }
}

describe('gatehouse users passwd', () => {
  it('with --keep-sessions changes the password only: the browser session, the grant and the tokens stay', async () => {
    const browser = new Browser();
    const first = await signIn(browser, 'bob', PASSWORDS.bob);
    expect(first.loginShown).toBe(true);
    const before = await recordsOf('bob');
    expect(before.Session).toBe(1);

    const run = await passwd(['bob', '--password-stdin', '--keep-sessions'], 'a new password for bob');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('changed the password of bob; kept their sessions, grants and tokens (--keep-sessions; in sqlite ');
    expect(await passwordIs('bob', 'a new password for bob')).toBe(true);
    expect(await passwordIs('bob', PASSWORDS.bob)).toBe(false);
    expect(await recordsOf('bob')).toEqual(before);

    // The refresh token still works, and the browser session still skips the login page.
    const refreshed = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: first.refresh, client_id: 'app' });
    expect(refreshed.status, JSON.stringify(refreshed.json)).toBe(200);
    expect(await mcpStatus(refreshed.json.access_token as string)).toBe(200);
    const again = await signIn(browser, 'bob', 'unused: no login page');
    expect(again.loginShown).toBe(false);
    expect(await mcpStatus(again.access)).toBe(200);
  });

  it('by default (the CONTRACT.md form) ends the sessions and revokes the grants and tokens of that user only', async () => {
    const browser = new Browser();
    const carol = await signIn(browser, 'carol', PASSWORDS.carol);
    expect(carol.loginShown).toBe(true);
    const bobBefore = await recordsOf('bob');
    expect(Object.keys(await recordsOf('carol'))).toEqual(expect.arrayContaining(['Session', 'Grant', 'RefreshToken']));

    const run = await passwd(['carol', '--password-stdin'], 'a new password for carol');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/changed the password of carol; ended 1 session and revoked \d+ grants and tokens/);
    expect(await passwordIs('carol', 'a new password for carol')).toBe(true);
    // Remembered consent stays: it is the user's choice about a client, not a credential.
    expect(await recordsOf('carol')).toEqual({ GatehouseConsent: 1 });
    // Another user's sign-ins are not touched.
    expect(await recordsOf('bob')).toEqual(bobBefore);

    const refreshed = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: carol.refresh, client_id: 'app' });
    expect(refreshed.status).toBe(400);
    expect(refreshed.json.error).toBe('invalid_grant');
    // Never presented before, so not in the gateway's short token cache either.
    expect(await mcpStatus(carol.access)).toBe(401);
    const again = await signIn(browser, 'carol', 'a new password for carol');
    expect(again.loginShown).toBe(true);
    expect(await mcpStatus(again.access)).toBe(200);
  });

  it('lists --keep-sessions in its help', async () => {
    const help = await runCli(['users', 'passwd', '--help'], { cwd: root });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--keep-sessions\s+keep their sessions, grants and tokens/);
    expect(help.stdout).toContain('--password-stdin');
  });
});

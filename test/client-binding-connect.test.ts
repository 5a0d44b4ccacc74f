// `gatehouse connect --client-id` without --expected-issuer, run after run, against a real
// `gatehouse serve` (a confidential client added by `gatehouse clients add`) with the encrypted
// file token store: the first login binds the client to the gateway's authorization server
// (SEP-2352, trust on first use, said in a warning) and the binding is kept in the token store;
// a later run whose stored binding names another authorization server refuses the gateway's
// before it sees the client id or secret (the bridge's --trace-file lists every URL it
// fetched), and says how to move on; `gatehouse logout` does, and the next run logs in again.
// With --token-url (no discovery) and no --expected-issuer the stored binding is checked too.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { createFileTokenStore } from '../src/auth/client/token-store.js';
import { connectToolCall, connectUntilExit, OPENER, runCli, tempRoot, tracedUrls, servesKilledAfterEach, serveWithClient, DESK_CLIENT } from './helpers/cli.js';

const PASSWORD = 'a long enough passphrase';
const ELSEWHERE = 'https://login.other.example';

const { freshDir, remove } = tempRoot('gh-client-binding-connect-');
afterAll(remove);
const serving = servesKilledAfterEach();

interface Setup {
  readonly url: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dir: string;
}

async function gateway(): Promise<Setup> {
  const g = await serveWithClient(freshDir(), PASSWORD, DESK_CLIENT, serving);
  return { url: `${g.base}/raw/mcp`, issuer: g.issuer, clientId: g.clientId, clientSecret: g.clientSecret, dir: g.dir };
}

/** connect's arguments (after `connect`): the browser login with the pre-registered client, `more` added. */
const args = (s: Setup, traceFile: string, more: string[] = []) => [
  s.url,
  '--client-id',
  s.clientId,
  '--client-secret',
  'env:DESK_SECRET',
  '--token-store',
  'file',
  '--browser-command',
  `${process.execPath} ${OPENER}`,
  '--trace-file',
  traceFile,
  ...more,
];

// XDG_CONFIG_HOME: the token file and its key live in the test's directory.
const env = (s: Setup, openerLog: string) => ({ DESK_SECRET: s.clientSecret, XDG_CONFIG_HOME: s.dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD, FAKE_OPENER_LOG: openerLog });

/** The token store `connect --token-store file` uses with XDG_CONFIG_HOME=dir. */
const storeOf = (s: Setup) => createFileTokenStore({ dir: join(s.dir, 'gatehouse') });

/** A run that logs in and calls a tool; its stderr. */
const loginAndCall = (s: Setup, name: string, more: string[] = []) => connectToolCall(args(s, join(s.dir, `${name}.trace.jsonl`), more), env(s, join(s.dir, `${name}.opener.log`)), { via: name });

/** The warnings of a run's JSON log that say the client was bound by trust on first use. */
const firstUse = (stderr: string) =>
  stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string; issuer?: string })
    .filter((line) => line.msg.includes('trust on first use'));

describe('gatehouse connect --client-id without --expected-issuer, run after run', () => {
  it('binds on first use and keeps it; a run bound elsewhere refuses before the id or secret goes out; gatehouse logout moves on', async () => {
    const s = await gateway();

    // Run 1: the first login binds the client to the gateway's authorization server.
    const first = await loginAndCall(s, 'first');
    expect(firstUse(first)).toEqual([expect.objectContaining({ level: 'warn', issuer: s.issuer })]);
    const record = await storeOf(s).read(s.url);
    expect(record?.clientIssuers).toEqual({ [s.clientId]: s.issuer });

    // The client was bound to another authorization server first (as if the server had moved
    // since), and no token is left: the next run needs a login.
    await storeOf(s).write(s.url, { issuers: {}, clientIssuers: { [s.clientId]: ELSEWHERE } });
    const traceFile = join(s.dir, 'refused.trace.jsonl');
    const openerLog = join(s.dir, 'refused.opener.log');
    const { status, stderr } = await connectUntilExit(args(s, traceFile), env(s, openerLog), s.dir);
    expect(status, stderr).not.toBe(0);
    expect(stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(ELSEWHERE)} but this call resolved ${JSON.stringify(s.issuer)}`);
    expect(stderr).toContain(`run 'gatehouse logout ${s.url}'`);
    // Neither the authorization endpoint (the id) nor the token endpoint (the secret) was asked.
    expect(stderr).not.toContain('Open this URL to log in');
    expect(existsSync(openerLog)).toBe(false);
    expect(tracedUrls(traceFile).filter((u) => u.includes('/oauth/'))).toEqual([]);
    expect(stderr).not.toContain(s.clientSecret);
    // Nor did the refused discovery become the stored one.
    expect((await storeOf(s).read(s.url))?.discovery).toBeUndefined();

    // The way out it names.
    const logout = await runCli(['logout', s.url, '--token-store', 'file'], { cwd: s.dir, env: { XDG_CONFIG_HOME: s.dir } });
    expect(logout.status, logout.stderr).toBe(0);
    const again = await loginAndCall(s, 'again');
    expect(firstUse(again)).toEqual([expect.objectContaining({ issuer: s.issuer })]);
    expect((await storeOf(s).read(s.url))?.clientIssuers).toEqual({ [s.clientId]: s.issuer });
  }, 120_000);
});

describe('gatehouse connect --client-id --token-url without --expected-issuer', () => {
  it('a stored binding to another server is refused before the id or secret goes out; gatehouse logout moves on; a binding owning the token URL is used', async () => {
    const s = await gateway();
    const base = new URL(s.url).origin;
    const endpoints = ['--token-url', `${base}/oauth/token`, '--authorization-url', `${base}/oauth/authorize`];
    await storeOf(s).write(s.url, { issuers: {}, clientIssuers: { [s.clientId]: ELSEWHERE } });

    const traceFile = join(s.dir, 'token-url-refused.trace.jsonl');
    const openerLog = join(s.dir, 'token-url-refused.opener.log');
    const { status, stderr } = await connectUntilExit(args(s, traceFile, endpoints), env(s, openerLog), s.dir);
    expect(status, stderr).not.toBe(0);
    // The issuer --token-url stands for is the token URL's origin (static-discovery.ts).
    expect(stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(ELSEWHERE)} but this call resolved ${JSON.stringify(base)}`);
    expect(stderr).toContain(`--token-url ${base}/oauth/token is not known to be its token endpoint`);
    expect(stderr).toContain(`run 'gatehouse logout ${s.url}'`);
    expect(stderr).not.toContain('Open this URL to log in');
    expect(existsSync(openerLog)).toBe(false);
    expect(tracedUrls(traceFile).filter((u) => u.includes('/oauth/'))).toEqual([]);
    expect(stderr).not.toContain(s.clientSecret);
    expect((await storeOf(s).read(s.url))?.clientIssuers).toEqual({ [s.clientId]: ELSEWHERE });

    // The way out it names: forgotten, the token URL binds this run only (nothing stored).
    const logout = await runCli(['logout', s.url, '--token-store', 'file'], { cwd: s.dir, env: { XDG_CONFIG_HOME: s.dir } });
    expect(logout.status, logout.stderr).toBe(0);
    const again = await loginAndCall(s, 'token-url-again', endpoints);
    expect(again).toContain('Open this URL to log in');
    expect((await storeOf(s).read(s.url))?.clientIssuers).toBeUndefined();

    // Bound to the gateway's own issuer (as a run with discovery leaves it), no tokens: the
    // token URL is under that issuer, so the login goes on, and the binding stays.
    await storeOf(s).write(s.url, { issuers: {}, clientIssuers: { [s.clientId]: s.issuer } });
    const owned = await loginAndCall(s, 'token-url-owned', endpoints);
    expect(owned).toContain(`client_id=${s.clientId}`);
    expect((await storeOf(s).read(s.url))?.clientIssuers).toEqual({ [s.clientId]: s.issuer });
  }, 120_000);
});

// `gatehouse connect --client-id ... --expected-issuer ISSUER` (the browser login with a
// pre-registered client): the expected issuer binds the client's id and secret (SEP-2352), so
// an authorization server other than ISSUER is refused before it sees either. Against a real
// `gatehouse serve` with a client added by `gatehouse clients add --confidential`; the bridge's
// --trace-file lists every HTTP request it made (URLs only, never a secret).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { connectToolCall, connectUntilExit, OPENER, tempRoot, tracedUrls, servesKilledAfterEach, serveWithClient, DESK_CLIENT, type ServeWithClient } from './helpers/cli.js';

const PASSWORD = 'a long enough passphrase';
const WRONG = 'https://login.other.example';

const { freshDir, remove } = tempRoot('gh-connect-issuer-');
afterAll(remove);
const serving = servesKilledAfterEach();

/** A running gateway (auth.mode oauth, user alice) and a confidential client for the browser login. */
function gateway(): Promise<ServeWithClient> {
  return serveWithClient(freshDir(), PASSWORD, DESK_CLIENT, serving);
}

/** connect's arguments: the browser login with the pre-registered client and `--expected-issuer`. */
function connectArgs(s: ServeWithClient, expectedIssuer: string, traceFile: string): string[] {
  return [`${s.base}/raw/mcp`, '--client-id', s.clientId, '--client-secret', 'env:DESK_SECRET', '--expected-issuer', expectedIssuer, '--token-store', 'memory', '--browser-command', `${process.execPath} ${OPENER}`, '--trace-file', traceFile];
}

function env(s: ServeWithClient, openerLog: string): Record<string, string> {
  return { DESK_SECRET: s.clientSecret, XDG_CONFIG_HOME: s.dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD, FAKE_OPENER_LOG: openerLog };
}

describe('gatehouse connect --client-id --expected-issuer', () => {
  it('another authorization server than the expected issuer: refused, with a clear error, before it sees the client id or secret', async () => {
    const s = await gateway();
    const traceFile = join(s.dir, 'wrong.trace.jsonl');
    const openerLog = join(s.dir, 'wrong.opener.log');
    const { status, stderr } = await connectUntilExit(connectArgs(s, WRONG, traceFile), env(s, openerLog), s.dir);

    expect(status, stderr).not.toBe(0);
    expect(stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(WRONG)} but this call resolved ${JSON.stringify(s.issuer)}`);
    // Neither the authorization endpoint (the id) nor the token endpoint (the secret) was asked.
    expect(stderr).not.toContain('Open this URL to log in');
    expect(existsSync(openerLog)).toBe(false);
    const urls = tracedUrls(traceFile);
    expect(urls.some((u) => u.includes('/.well-known/oauth-authorization-server'))).toBe(true);
    expect(urls.filter((u) => u.includes('/oauth/'))).toEqual([]);
    expect(stderr).not.toContain(s.clientSecret);
  }, 90_000);

  it('the expected issuer itself: the login goes through and the bridge works', async () => {
    const s = await gateway();
    const traceFile = join(s.dir, 'right.trace.jsonl');
    const stderr = await connectToolCall(connectArgs(s, s.issuer, traceFile), env(s, join(s.dir, 'right.opener.log')));
    expect(stderr).toContain(`client_id=${s.clientId}`);
    expect(tracedUrls(traceFile).some((u) => u.includes('/oauth/token'))).toBe(true);
    expect(stderr).not.toContain(s.clientSecret);
  }, 90_000);
});

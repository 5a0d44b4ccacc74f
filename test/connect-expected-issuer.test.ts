// `gatehouse connect --expected-issuer ISSUER` (the browser login) binds the login to that
// authorization server (SEP-2352): another one is refused before it sees anything of the
// client. With a pre-registered client (`--client-id`, added by `gatehouse clients add
// --confidential`), before it sees the id or the secret; without one (dynamic registration),
// before a client is registered there. Against a real `gatehouse serve`; the bridge's
// --trace-file lists every HTTP request it made (URLs only, never a secret).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { connectToolCall, connectUntilExit, OPENER, runCli, tempRoot, tracedUrls, servesKilledAfterEach, serveWithClient, DESK_CLIENT, type ServeWithClient } from './helpers/cli.js';

const PASSWORD = 'a long enough passphrase';
const WRONG = 'https://login.other.example';

const { freshDir, remove } = tempRoot('gh-connect-issuer-');
afterAll(remove);
const serving = servesKilledAfterEach();

/** A running gateway (auth.mode oauth, user alice) and a confidential client for the browser login. */
function gateway(): Promise<ServeWithClient> {
  return serveWithClient(freshDir(), PASSWORD, DESK_CLIENT, serving);
}

/** connect's arguments: the browser login with `--expected-issuer`, and the pre-registered client unless `dynamic`. */
function connectArgs(s: ServeWithClient, expectedIssuer: string, traceFile: string, dynamic = false): string[] {
  const client = dynamic ? [] : ['--client-id', s.clientId, '--client-secret', 'env:DESK_SECRET'];
  return [`${s.base}/raw/mcp`, ...client, '--expected-issuer', expectedIssuer, '--token-store', 'memory', '--browser-command', `${process.execPath} ${OPENER}`, '--trace-file', traceFile];
}

function env(s: ServeWithClient, openerLog: string): Record<string, string> {
  return { DESK_SECRET: s.clientSecret, XDG_CONFIG_HOME: s.dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD, FAKE_OPENER_LOG: openerLog };
}

/** The client ids the gateway knows (`gatehouse clients list`): those added, and those registered. */
async function clientIds(s: ServeWithClient): Promise<string[]> {
  const run = await runCli(['clients', 'list', '--json', '--config', s.config], { cwd: s.dir });
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { clientId: string }[]).map((c) => c.clientId);
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

describe('gatehouse connect --expected-issuer without --client-id (dynamic registration)', () => {
  it('another authorization server than the expected issuer: refused, naming both, before a client is registered or the login starts', async () => {
    const s = await gateway();
    const traceFile = join(s.dir, 'dynamic-wrong.trace.jsonl');
    const openerLog = join(s.dir, 'dynamic-wrong.opener.log');
    const { status, stderr } = await connectUntilExit(connectArgs(s, WRONG, traceFile, true), env(s, openerLog), s.dir);

    expect(status, stderr).not.toBe(0);
    // No credentials exist yet: said as it is, not as the SDK's "credentials are bound to".
    expect(stderr).toContain(`login failed: Authorization server mismatch: --expected-issuer names ${JSON.stringify(WRONG)} as the authorization server to log in with, but the MCP server named ${JSON.stringify(s.issuer)}; nothing of the client was sent to ${JSON.stringify(s.issuer)}`);
    expect(stderr).not.toContain('credentials are bound to');
    // Discovery ran; neither the registration endpoint nor any other of /oauth/ was asked.
    const urls = tracedUrls(traceFile);
    expect(urls.some((u) => u.includes('/.well-known/oauth-authorization-server'))).toBe(true);
    expect(urls.filter((u) => u.includes('/oauth/'))).toEqual([]);
    expect(stderr).not.toContain('Open this URL to log in');
    expect(existsSync(openerLog)).toBe(false);
    // The gateway knows only the client `clients add` made.
    expect(await clientIds(s)).toEqual([s.clientId]);
  }, 90_000);

  it('the expected issuer itself: a client is registered there, the login goes through and the bridge works', async () => {
    const s = await gateway();
    const traceFile = join(s.dir, 'dynamic-right.trace.jsonl');
    const stderr = await connectToolCall(connectArgs(s, s.issuer, traceFile, true), env(s, join(s.dir, 'dynamic-right.opener.log')));
    const urls = tracedUrls(traceFile);
    expect(urls.some((u) => u.includes('/oauth/register'))).toBe(true);
    expect(urls.some((u) => u.includes('/oauth/token'))).toBe(true);
    const ids = await clientIds(s);
    expect(ids).toHaveLength(2);
    const registered = ids.find((id) => id !== s.clientId)!;
    expect(stderr).toContain(`client_id=${registered}`);
  }, 90_000);
});

// `gatehouse connect`'s stderr is the bridge's log: JSON lines only, so that a desktop client's
// log viewer (and anyone piping it to jq) can read every line. Run as a person runs it: a client
// added with `gatehouse clients add`, a real `gatehouse serve`, and the bridge in front of it
// driven over stdio by the SDK client. The SDK would otherwise print its own plain-text warnings:
// for client credentials that name no authorization server (`Omitting expectedIssuer ...`), and
// for a --client-id client with no issuer stamp (`SEP-2352: stored OAuth credential ...`). The
// browser login's authorization URL is the one plain-text notice, on purpose (CONTRACT.md).
import { afterAll, describe, expect, it } from 'vitest';

import { connectToolCall, OPENER, tempRoot, servesKilledAfterEach, serveWithClient, DESK_CLIENT } from './helpers/cli.js';

const PASSWORD = 'a long enough passphrase';

const { freshDir, remove } = tempRoot('gh-connect-stderr-');
afterAll(remove);
const serving = servesKilledAfterEach();

interface LogLine {
  level: string;
  msg: string;
  issuer?: string;
}

/** A running gateway (auth.mode oauth, one stdio server, user alice) with a client added by `clients add ADD_ARGS`. */
function gatewayWith(addArgs: string[]): Promise<{ base: string; clientId: string; clientSecret: string; dir: string }> {
  return serveWithClient(freshDir(), PASSWORD, addArgs, serving);
}

const gatewayWithRobot = () => gatewayWith(['--name', 'Robot', '--redirect-uri', 'https://robot.example/cb', '--grant', 'client_credentials']);

const isJson = (line: string): boolean => {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
};

/** Every line of `stderr` as a log record; a line that is not JSON fails the test, quoted. */
function logLines(stderr: string): LogLine[] {
  const lines = stderr.split('\n').filter((line) => line.trim() !== '');
  expect(lines.filter((line) => !isJson(line)), 'stderr lines that are not JSON').toEqual([]);
  return lines.map((line) => JSON.parse(line) as LogLine);
}

describe('gatehouse connect --grant client_credentials against gatehouse serve: stderr is JSON lines only', () => {
  it('without --expected-issuer: the credentials are bound to the issuer discovery finds, and our log says so', async () => {
    const { base, clientId, clientSecret, dir } = await gatewayWithRobot();
    const stderr = await connectToolCall([`${base}/raw/mcp`, '--grant', 'client_credentials', '--client-id', clientId, '--client-secret', 'env:ROBOT_SECRET'], {
      ROBOT_SECRET: clientSecret,
      XDG_CONFIG_HOME: dir,
    });
    const records = logLines(stderr);
    expect(stderr).not.toContain(clientSecret);
    const bound = records.filter((r) => r.msg.includes('no expected issuer given'));
    expect(bound).toHaveLength(1);
    expect(bound[0]).toMatchObject({ level: 'warn' });
    // The gateway's own issuer (its metadata's `issuer`, RFC 8414 §3.3).
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    expect(bound[0]!.issuer).toBe(metadata.issuer);
    // It names the flag that binds them, and the server they went to.
    expect(bound[0]!.msg).toContain('set --expected-issuer to choose it yourself');
    expect(bound[0]!.msg).toContain(metadata.issuer);
  }, 90_000);

  it('with --expected-issuer: nothing to say about it, and still only JSON lines', async () => {
    const { base, clientId, clientSecret, dir } = await gatewayWithRobot();
    const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    const stderr = await connectToolCall(
      [`${base}/raw/mcp`, '--grant', 'client_credentials', '--client-id', clientId, '--client-secret', 'env:ROBOT_SECRET', '--expected-issuer', metadata.issuer],
      { ROBOT_SECRET: clientSecret, XDG_CONFIG_HOME: dir },
    );
    const records = logLines(stderr);
    expect(records.some((r) => r.msg === 'bridge ready')).toBe(true);
    expect(records.filter((r) => r.msg.includes('expected issuer'))).toEqual([]);
  }, 90_000);
});

describe('gatehouse connect --client-id (the browser login) against gatehouse serve', () => {
  it('writes JSON lines and the authorization URL notice, nothing else', async () => {
    const { base, clientId, clientSecret, dir } = await gatewayWith(DESK_CLIENT);
    const stderr = await connectToolCall(
      [`${base}/raw/mcp`, '--client-id', clientId, '--client-secret', 'env:DESK_SECRET', '--browser-command', `${process.execPath} ${OPENER}`],
      { DESK_SECRET: clientSecret, XDG_CONFIG_HOME: dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD },
    );
    const plain = stderr.split('\n').filter((line) => line.trim() !== '' && !isJson(line));
    expect(plain).toEqual(['Open this URL to log in:', expect.stringMatching(new RegExp(`^  ${base}/oauth/authorize\\?`))]);
    expect(stderr).not.toContain(clientSecret);
  }, 90_000);
});

// The token endpoint's OAuth errors reach the SDK as what they are, so that its recovery runs:
// `gatehouse connect` with tokens from an earlier `gatehouse login`, against a real `gatehouse
// serve` that no longer honours them. The bridge's requests go through the remote link's HTTP
// client (undici's fetch), whose answers the SDK once misread: it tells an error answer from a
// string by `instanceof Response`, and undici's Response is not the global class, so every
// error became `server_error ... Raw body: [object Response]`.
//   - the user's password changed (`users passwd` revokes their tokens): the refresh is
//     refused with invalid_grant; the SDK drops the tokens and the person logs in again;
//   - the dynamically registered client was removed (`clients remove`): invalid_client; the
//     SDK drops the registration, registers again, and the person logs in with the new client
//     (misread, it sent the person to log in with the removed client, which the
//     authorization server refuses: the login then waited for a callback that never came).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { connectToolCall, OPENER, runCli, startServe, tempRoot, servesKilledAfterEach } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const PASSWORD = 'a long enough passphrase';

const { freshDir, remove } = tempRoot('gh-oauth-errors-');
afterAll(remove);
const serving = servesKilledAfterEach();

interface Gateway {
  readonly mcpUrl: string;
  readonly dir: string;
  readonly config: string;
  /** The bridge's environment: its own config home (the token files) and the browser's login. */
  readonly env: (password: string, openerLog: string) => Record<string, string>;
}

/** A running `gatehouse serve` (auth.mode oauth, one stdio server, user alice). */
async function gateway(): Promise<Gateway> {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'oauth' }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } }));
  const user = await runCli(['users', 'add', 'alice', '--password-stdin', '--config', config], { cwd: dir, input: `${PASSWORD}\n` });
  expect(user.status, user.stderr).toBe(0);
  const run = await startServe(['--config', config], dir);
  serving.push(run);
  return {
    mcpUrl: `${run.base}/raw/mcp`,
    dir,
    config,
    env: (password, openerLog) => ({ XDG_CONFIG_HOME: join(dir, 'home'), FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: password, FAKE_OPENER_LOG: openerLog }),
  };
}

const BRIDGE_FLAGS = ['--token-store', 'file', '--browser-command', `${process.execPath} ${OPENER}`];

/** `gatehouse login`: tokens (and a dynamic registration) stored, never shown to the MCP server yet. */
async function login(gw: Gateway): Promise<void> {
  const run = await runCli(['login', gw.mcpUrl, ...BRIDGE_FLAGS], { cwd: gw.dir, env: gw.env(PASSWORD, join(gw.dir, 'opener-login.log')) });
  expect(run.status, run.stderr).toBe(0);
}

async function clientIds(gw: Gateway): Promise<string[]> {
  const run = await runCli(['clients', 'list', '--json', '--config', gw.config], { cwd: gw.dir });
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { clientId: string }[]).map((c) => c.clientId);
}

/** Settles (rejects) once the stand-in browser gave up: the authorization server refused to show the login. */
function openerFailure(log: string): { failed: Promise<never>; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (text.includes(' failed: ')) reject(new Error(`the browser login failed:\n${text}`));
    }, 100);
  });
  failed.catch(() => undefined);
  return { failed, stop: () => clearInterval(timer) };
}

/** `gatehouse connect` driven over stdio by the SDK client for one tools/call, until the stand-in browser gives up; its stderr. */
async function bridgeCall(gw: Gateway, password: string): Promise<string> {
  const openerLog = join(gw.dir, `opener-${Date.now()}.log`);
  const opener = openerFailure(openerLog);
  try {
    return await connectToolCall([gw.mcpUrl, ...BRIDGE_FLAGS], gw.env(password, openerLog), { failed: opener.failed });
  } finally {
    opener.stop();
  }
}

/** The SDK's console warnings, which connect logs as JSON records (event mcp_sdk); a raw `[mcp-sdk]` line fails. */
function sdkWarnings(stderr: string): string[] {
  expect(stderr).not.toMatch(/^\[mcp-sdk\]/m);
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { event?: string; msg?: string })
    .filter((record) => record.event === 'mcp_sdk')
    .map((record) => record.msg ?? '');
}

describe('gatehouse connect: the token endpoint refuses what was stored, and the SDK recovers', () => {
  it('a revoked refresh token (users passwd): invalid_grant, the tokens are dropped and the person logs in again', async () => {
    const gw = await gateway();
    await login(gw);
    const newPassword = 'a new password for alice';
    const passwd = await runCli(['users', 'passwd', 'alice', '--password-stdin', '--config', gw.config], { cwd: gw.dir, input: `${newPassword}\n` });
    expect(passwd.status, passwd.stderr).toBe(0);
    expect(passwd.stderr).toMatch(/revoked \d+ grants and tokens/);

    const stderr = await bridgeCall(gw, newPassword);
    // The SDK names the real error when it drops the tokens (its console line, made a log record).
    expect(sdkWarnings(stderr).join('\n')).toContain('OAuth "invalid_grant"');
    expect(stderr).not.toContain('[object Response]');
    expect(stderr).toContain('Open this URL to log in:');
  }, 90_000);

  it('a removed client (clients remove): invalid_client, the client registers again and the person logs in with it', async () => {
    const gw = await gateway();
    await login(gw);
    const [registered] = await clientIds(gw);
    expect(registered).toBeDefined();
    const removed = await runCli(['clients', 'remove', registered!, '--config', gw.config], { cwd: gw.dir });
    expect(removed.status, removed.stderr).toBe(0);
    expect(await clientIds(gw)).toEqual([]);

    const stderr = await bridgeCall(gw, PASSWORD);
    expect(sdkWarnings(stderr).join('\n')).toContain('OAuth "invalid_client"');
    expect(stderr).not.toContain('[object Response]');
    const now = await clientIds(gw);
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(registered);
    expect(stderr).toContain(`client_id=${now[0]}`);
  }, 90_000);
});

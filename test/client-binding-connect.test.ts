// `gatehouse connect --client-id` without --expected-issuer, run after run, against a real
// `gatehouse serve` (a confidential client added by `gatehouse clients add`) with the encrypted
// file token store: the first login binds the client to the gateway's authorization server
// (SEP-2352, trust on first use, said in a warning) and the binding is kept in the token store;
// a later run whose stored binding names another authorization server refuses the gateway's
// before it sees the client id or secret (the bridge's --trace-file lists every URL it
// fetched), and says how to move on; `gatehouse logout` does, and the next run logs in again.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';

import { createFileTokenStore } from '../src/auth/client/token-store.js';
import { CLI, runCli, tempRoot, TSX, servesKilledAfterEach, serveWithClient, DESK_CLIENT } from './helpers/cli.js';

const OPENER = fileURLToPath(new URL('./fixtures/fake-opener.mjs', import.meta.url));
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

const args = (s: Setup, traceFile: string) => [
  'connect',
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
];

// XDG_CONFIG_HOME: the token file and its key live in the test's directory.
const env = (s: Setup, openerLog: string) => ({ DESK_SECRET: s.clientSecret, XDG_CONFIG_HOME: s.dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD, FAKE_OPENER_LOG: openerLog });

/** The token store `connect --token-store file` uses with XDG_CONFIG_HOME=dir. */
const storeOf = (s: Setup) => createFileTokenStore({ dir: join(s.dir, 'gatehouse') });

function fetched(traceFile: string): string[] {
  if (!existsSync(traceFile)) return [];
  return readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { kind: string; url?: string })
    .filter((span) => span.kind === 'http' && span.url !== undefined)
    .map((span) => span.url!);
}

/** A run that logs in and calls a tool; its stderr. */
async function loginAndCall(s: Setup, name: string): Promise<string> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', TSX, CLI, ...args(s, join(s.dir, `${name}.trace.jsonl`))],
    env: { ...process.env, ...env(s, join(s.dir, `${name}.opener.log`)) },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'client-binding-test', version: '1.0.0' });
  try {
    await client.connect(transport).catch((error: unknown) => {
      throw new Error(`connect failed: ${String(error)}\n${stderr}`);
    });
    const echoed = await client.callTool({ name: 'echo', arguments: { via: name } });
    expect(JSON.stringify(echoed.content)).toContain(name);
  } finally {
    await client.close();
  }
  return stderr;
}

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
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args(s, traceFile)], { cwd: s.dir, env: { ...process.env, ...env(s, openerLog) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdout.once('data', () => child.stdin.end());
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'client-binding-test', version: '1.0.0' } } })}\n`);
    expect(await closed, stderr).not.toBe(0);
    expect(stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(ELSEWHERE)} but this call resolved ${JSON.stringify(s.issuer)}`);
    expect(stderr).toContain(`run 'gatehouse logout ${s.url}'`);
    // Neither the authorization endpoint (the id) nor the token endpoint (the secret) was asked.
    expect(stderr).not.toContain('Open this URL to log in');
    expect(existsSync(openerLog)).toBe(false);
    expect(fetched(traceFile).filter((u) => u.includes('/oauth/'))).toEqual([]);
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

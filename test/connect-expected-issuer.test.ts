// `gatehouse connect --client-id ... --expected-issuer ISSUER` (the browser login with a
// pre-registered client): the expected issuer binds the client's id and secret (SEP-2352), so
// an authorization server other than ISSUER is refused before it sees either. Against a real
// `gatehouse serve` with a client added by `gatehouse clients add --confidential`; the bridge's
// --trace-file lists every HTTP request it made (URLs only, never a secret).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, describe, expect, it } from 'vitest';

import { CLI, tempRoot, TSX, servesKilledAfterEach, serveWithClient, DESK_CLIENT } from './helpers/cli.js';

const OPENER = fileURLToPath(new URL('./fixtures/fake-opener.mjs', import.meta.url));
const PASSWORD = 'a long enough passphrase';

const { freshDir, remove } = tempRoot('gh-connect-issuer-');
afterAll(remove);
const serving = servesKilledAfterEach();

interface Setup {
  readonly base: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dir: string;
}

/** A running gateway (auth.mode oauth, user alice) and a confidential client for the browser login. */
function gateway(): Promise<Setup> {
  return serveWithClient(freshDir(), PASSWORD, DESK_CLIENT, serving);
}

function connectArgs(s: Setup, expectedIssuer: string, traceFile: string): string[] {
  return [
    'connect',
    `${s.base}/raw/mcp`,
    '--client-id',
    s.clientId,
    '--client-secret',
    'env:DESK_SECRET',
    '--expected-issuer',
    expectedIssuer,
    '--token-store',
    'memory',
    '--browser-command',
    `${process.execPath} ${OPENER}`,
    '--trace-file',
    traceFile,
  ];
}

function env(s: Setup, openerLog: string): Record<string, string> {
  return { DESK_SECRET: s.clientSecret, XDG_CONFIG_HOME: s.dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD, FAKE_OPENER_LOG: openerLog };
}

/** The URLs the bridge fetched, from its trace file. */
function fetched(traceFile: string): string[] {
  if (!existsSync(traceFile)) return [];
  return readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { kind: string; url?: string })
    .filter((span) => span.kind === 'http' && span.url !== undefined)
    .map((span) => span.url!);
}

describe('gatehouse connect --client-id --expected-issuer', () => {
  it('another authorization server than the expected issuer: refused, with a clear error, before it sees the client id or secret', async () => {
    const s = await gateway();
    const wrong = 'https://login.other.example';
    const traceFile = join(s.dir, 'wrong.trace.jsonl');
    const openerLog = join(s.dir, 'wrong.opener.log');
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...connectArgs(s, wrong, traceFile)], { cwd: s.dir, env: { ...process.env, ...env(s, openerLog) }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    // An answer to initialize (the login went through): nothing more to ask, stdin ends.
    child.stdout.once('data', () => child.stdin.end());
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'expected-issuer-test', version: '1.0.0' } } };
    child.stdin.write(`${JSON.stringify(initialize)}\n`);
    const status = await closed;

    expect(status, stderr).not.toBe(0);
    expect(stderr).toContain(`login failed: Authorization server mismatch: credentials are bound to ${JSON.stringify(wrong)} but this call resolved ${JSON.stringify(s.issuer)}`);
    // Neither the authorization endpoint (the id) nor the token endpoint (the secret) was asked.
    expect(stderr).not.toContain('Open this URL to log in');
    expect(existsSync(openerLog)).toBe(false);
    const urls = fetched(traceFile);
    expect(urls.some((u) => u.includes('/.well-known/oauth-authorization-server'))).toBe(true);
    expect(urls.filter((u) => u.includes('/oauth/'))).toEqual([]);
    expect(stderr).not.toContain(s.clientSecret);
  }, 90_000);

  it('the expected issuer itself: the login goes through and the bridge works', async () => {
    const s = await gateway();
    const traceFile = join(s.dir, 'right.trace.jsonl');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', TSX, CLI, ...connectArgs(s, s.issuer, traceFile)],
      env: { ...process.env, ...env(s, join(s.dir, 'right.opener.log')) } as Record<string, string>,
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'expected-issuer-test', version: '1.0.0' });
    try {
      await client.connect(transport).catch((error: unknown) => {
        throw new Error(`connect failed: ${String(error)}\n${stderr}`);
      });
      const echoed = await client.callTool({ name: 'echo', arguments: { via: 'the bridge' } });
      expect(JSON.stringify(echoed.content)).toContain('the bridge');
    } finally {
      await client.close();
    }
    expect(stderr).toContain(`client_id=${s.clientId}`);
    expect(fetched(traceFile).some((u) => u.includes('/oauth/token'))).toBe(true);
    expect(stderr).not.toContain(s.clientSecret);
  }, 90_000);
});

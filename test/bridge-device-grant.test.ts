// `--grant device_code` against an authorization server that does not offer RFC 8628: our own
// (`gatehouse serve`, oidc-provider's deviceFlow off). The bridge must say that the server does
// not offer the grant and which grants to use instead, before it tries to register a client
// for it, rather than an HTTP 400 that names the MCP server's URL.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { deviceGrantNotOffered } from '../src/auth/client/device-flow.js';
import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword('a long enough passphrase') } } },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(() => gw?.close());

/** Runs a gatehouse command to its end; `input` is written to its stdin, which then stays open. */
function run(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'gatehouse-device-')) },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (input !== undefined) child.stdin!.write(input);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      child.stdin?.destroy();
      resolve({ code, stdout, stderr });
    });
  });
}

function expectClearRefusal(stderr: string): void {
  expect(stderr).toContain(`gatehouse: login failed: the authorization server ${gw.base} does not offer the device authorization grant (RFC 8628)`);
  expect(stderr).toContain('no device_authorization_endpoint');
  // Our server lists both in grant_types_supported: both are offered instead.
  expect(stderr).toContain('use --grant authorization_code');
  expect(stderr).toContain('--grant client_credentials');
  // Not the registration's refusal, not an HTTP status of the MCP URL.
  expect(stderr).not.toContain('HTTP 400');
  expect(stderr).not.toMatch(/gatehouse: .*\/raw\/mcp/);
}

describe('--grant device_code against gatehouse serve', () => {
  it('login: exit 1, naming the missing grant and the grants to use', async () => {
    const r = await run(['login', `${gw.base}/raw/mcp`, '--grant', 'device_code', '--token-store', 'memory']);
    expect(r.code).toBe(1);
    expectClearRefusal(r.stderr);
  }, 60_000);

  it("connect: the desktop client's initialize ends the bridge with the same words (exit 1)", async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'device-test', version: '1' } } };
    const r = await run(['connect', `${gw.base}/raw/mcp`, '--grant', 'device_code', '--token-store', 'memory'], `${JSON.stringify(initialize)}\n`);
    expect(r.code).toBe(1);
    expectClearRefusal(r.stderr);
  }, 60_000);

  it('names only the grants the server lists, when it lists them', () => {
    const onlyCode = deviceGrantNotOffered({ issuer: 'https://as.example', token_endpoint: 'https://as.example/token', grant_types_supported: ['authorization_code', 'refresh_token'] });
    expect(onlyCode.message).toContain('--grant authorization_code');
    expect(onlyCode.message).not.toContain('client_credentials');
    const none = deviceGrantNotOffered({ issuer: 'https://as.example', token_endpoint: 'https://as.example/token', grant_types_supported: ['refresh_token'] });
    expect(none.message).toMatch(/no device_authorization_endpoint$/);
  });
});

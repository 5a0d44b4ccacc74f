// What connect/login's OAuth flags put on the wire, as the stand-in authorization server
// (test/helpers/oauth-stand-in.ts) receives it: --scope and --resource on the authorization and
// token requests of both grants, --expected-issuer keeping the client secret from any other
// authorization server, --client-metadata-url as the client_id (no registration), and
// --private-key signing a client assertion (private_key_jwt) instead of sending a secret.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { OAuthStandIn } from './helpers/oauth-stand-in.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const BROWSER = fileURLToPath(new URL('../scripts/conformance/fake-browser.mjs', import.meta.url));
const CLIENT_ID = 'wire-client';
const CLIENT_SECRET = `wire-secret-${Math.random().toString(36).slice(2)}`;
const RESOURCE = 'https://resource.example/mcp';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let as: OAuthStandIn;

beforeAll(async () => {
  as = await new OAuthStandIn().start();
  as.addClient(CLIENT_ID, CLIENT_SECRET);
});
afterAll(() => as?.close());
beforeEach(() => {
  as.requests.length = 0;
  as.cimd = false;
  for (const k of Object.keys(as.counts)) as.counts[k as keyof typeof as.counts] = 0;
});

const tempDir = () => mkdtempSync(join(tmpdir(), 'gatehouse-wire-'));

/** `gatehouse login ARGS` to its end, with none of this process's OAuth variables. */
function login(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(OAUTH2_|UPSTREAM_|MCP_PROXY_CONFIG|GOOGLE_CLIENT_|BROWSER)/.test(k)));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'login', as.mcpUrl, '--token-store', 'memory', ...args], {
      env: { ...env, XDG_CONFIG_HOME: tempDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const browser = ['--browser-command', `${process.execPath} ${BROWSER}`];
const requestsTo = (path: string) => as.requests.filter((r) => r.path === path);

describe('--scope and --resource', () => {
  it('the browser login: on the authorization request and the code exchange', async () => {
    const r = await login([...browser, '--scope', 'mcp tools:read', '--resource', RESOURCE]);
    expect(r.code, r.stderr).toBe(0);
    const [authorize] = requestsTo('/authorize');
    expect(authorize?.query.get('scope')).toBe('mcp tools:read');
    expect(authorize?.query.get('resource')).toBe(RESOURCE);
    const exchange = requestsTo('/token').find((t) => t.form.get('grant_type') === 'authorization_code');
    expect(exchange?.form.get('resource')).toBe(RESOURCE);
    expect(as.counts.register).toBe(1);
  }, 60_000);

  it('client_credentials: on the token request', async () => {
    const r = await login(['--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--scope', 'mcp admin', '--resource', RESOURCE]);
    expect(r.code, r.stderr).toBe(0);
    const [token] = requestsTo('/token');
    expect(token?.form.get('grant_type')).toBe('client_credentials');
    expect(token?.form.get('scope')).toBe('mcp admin');
    expect(token?.form.get('resource')).toBe(RESOURCE);
  }, 60_000);

  it('without them: the discovered scope and the server URL as the resource', async () => {
    const r = await login(['--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET]);
    expect(r.code, r.stderr).toBe(0);
    const [token] = requestsTo('/token');
    expect(token?.form.get('resource')).toBe(as.mcpUrl);
    expect(token?.form.get('scope')).toBe('mcp'); // the protected resource's scopes_supported
  }, 60_000);
});

describe('--expected-issuer', () => {
  it('another issuer than the metadata names: refused before the secret is sent anywhere (exit 1)', async () => {
    const r = await login(['--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--expected-issuer', 'https://sso.corp.example']);
    expect(r.code).toBe(1);
    expect(requestsTo('/token')).toHaveLength(0);
    expect(as.counts.clientCredentials).toBe(0);
    expect(r.stderr).toContain('client credentials refused');
    expect(r.stderr).not.toContain(CLIENT_SECRET);
  }, 60_000);

  it('the issuer the metadata names: the token request goes out', async () => {
    const r = await login(['--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', CLIENT_SECRET, '--expected-issuer', as.base]);
    expect(r.code, r.stderr).toBe(0);
    expect(requestsTo('/token')).toHaveLength(1);
    expect(as.counts.clientCredentials).toBe(1);
  }, 60_000);
});

describe('--client-metadata-url', () => {
  it('is the client_id of the authorization and token requests; nothing is registered', async () => {
    as.cimd = true;
    const cimd = 'https://client.example/gatehouse.json';
    const r = await login([...browser, '--client-metadata-url', cimd]);
    expect(r.code, r.stderr).toBe(0);
    expect(requestsTo('/authorize')[0]?.query.get('client_id')).toBe(cimd);
    expect(requestsTo('/token')[0]?.form.get('client_id')).toBe(cimd);
    expect(as.counts.register).toBe(0);
  }, 60_000);
});

describe('--private-key', () => {
  it('client_credentials with private_key_jwt: a client assertion signed with the key, no secret', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyFile = join(tempDir(), 'client-key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    as.keyClients.set('jwt-client', publicKey);
    try {
      const r = await login(['--grant', 'client_credentials', '--client-id', 'jwt-client', '--private-key', keyFile]);
      expect(r.code, r.stderr).toBe(0);
    } finally {
      as.keyClients.delete('jwt-client');
    }
    const [token] = requestsTo('/token');
    expect(token?.form.get('client_assertion_type')).toBe(ASSERTION_TYPE);
    const assertion = token!.form.get('client_assertion')!;
    // Signed with the key in the file (the stand-in also verified it, or it issued no token).
    await expect(jwtVerify(assertion, publicKey, { issuer: 'jwt-client', subject: 'jwt-client' })).resolves.toBeDefined();
    const claims = decodeJwt(assertion);
    expect([claims.aud].flat().some((aud) => aud === as.base || aud === `${as.base}/token`)).toBe(true);
    expect(token?.form.get('client_secret')).toBeNull();
    expect(token?.authorization).toBeUndefined();
    expect(as.counts.clientCredentials).toBe(1);
  }, 60_000);
});

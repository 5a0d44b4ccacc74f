// mcp-oauth2-proxy's `oauth2.audience` and `oauth2.authStyle` (seed 001) reach the token
// endpoint: a real `gatehouse connect` against a real `gatehouse serve` (static token mode, the
// raw fixture as server `raw`), with a capture authorization server (node:http) that records
// every request and issues the token the gateway accepts. Its metadata is never published, so
// the endpoints are given (tokenUrl / --token-url) and nothing names the client auth method:
// authStyle decides it (RFC 6749 §2.3.1: header = HTTP Basic, body = client_id and
// client_secret in the form). Auth0 needs `audience` on the token request (client_credentials)
// and on the authorization request of a browser login.
// The last describe has it publish metadata and play the MCP server too: a server that accepts
// no secret method gets no secret, and a device flow sends none in clear to another machine.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { connectToolCall, connectUntilExit, startServe, tempRoot, tracedUrls, type ServeRun } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';
import { closeServer, requestText } from './helpers/http-stub.js';

const TOKEN = 'token-from-the-capture-endpoint';
const AUDIENCE = 'https://api.example.com/';
const CLIENT_ID = 'svc-client';
const SECRET = 'the-s3cret';

interface Captured {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly form: URLSearchParams;
}

const { freshDir, remove } = tempRoot('gh-audience-');
let gateway: ServeRun;
let idp: Server;
let idpBase: string;
let captured: Captured[] = [];
/** The authorization server metadata the capture server publishes, if any. */
let published: Record<string, unknown> | undefined;

beforeAll(async () => {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'tokens', tokens: [TOKEN] }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } }));
  gateway = await startServe(['--config', config], dir);
  idp = createServer((req, res) => {
    void requestText(req).then((body) => {
      const url = new URL(req.url ?? '/', 'http://idp');
      captured.push({ method: req.method ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, form: new URLSearchParams(body) });
      // The metadata-driven cases: the capture server is the MCP server too (always 401), and
      // publishes resource and authorization server metadata (`published`).
      if (url.pathname === '/mcp') {
        res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${idpBase}/.well-known/oauth-protected-resource/mcp"` }).end();
        return;
      }
      if (url.pathname === '/.well-known/oauth-protected-resource/mcp') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ resource: `${idpBase}/mcp`, authorization_servers: [idpBase] }));
        return;
      }
      if (url.pathname.startsWith('/.well-known/')) {
        if (url.pathname === '/.well-known/oauth-authorization-server' && published !== undefined) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(published));
        else res.writeHead(404).end();
        return;
      }
      if (url.pathname === '/authorize') {
        // The person logged in and allowed: back to the loopback callback with a code.
        const back = new URL(url.searchParams.get('redirect_uri')!);
        back.searchParams.set('code', 'the-code');
        back.searchParams.set('state', url.searchParams.get('state') ?? '');
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 3600 }));
    });
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  idpBase = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  gateway?.child.kill('SIGKILL');
  if (idp) await closeServer(idp);
  remove();
});

beforeEach(() => {
  captured = [];
  published = undefined;
});

const mcpUrl = () => `${gateway.base}/raw/mcp`;
const tokenRequests = () => captured.filter((c) => c.path === '/token');
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('oauth2.audience and oauth2.authStyle of mcp-oauth2-proxy', () => {
  it('its JSON file (MCP_PROXY_CONFIG), client_credentials, authStyle body: client_secret_post with the audience', async () => {
    const file = join(freshDir(), 'proxy.json');
    writeFileSync(
      file,
      JSON.stringify({
        upstream: { url: mcpUrl() },
        oauth2: { grant: 'client_credentials', clientId: CLIENT_ID, clientSecret: SECRET, tokenUrl: `${idpBase}/token`, audience: AUDIENCE, authStyle: 'body' },
      }),
    );
    const stderr = await connectToolCall(['--token-store', 'memory'], { MCP_PROXY_CONFIG: file });
    expect(stderr).not.toContain('has no effect');
    const [request] = tokenRequests();
    expect(request, stderr).toBeDefined();
    expect(request!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(request!.form)).toEqual({ grant_type: 'client_credentials', audience: AUDIENCE, client_id: CLIENT_ID, client_secret: SECRET });
  });

  it('its variables (OAUTH2_AUDIENCE, OAUTH2_AUTH_STYLE=header): HTTP Basic, the secret not in the body', async () => {
    const env = {
      UPSTREAM_URL: mcpUrl(),
      OAUTH2_GRANT: 'client_credentials',
      OAUTH2_CLIENT_ID: CLIENT_ID,
      OAUTH2_CLIENT_SECRET: SECRET,
      OAUTH2_TOKEN_URL: `${idpBase}/token`,
      OAUTH2_AUDIENCE: AUDIENCE,
      OAUTH2_AUTH_STYLE: 'header',
    };
    const stderr = await connectToolCall(['--token-store', 'memory'], env);
    expect(stderr).not.toContain('has no effect');
    const [request] = tokenRequests();
    expect(request, stderr).toBeDefined();
    expect(request!.headers.authorization).toBe(basic(CLIENT_ID, SECRET));
    expect(Object.fromEntries(request!.form)).toEqual({ grant_type: 'client_credentials', audience: AUDIENCE });
  });

  it('flags, browser login: the audience on the authorization request and the code exchange; --auth-style body', async () => {
    const dir = freshDir();
    // The browser: follows the authorization URL to the loopback callback, as a person's would.
    const browser = join(dir, 'browser.mjs');
    writeFileSync(browser, 'await fetch(process.argv[2]);\n');
    const args = [
      mcpUrl(),
      ...['--token-url', `${idpBase}/token`, '--authorization-url', `${idpBase}/authorize`],
      ...['--client-id', CLIENT_ID, '--client-secret', SECRET, '--audience', AUDIENCE, '--auth-style', 'body'],
      ...['--token-store', 'memory', '--browser-command', `${process.execPath} ${browser}`],
    ];
    const stderr = await connectToolCall(args, {});
    const authorize = captured.find((c) => c.path === '/authorize');
    expect(authorize, stderr).toBeDefined();
    expect(authorize!.query.get('audience')).toBe(AUDIENCE);
    expect(authorize!.query.get('client_id')).toBe(CLIENT_ID);
    const [exchange] = tokenRequests();
    expect(exchange!.headers.authorization).toBeUndefined();
    const form = Object.fromEntries(exchange!.form);
    expect(form).toMatchObject({ grant_type: 'authorization_code', code: 'the-code', audience: AUDIENCE, client_id: CLIENT_ID, client_secret: SECRET });
    expect(form.code_verifier).toMatch(/^[\w.~-]{43,128}$/);
  });

  it('without them: HTTP Basic and no audience, as before', async () => {
    const stderr = await connectToolCall(
      [mcpUrl(), '--grant', 'client_credentials', '--token-url', `${idpBase}/token`, '--client-id', CLIENT_ID, '--client-secret', SECRET, '--token-store', 'memory'],
      {},
    );
    const [request] = tokenRequests();
    expect(request, stderr).toBeDefined();
    expect(request!.headers.authorization).toBe(basic(CLIENT_ID, SECRET));
    expect(Object.fromEntries(request!.form)).toEqual({ grant_type: 'client_credentials' });
  });
});

// The capture server as the MCP server and its authorization server, with metadata: what it
// lists decides where, and whether, the secret goes.
describe('the client secret only where the authorization server metadata allows it', () => {
  const metadata = (extra: Record<string, unknown>) => ({
    issuer: idpBase,
    authorization_endpoint: `${idpBase}/authorize`,
    token_endpoint: `${idpBase}/token`,
    device_authorization_endpoint: `${idpBase}/device`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    grant_types_supported: ['authorization_code', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
    ...extra,
  });
  const basicOf = (header: string | undefined) => (header?.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : '');
  const secretSent = () => captured.some((c) => c.form.get('client_secret') === SECRET || basicOf(c.headers.authorization).includes(SECRET));

  it.each([
    ['client_credentials', ['--auth-style', 'header']],
    ['client_credentials', []],
    ['device_code', []],
  ])('--grant %s %j: only private_key_jwt listed, no request carries the secret and the error says why', async (grant, extra) => {
    published = metadata({ token_endpoint_auth_methods_supported: ['private_key_jwt'] });
    const dir = freshDir();
    const args = [`${idpBase}/mcp`, '--grant', grant, '--client-id', CLIENT_ID, '--client-secret', SECRET, ...extra, '--token-store', 'memory', '--expected-issuer', idpBase];
    const { status, stderr } = await connectUntilExit(args, {}, dir);
    expect(status, stderr).toBe(1);
    expect(stderr).toContain('the authorization server accepts none of the secret methods: its token_endpoint_auth_methods_supported is private_key_jwt');
    expect(stderr).toContain('use --private-key');
    expect(captured.filter((c) => c.path === '/token' || c.path === '/device')).toEqual([]);
    expect(secretSent()).toBe(false);
    expect(stderr).not.toContain(SECRET);
    // A login that cannot go on, said as one (not as the MCP server's connection ending).
    expect(stderr).toContain('gatehouse: login failed: the authorization server accepts none');
    expect(stderr).not.toContain('the connection to the remote MCP server ended');
  }, 60_000);

  it('browser login (--auth-style header): refused before the browser opens, so nobody logs in for nothing, and the secret not sent', async () => {
    published = metadata({ token_endpoint_auth_methods_supported: ['private_key_jwt'] });
    const dir = freshDir();
    // The browser: notes the URL it was given, and follows it as a person's would.
    const opened = join(dir, 'opened.txt');
    const browser = join(dir, 'browser.mjs');
    writeFileSync(browser, `import { appendFileSync } from 'node:fs';\nappendFileSync(${JSON.stringify(opened)}, process.argv[2] + '\\n');\nawait fetch(process.argv[2]);\n`);
    const args = [`${idpBase}/mcp`, '--client-id', CLIENT_ID, '--client-secret', SECRET, '--auth-style', 'header', '--token-store', 'memory', '--expected-issuer', idpBase, '--browser-command', `${process.execPath} ${browser}`];
    const { status, stderr } = await connectUntilExit(args, {}, dir);
    expect(status, stderr).toBe(1);
    // No authorization URL was opened, nor printed for the person to open.
    expect(existsSync(opened), stderr).toBe(false);
    expect(stderr).not.toContain('Open this URL to log in');
    expect(stderr).not.toContain(`${idpBase}/authorize`);
    expect(captured.some((c) => c.path === '/authorize'), stderr).toBe(false);
    expect(stderr).toContain('the authorization server accepts none of the secret methods: its token_endpoint_auth_methods_supported is private_key_jwt');
    expect(stderr).toContain('gatehouse: login failed: the authorization server accepts none');
    expect(captured.filter((c) => c.path === '/token')).toEqual([]);
    expect(secretSent()).toBe(false);
  }, 60_000);

  it('--grant device_code with a secret: plain http to a device and token endpoint on another machine is refused before anything is sent', async () => {
    // example.invalid never resolves: a request sent would fail on DNS, not with this error.
    published = metadata({ device_authorization_endpoint: 'http://example.invalid/device', token_endpoint: 'http://example.invalid/token', token_endpoint_auth_methods_supported: ['client_secret_basic'] });
    const dir = freshDir();
    const traceFile = join(dir, 'trace.jsonl');
    const args = [`${idpBase}/mcp`, '--grant', 'device_code', '--client-id', 'robot', '--client-secret', 'TOPSECRET', '--token-store', 'memory', '--trace-file', traceFile];
    const { status, stderr } = await connectUntilExit(args, {}, dir);
    expect(status, stderr).toBe(1);
    expect(stderr).toContain(
      `gatehouse: login failed: refusing to send the client secret to the non-https device authorization endpoint http://example.invalid/device of the authorization server ${idpBase}: OAuth requests must use TLS`,
    );
    expect(tracedUrls(traceFile).some((u) => u.includes('example.invalid')), tracedUrls(traceFile).join('\n')).toBe(false);
    expect(tracedUrls(traceFile).some((u) => u.includes('oauth-authorization-server'))).toBe(true);
    expect(stderr).not.toContain('TOPSECRET');
  }, 60_000);
});

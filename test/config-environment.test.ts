// Seed 000's environment-only setup, run as its users run it: a `.env` file beside `gatehouse
// serve`, no config file. OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET are what Claude and ChatGPT log
// in to the gateway with (the older proxy's pre-registered client); LTPA_TOKEN goes downstream.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseApp } from '../src/app.js';
import { CLI, connectToolCall, runCli, TSX, tempRoot } from './helpers/cli.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { loginAndConsent, tokenRequest } from './helpers/oauth.js';
import { openSse } from './helpers/sse.js';

const { freshDir, remove } = tempRoot('gh-config-env-');
const CLIENT_ID = 'mcp-client-id';
const CLIENT_SECRET = 'mcp-client-secret';
const PASSWORD = 'a long enough passphrase';
const GPT_CALLBACK = 'https://chat.openai.com/aip/g-seed/oauth/callback';
const CLAUDE_CALLBACK = 'https://claude.ai/api/mcp/auth_callback';

let upstream: (GatehouseApp & { base: string }) | undefined;
const serving: ChildProcess[] = [];
const capturing: Server[] = [];
afterAll(async () => {
  for (const child of serving) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of capturing) server.close();
  await upstream?.close();
  remove();
});

/** A downstream that records each request's headers, then forwards it to `target` (a real MCP server). */
async function capturingDownstream(target: string): Promise<{ base: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const out = request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: { ...req.headers, host: to.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  capturing.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** `gatehouse serve` in `dir` with no flags; resolves with its URL once it says it is listening. */
function serve(dir: string, env: Record<string, string>): Promise<{ base: string; stderr: () => string }> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve'], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  serving.push(child);
  let err = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"gatehouse is listening"/.exec(err);
      if (m) resolve({ base: m[1]!, stderr: () => err });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${err}`)));
  });
}

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

describe('environment-only setup from a .env file (seed 000)', () => {
  it('serves the downstream server; Claude and ChatGPT log in with OAUTH_CLIENT_ID; startup says how to add a user', async () => {
    // The downstream MCP server: a gateway without auth in front of the raw stdio fixture.
    upstream = await startTestGateway({ servers: { raw: rawStdio() } });
    const dir = freshDir();
    writeFileSync(
      join(dir, '.env'),
      [
        `DOWNSTREAM_MCP_URL=${upstream.base}/raw/mcp`,
        'LTPA_TOKEN=ltpa-value',
        `OAUTH_CLIENT_ID=${CLIENT_ID}`,
        `OAUTH_CLIENT_SECRET=${CLIENT_SECRET}`,
        'REJECT_UNAUTHORIZED=false',
        `OAUTH_REDIRECT_URIS=${GPT_CALLBACK}`,
        '',
      ].join('\n'),
    );
    // PORT and HOST as a platform would set them (the process environment wins over .env).
    const run = await serve(dir, { PORT: '0', HOST: '127.0.0.1', DOWNSTREAM_MCP_URL: '', UPSTREAM_URL: '', MCP_GATEHOUSE_CONFIG: '' });
    const { base } = run;
    // Nobody can sign in yet: the log says so, and how to fix it.
    expect(run.stderr()).toContain('nobody can sign in');
    expect(run.stderr()).toContain('gatehouse users add NAME');
    const added = await runCli(['users', 'add', 'alice', '--password-stdin'], { cwd: dir, input: `${PASSWORD}\n` });
    expect(added.status, added.stderr).toBe(0);

    // ChatGPT Actions: the pre-registered client, no PKCE, no resource, the secret in the body.
    const gpt = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: GPT_CALLBACK, scope: 'mcp', state: 's1' });
    const back = await loginAndConsent(base, `${base}/oauth/authorize?${gpt.toString()}`, 'alice', PASSWORD);
    expect(back.origin + back.pathname).toBe(GPT_CALLBACK);
    const code = back.searchParams.get('code');
    expect(code, back.href).toBeTruthy();
    const gptToken = await tokenRequest(base, { grant_type: 'authorization_code', code: code!, redirect_uri: GPT_CALLBACK, client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    expect(gptToken.status, JSON.stringify(gptToken.json)).toBe(200);
    expect(gptToken.json.token_type).toBe('Bearer');
    const call = await fetch(`${base}/api/tools/default__echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${String(gptToken.json.access_token)}` },
      body: '{"said":"hi"}',
    });
    expect(call.status, await call.clone().text()).toBe(200);

    // Claude's connector: the same client, PKCE and the resource it was given, its own callback.
    const { verifier, challenge } = pkce();
    const resource = `${base}/default/mcp`;
    const claude = new URLSearchParams({
      response_type: 'code',
      client_id: CLIENT_ID,
      redirect_uri: CLAUDE_CALLBACK,
      scope: 'mcp',
      state: 's2',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource,
    });
    const back2 = await loginAndConsent(base, `${base}/oauth/authorize?${claude.toString()}`, 'alice', PASSWORD);
    expect(back2.origin + back2.pathname).toBe(CLAUDE_CALLBACK);
    const claudeToken = await tokenRequest(
      base,
      { grant_type: 'authorization_code', code: back2.searchParams.get('code')!, redirect_uri: CLAUDE_CALLBACK, code_verifier: verifier, resource },
      { id: CLIENT_ID, secret: CLIENT_SECRET },
    );
    expect(claudeToken.status, JSON.stringify(claudeToken.json)).toBe(200);
    const init = await rawPost(resource, INIT(), { authorization: `Bearer ${String(claudeToken.json.access_token)}` });
    expect(init.status, init.text).toBe(200);

    // The seed's client_credentials request works too (its token is for the REST bridge).
    const machine = await tokenRequest(base, { grant_type: 'client_credentials', scope: 'mcp' }, { id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(machine.status, JSON.stringify(machine.json)).toBe(200);
    // A wrong secret is refused: the client is the gateway's, checked by the gateway.
    expect((await tokenRequest(base, { grant_type: 'client_credentials', scope: 'mcp' }, { id: CLIENT_ID, secret: 'wrong' })).status).toBe(401);
  });
});

describe('seed 000\'s client_credentials recipe, downstream token and GPT callback, environment only', () => {
  let base = '';
  let downstream: Awaited<ReturnType<typeof capturingDownstream>>;
  beforeAll(async () => {
    upstream ??= await startTestGateway({ servers: { raw: rawStdio() } });
    downstream = await capturingDownstream(upstream.base);
    const dir = freshDir();
    writeFileSync(
      join(dir, '.env'),
      [
        'PORT=0',
        'HOST=127.0.0.1',
        `DOWNSTREAM_MCP_URL=${downstream.base}/raw/mcp`,
        'LTPA_TOKEN=ltpa-secret-value',
        `OAUTH_CLIENT_ID=${CLIENT_ID}`,
        `OAUTH_CLIENT_SECRET=${CLIENT_SECRET}`,
        'TOKEN_IN_URL=true',
        '',
      ].join('\n'),
    );
    ({ base } = await serve(dir, { DOWNSTREAM_MCP_URL: '', UPSTREAM_URL: '', MCP_GATEHOUSE_CONFIG: '', PORT: '', HOST: '' }));
  }, 60_000);

  it('a JSON client_credentials token (the seed\'s request) opens /mcp, /default/mcp and /api, and with TOKEN_IN_URL /mcp/sse?token=', async () => {
    // The seed's request, as written in its README: JSON, the secret in the body, no resource.
    const issued = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    });
    const body = (await issued.json()) as Record<string, unknown>;
    expect(issued.status, JSON.stringify(body)).toBe(200);
    const token = String(body.access_token);
    const bearer = { authorization: `Bearer ${token}` };

    // One token opens every route the seed's users call: the aggregate, server default, REST.
    for (const path of ['/mcp', '/default/mcp']) {
      const init = await rawPost(`${base}${path}`, INIT(), bearer);
      expect(init.status, `${path}: ${init.text}`).toBe(200);
    }
    const rest = await fetch(`${base}/api/tools/default__echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer }, body: '{"said":"hi"}' });
    expect(rest.status, await rest.clone().text()).toBe(200);

    // Claude Desktop's client-cli bridge: the token in the URL of the old SSE path (TOKEN_IN_URL=true).
    for (const path of ['/mcp/sse', '/sse', '/default/sse']) {
      const sse = await openSse(`${base}${path}?token=${encodeURIComponent(token)}`);
      expect(sse.status, `${path}: ${sse.body}`).toBe(200);
      expect(sse.endpoint, sse.body).toBeDefined();
      // The message URL carries the token on (the bridge sends no header either).
      const posted = await fetch(new URL(sse.endpoint!, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(INIT()) });
      expect(posted.status, `${path} message: ${await posted.clone().text()}`).toBeLessThan(300);
      sse.close();
    }

    // A request that names one of them gets a token for that one only (RFC 8707 §2), as `gatehouse connect` asks.
    const one = await tokenRequest(base, { grant_type: 'client_credentials', resource: `${base}/default/mcp` }, { id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(one.status, JSON.stringify(one.json)).toBe(200);
    const narrow = { authorization: `Bearer ${String(one.json.access_token)}` };
    expect((await rawPost(`${base}/default/mcp`, INIT(), narrow)).status).toBe(200);
    expect((await rawPost(`${base}/mcp`, INIT(), narrow)).status).toBe(401);
    // A resource the gateway does not protect stays invalid_target.
    const unknown = await tokenRequest(base, { grant_type: 'client_credentials', resource: `${base}/nowhere/mcp` }, { id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(unknown.json.error).toBe('invalid_target');
  });

  it('gatehouse connect .../default/mcp --grant client_credentials with the environment\'s client calls a tool', async () => {
    await connectToolCall([`${base}/default/mcp`, '--grant', 'client_credentials', '--client-id', CLIENT_ID, '--client-secret', 'env:SEED_SECRET', '--token-store', 'memory'], {
      SEED_SECRET: CLIENT_SECRET,
      XDG_CONFIG_HOME: freshDir(),
    });
  });

  it('LTPA_TOKEN reaches the downstream as the LtpaToken header and the LtpaToken2 cookie (seed: "static tokens (e.g. LtpaToken)")', async () => {
    // Through the REST bridge, which any of the client's tokens opens.
    const call = await fetch(`${base}/api/tools/default__echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await machineToken(base)}` },
      body: '{"said":"hi"}',
    });
    expect(call.status, await call.clone().text()).toBe(200);
    expect(downstream.seen.length).toBeGreaterThan(0);
    for (const headers of downstream.seen) {
      expect(headers.ltpatoken).toBe('ltpa-secret-value');
      expect(headers.cookie).toBe('LtpaToken2=ltpa-secret-value');
    }
  });

  it('a Custom GPT callback not yet listed is refused with a page that names OAUTH_REDIRECT_URIS', async () => {
    const gpt = new URLSearchParams({ response_type: 'code', client_id: CLIENT_ID, redirect_uri: 'https://chatgpt.com/aip/g-abc123/oauth/callback', scope: 'mcp', state: 's' });
    const refused = await fetch(`${base}/oauth/authorize?${gpt.toString()}`, { redirect: 'manual' });
    const page = await refused.text();
    expect(refused.status).toBe(400);
    expect(page).toContain('invalid_redirect_uri');
    expect(page).toContain('This client comes from OAUTH_CLIENT_ID: add https://chatgpt.com/aip/g-abc123/oauth/callback to OAUTH_REDIRECT_URIS');
  });
});

async function machineToken(base: string): Promise<string> {
  const r = await tokenRequest(base, { grant_type: 'client_credentials' }, { id: CLIENT_ID, secret: CLIENT_SECRET });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return String(r.json.access_token);
}

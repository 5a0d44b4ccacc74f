// Seed 000's environment-only setup, run as its users run it: a `.env` file beside `gatehouse
// serve`, no config file. OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET are what Claude and ChatGPT log
// in to the gateway with (the older proxy's pre-registered client); LTPA_TOKEN goes downstream.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { GatehouseApp } from '../src/app.js';
import { CLI, runCli, TSX, tempRoot } from './helpers/cli.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { loginAndConsent, tokenRequest } from './helpers/oauth.js';

const { freshDir, remove } = tempRoot('gh-config-env-');
const CLIENT_ID = 'mcp-client-id';
const CLIENT_SECRET = 'mcp-client-secret';
const PASSWORD = 'a long enough passphrase';
const GPT_CALLBACK = 'https://chat.openai.com/aip/g-seed/oauth/callback';
const CLAUDE_CALLBACK = 'https://claude.ai/api/mcp/auth_callback';

let upstream: (GatehouseApp & { base: string }) | undefined;
const serving: ChildProcess[] = [];
afterAll(async () => {
  for (const child of serving) if (child.exitCode === null) child.kill('SIGKILL');
  await upstream?.close();
  remove();
});

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

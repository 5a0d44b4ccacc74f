// `gatehouse serve` in OAuth mode where clients use another address than the listen one: the
// issuer stays `http://{listen}` (stable, RFC 8414), so serve says to set publicUrl, once at
// start for a bind other machines reach, once when a trusted proxy names another host. And
// log.level debug logs the REST bridge's requests as it does the MCP routes'.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { servesKilledAfterEach, startServe, tempRoot } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const tmp = tempRoot('gh-serve-public-url-');
afterAll(() => tmp.remove());
const serving = servesKilledAfterEach();

const TOKEN = 'static-token-for-the-public-url-tests';
const RAW_SERVER = `raw: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RAW_FIXTURE)}] }`;

function oauthConfig(dir: string, extra: string[] = []): string {
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, ['store: memory', 'auth:', '  mode: oauth', `  tokens: [${TOKEN}]`, ...extra, 'servers:', `  ${RAW_SERVER}`, ''].join('\n'));
  return file;
}

/** The JSON log lines of a serve's stderr (the demo banner and other plain lines left out). */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const settle = () => new Promise((r) => setTimeout(r, 200));

describe('serve, auth.mode oauth, without publicUrl', () => {
  it('on a bind other machines reach, warns at start to set publicUrl, naming the issuer', async () => {
    const dir = tmp.freshDir();
    const run = await startServe(['--config', oauthConfig(dir), '--listen', '0.0.0.0:0'], dir);
    serving.push(run);
    const port = new URL(run.base).port;
    const warned = logLines(run.stderr()).filter((l) => l.event === 'issuer_not_public');
    expect(warned).toHaveLength(1);
    expect(warned[0]!.level).toBe('warn');
    expect(warned[0]!.msg).toContain(`listen is 0.0.0.0:${port}`);
    expect(warned[0]!.msg).toContain(`http://localhost:${port}`);
    expect(warned[0]!.msg).toContain('set publicUrl');
  });

  it('on loopback, says nothing at start; a trusted proxy naming another host is warned about once, naming both', async () => {
    const dir = tmp.freshDir();
    const run = await startServe(['--config', oauthConfig(dir), '--listen', '127.0.0.1:0'], dir);
    serving.push(run);
    const issuer = run.base;
    const warnings = () => logLines(run.stderr()).filter((l) => l.event === 'issuer_not_public');
    expect(warnings()).toHaveLength(0);

    // A proxy that names the issuer's own host: nothing to say.
    const own = await fetch(`${run.base}/raw/mcp`, { headers: { 'x-forwarded-host': new URL(issuer).host, 'x-forwarded-proto': 'http' } });
    expect(own.status).toBe(401);
    await settle();
    expect(warnings()).toHaveLength(0);

    // Through a tunnel (loopback is trusted by default): the challenge still names the issuer.
    const proxied = { 'x-forwarded-host': 'mcp.example.test', 'x-forwarded-proto': 'https' };
    const first = await fetch(`${run.base}/raw/mcp`, { headers: proxied });
    expect(first.status).toBe(401);
    expect(first.headers.get('www-authenticate')).toContain(`${issuer}/.well-known/oauth-protected-resource`);
    await fetch(`${run.base}/openapi.json`, { headers: proxied });
    await fetch(`${run.base}/.well-known/oauth-authorization-server`, { headers: { forwarded: 'host=other.example.test;proto=https' } });
    await settle();
    const said = warnings();
    expect(said).toHaveLength(1);
    expect(said[0]!.level).toBe('warn');
    expect(said[0]!.msg).toContain('https://mcp.example.test');
    expect(said[0]!.msg).toContain(`the OAuth issuer is ${issuer}`);
    expect(said[0]!.msg).toContain('set publicUrl');
  });

  it('believes no X-Forwarded-Host from a hop outside trustProxy: nothing to warn about', async () => {
    const dir = tmp.freshDir();
    const run = await startServe(['--config', oauthConfig(dir, ['trustProxy: [192.0.2.1]']), '--listen', '127.0.0.1:0'], dir);
    serving.push(run);
    const res = await fetch(`${run.base}/raw/mcp`, { headers: { 'x-forwarded-host': 'mcp.example.test', 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(401);
    await settle();
    expect(logLines(run.stderr()).filter((l) => l.event === 'issuer_not_public')).toHaveLength(0);
  });
});

describe('serve with publicUrl and log.level debug', () => {
  it('says nothing about publicUrl, and logs one debug line per REST bridge request as for MCP', async () => {
    const dir = tmp.freshDir();
    const run = await startServe(
      ['--config', oauthConfig(dir, ['openapi: { enabled: true }']), '--listen', '0.0.0.0:0', '--public-url', 'https://gatehouse.example.test', '--log-level', 'debug'],
      dir,
    );
    serving.push(run);
    const doc = await fetch(`${run.base}/openapi.json`);
    expect(doc.status).toBe(200);
    const call = await fetch(`${run.base}/raw/api/tools/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ via: 'rest' }),
    });
    expect(call.status).toBe(200);
    const mcp = await fetch(`${run.base}/raw/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(mcp.status).toBe(401);
    await settle();
    const lines = logLines(run.stderr());
    expect(lines.filter((l) => l.event === 'issuer_not_public')).toHaveLength(0);
    const requests = lines.filter((l) => l.msg === 'request' && l.level === 'debug');
    expect(requests).toContainEqual(expect.objectContaining({ method: 'GET', path: '/openapi.json', status: 200 }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/raw/api/tools/echo', status: 200 }));
    expect(requests).toContainEqual(expect.objectContaining({ method: 'POST', path: '/raw/mcp', status: 401 }));
  });
});

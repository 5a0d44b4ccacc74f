// auth.tokenInUrl on a real `gatehouse serve` at log level debug, reading its stderr: a token
// in the URL is accepted in one spelling only (`?token=`, `/{server}/{token}/sse`), and none
// reaches a log line, whatever the spelling of the query key and whether a route took the path
// or not (DESIGN.md: no credential reaches the logs).
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServe, tempRoot, type ServeRun } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const TOKEN = 's3cretTOKEN-4b7e1d';
const { freshDir, remove } = tempRoot('gh-url-token-logs-');
let run: ServeRun;
/** The same gateway with tokenInUrl off: no path is a token's, and none is masked. */
let plain: ServeRun;

function serve(tokenInUrl: boolean): Promise<ServeRun> {
  const dir = freshDir();
  const config = {
    listen: '127.0.0.1:0',
    dataDir: join(dir, 'data'),
    auth: { mode: 'tokens', tokens: [TOKEN], tokenInUrl },
    servers: { secret: { command: process.execPath, args: [RAW_FIXTURE] } },
  };
  writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(config));
  return startServe(['--config', 'gatehouse.json', '--log-level', 'debug'], dir);
}

beforeAll(async () => {
  [run, plain] = await Promise.all([serve(true), serve(false)]);
}, 60_000);

afterAll(() => {
  // One gateway each for the file (servesKilledAfterEach would end them after the first test).
  run?.child.kill('SIGKILL');
  plain?.child.kill('SIGKILL');
  remove();
});

/** GET `path` (an event stream is closed once its status is known): the status. */
async function get(path: string, gateway = run): Promise<number> {
  const controller = new AbortController();
  const res = await fetch(`${gateway.base}${path}`, { signal: controller.signal });
  controller.abort();
  return res.status;
}

/**
 * POST `path` announcing a `length`-byte body and sending none of it (a body limit answers from
 * the Content-Length before reading): the status.
 */
function postAnnounced(path: string, length: number, gateway = run): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(length) } }, (res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      req.destroy();
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** The debug `request` line of `path` as logged, once the gateway has written it. */
async function requestLine(logged: string, gateway = run): Promise<string> {
  const wanted = `"path":${JSON.stringify(logged)}`;
  for (let i = 0; i < 100 && !gateway.stderr().includes(wanted); i++) await new Promise((r) => setTimeout(r, 20));
  const line = gateway.stderr().split('\n').find((l) => l.includes(wanted) && l.includes('"msg":"request"'));
  if (line === undefined) throw new Error(`no request line with ${wanted} in:\n${gateway.stderr()}`);
  return line;
}

/** The gateway's stderr written since `from` (its length when a test began). */
const since = (from: number) => run.stderr().slice(from);

describe('auth.tokenInUrl: one spelling of the query key, and no token in the log', () => {
  it('?token= opens the server, and its request line shows the key with the value redacted', async () => {
    const from = run.stderr().length;
    expect(await get(`/secret/sse?token=${TOKEN}`)).toBe(200);
    expect(await requestLine('/secret/sse?token=[REDACTED]')).toContain('"status":200');
    expect(since(from)).not.toContain(TOKEN);
  });

  it('a key that only decodes to token (%74oken=) is no token: 401, and the log redacts it all the same', async () => {
    const from = run.stderr().length;
    // The review's request: the raw URL holds `token=` (in a value), the key is percent-encoded.
    expect(await get(`/secret/sse?x=token=&%74oken=${TOKEN}`)).toBe(401);
    expect(await get(`/secret/mcp?%74oken=${TOKEN}`)).toBe(401);
    expect(await requestLine('/secret/sse?x=token=&%74oken=[REDACTED]')).toContain('"status":401');
    expect(await requestLine('/secret/mcp?%74oken=[REDACTED]')).toContain('"status":401');
    // Another case of the key is no token either, and is not logged.
    expect(await get(`/secret/sse?Token=${TOKEN}`)).toBe(401);
    expect(await requestLine('/secret/sse?Token=[REDACTED]')).toContain('"status":401');
    expect(since(from)).not.toContain(TOKEN);
  });

  it('a path token opens the server on its route, and is redacted on a path no route takes (404)', async () => {
    const from = run.stderr().length;
    expect(await get(`/secret/${TOKEN}/sse`)).toBe(200);
    expect(await requestLine('/secret/[REDACTED]/sse')).toContain('"status":200');
    // Misspelt routes: a trailing slash, another case, no route kind, a doubled slash.
    for (const [path, logged] of [
      [`/secret/${TOKEN}/sse/`, '/secret/[REDACTED]/sse/'],
      [`/secret/${TOKEN}/SSE`, '/secret/[REDACTED]/SSE'],
      [`/secret/${TOKEN}`, '/secret/[REDACTED]'],
      [`//secret/${TOKEN}/sse`, '//secret/[REDACTED]/sse'],
    ] as const) {
      expect(await get(path), path).toBe(404);
      expect(await requestLine(logged)).toContain('"status":404');
    }
    expect(since(from)).not.toContain(TOKEN);
  });

  it('a path token is redacted whatever the status: a body too large for any route (413)', async () => {
    const from = run.stderr().length;
    // A trailing slash: no MCP route takes it, so the HTTP app's body limit answers (before any route).
    expect(await postAnnounced(`/secret/${TOKEN}/mcp/`, 5_000_000)).toBe(413);
    expect(await requestLine('/secret/[REDACTED]/mcp/')).toContain('"status":413');
    expect(since(from)).not.toContain(TOKEN);
  });

  it('a path token after /.well-known/{name}/ (discovery built from the server URL) is redacted, and the name is kept', async () => {
    const from = run.stderr().length;
    for (const name of ['oauth-protected-resource', 'oauth-authorization-server']) {
      expect(await get(`/.well-known/${name}/secret/${TOKEN}/mcp`)).toBe(404);
      expect(await requestLine(`/.well-known/${name}/secret/[REDACTED]/mcp`)).toContain('"status":404');
    }
    expect(since(from)).not.toContain(TOKEN);
  });
});

describe('auth.tokenInUrl off: paths are logged as they came', () => {
  it('a two-segment path, a 413 and a /.well-known/{name}/ suffix keep every segment', async () => {
    expect(await get('/secret/plain/mcp/', plain)).toBe(404);
    expect(await requestLine('/secret/plain/mcp/', plain)).toContain('"status":404');
    expect(await postAnnounced('/secret/large/mcp/', 5_000_000, plain)).toBe(413);
    expect(await requestLine('/secret/large/mcp/', plain)).toContain('"status":413');
    expect(await get('/.well-known/oauth-protected-resource/secret/plain/mcp', plain)).toBe(404);
    expect(await requestLine('/.well-known/oauth-protected-resource/secret/plain/mcp', plain)).toContain('"status":404');
  });
});

// auth.tokenInUrl on a real `gatehouse serve` at log level debug, reading its stderr: a token
// in the URL is accepted in one spelling only (`?token=`, `/{server}/{token}/sse`), and none
// reaches a log line, whatever the spelling of the query key and whether a route took the path
// or not (DESIGN.md: no credential reaches the logs).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startServe, tempRoot, type ServeRun } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const TOKEN = 's3cretTOKEN-4b7e1d';
const { freshDir, remove } = tempRoot('gh-url-token-logs-');
let run: ServeRun;

beforeAll(async () => {
  const dir = freshDir();
  const config = {
    listen: '127.0.0.1:0',
    dataDir: join(dir, 'data'),
    auth: { mode: 'tokens', tokens: [TOKEN], tokenInUrl: true },
    servers: { secret: { command: process.execPath, args: [RAW_FIXTURE] } },
  };
  writeFileSync(join(dir, 'gatehouse.json'), JSON.stringify(config));
  run = await startServe(['--config', 'gatehouse.json', '--log-level', 'debug'], dir);
}, 60_000);

afterAll(() => {
  // One gateway for the file (servesKilledAfterEach would end it after the first test).
  run?.child.kill('SIGKILL');
  remove();
});

/** GET `path` (an event stream is closed once its status is known): the status. */
async function get(path: string): Promise<number> {
  const controller = new AbortController();
  const res = await fetch(`${run.base}${path}`, { signal: controller.signal });
  controller.abort();
  return res.status;
}

/** The debug `request` line of `path` as logged, once the gateway has written it. */
async function requestLine(logged: string): Promise<string> {
  const wanted = `"path":${JSON.stringify(logged)}`;
  for (let i = 0; i < 100 && !run.stderr().includes(wanted); i++) await new Promise((r) => setTimeout(r, 20));
  const line = run.stderr().split('\n').find((l) => l.includes(wanted) && l.includes('"msg":"request"'));
  if (line === undefined) throw new Error(`no request line with ${wanted} in:\n${run.stderr()}`);
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
});

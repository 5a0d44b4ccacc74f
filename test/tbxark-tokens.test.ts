// A TBXark mcp-proxy file served as it is (seed 003), on a real gateway: a server with
// authTokens is protected and one without is open, as in mcp-proxy; `demo/tokA` and
// `demo/tokB` keys are two path-token routes to one server, and the proxy's authTokens
// still open it with the Authorization header.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type GatehouseApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { silentLogger } from '../src/observability/index.js';
import { INIT, rawPost, rawStdio } from './helpers/gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'gh-tbxark-tokens-'));
const apps: GatehouseApp[] = [];
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** Serves a TBXark file the way `gatehouse serve --config FILE` reads it. */
async function serveTbxark(file: string, doc: Record<string, unknown>): Promise<string> {
  writeFileSync(join(dir, file), JSON.stringify(doc));
  const config = await loadConfig({ location: join(dir, file), cwd: dir, env: {} });
  const app = await startGatehouse({ config: config!, logger: silentLogger() });
  apps.push(app);
  return app.url;
}

const init = async (url: string, token?: string) => (await rawPost(url, INIT(), token ? { authorization: `Bearer ${token}` } : {})).status;

let mixed: string;
let keyed: string;
beforeAll(async () => {
  [mixed, keyed] = await Promise.all([
    serveTbxark('mixed.json', {
      mcpProxy: { addr: '127.0.0.1:0', type: 'streamable-http' },
      mcpServers: { locked: { ...rawStdio(), options: { authTokens: ['t1'] } }, open: rawStdio() },
    }),
    serveTbxark('keyed.json', {
      mcpProxy: { addr: '127.0.0.1:0', type: 'streamable-http', options: { authTokens: ['DefaultTokens'] } },
      mcpServers: { 'demo/tokA': rawStdio(), 'demo/tokB': rawStdio() },
    }),
  ]);
}, 60_000);

describe('a TBXark file mixing servers with and without authTokens', () => {
  it('protects the server with authTokens and leaves the other open, as mcp-proxy does', async () => {
    expect(await init(`${mixed}/locked/mcp`)).toBe(401);
    expect(await init(`${mixed}/locked/mcp`, 'wrong')).toBe(401);
    expect(await init(`${mixed}/locked/mcp`, 't1')).toBe(200);
    expect(await init(`${mixed}/open/mcp`)).toBe(200);
  });
});

describe('TBXark name/{token} keys', () => {
  it('opens the server at each key path, and with the inherited authTokens in the header', async () => {
    expect(await init(`${keyed}/demo/tokA/mcp`)).toBe(200);
    expect(await init(`${keyed}/demo/tokB/mcp`)).toBe(200);
    expect(await init(`${keyed}/demo/mcp`, 'DefaultTokens')).toBe(200);
    expect(await init(`${keyed}/demo/tokA/mcp`, 'DefaultTokens')).toBe(200);
    expect(await init(`${keyed}/demo/mcp`)).toBe(401);
    expect(await init(`${keyed}/demo/other/mcp`)).toBe(401);
  });
});

// A TBXark mcp-proxy file served as it is (seed 003), on a real gateway, guarded as
// mcp-proxy guards it: a server with authTokens is protected and one without is open; the
// v1 `server` block beside `mcpServers` is the proxy (its addr, its globalAuthTokens the
// default tokens), as mcp-proxy's load() makes it; a `name/{token}` key whose route also asks
// for the header is opened by the header token alone, never by the path segment.
import { createServer } from 'node:net';
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

/** Serves a TBXark file for one check, then closes it (one at a time: each may want the same port). */
async function withTbxark(file: string, doc: Record<string, unknown>, check: (url: string) => Promise<void>): Promise<void> {
  const url = await serveTbxark(file, doc);
  const app = apps.pop()!;
  try {
    await check(url);
  } finally {
    await app.close();
  }
}

/** A port nobody listens on, for an `addr` the gateway must take from the file. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const bearer = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
const init = async (url: string, token?: string) => (await rawPost(url, INIT(), bearer(token))).status;
const rest = async (url: string, token?: string) =>
  (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer(token) }, body: '{"said":"hi"}' })).status;

let mixed: string;
let keyed: string;
let clients: string;
let pathAndHeader: string;
let pathBeside: string;
beforeAll(async () => {
  [mixed, keyed, clients, pathAndHeader, pathBeside] = await Promise.all([
    serveTbxark('mixed.json', {
      mcpProxy: { addr: '127.0.0.1:0', type: 'streamable-http' },
      mcpServers: { locked: { ...rawStdio(), options: { authTokens: ['t1'] } }, open: rawStdio() },
    }),
    serveTbxark('keyed.json', {
      mcpProxy: { addr: '127.0.0.1:0', type: 'streamable-http', options: { authTokens: ['DefaultTokens'] } },
      mcpServers: { 'demo/tokA': rawStdio(), 'demo/tokB': rawStdio() },
    }),
    // v2 mcpProxy with v1 clients and no mcpServers: mcp-proxy serves the clients.
    serveTbxark('clients.json', {
      mcpProxy: { addr: '127.0.0.1:0', options: { authTokens: ['P'] } },
      clients: { c: { type: 'stdio', config: rawStdio() }, own: { type: 'stdio', config: rawStdio(), authTokens: ['O'] } },
    }),
    serveTbxark('path-and-header.json', {
      mcpProxy: { addr: '127.0.0.1:0' },
      mcpServers: { 'demo/pathsecret': { ...rawStdio(), options: { authTokens: ['HEADERTOKEN'] } } },
    }),
    // Beside a key whose path is its only guard (tokenInUrl on for that one).
    serveTbxark('path-beside.json', {
      mcpProxy: { addr: '127.0.0.1:0' },
      mcpServers: { 'demo/pathsecret': { ...rawStdio(), options: { authTokens: ['HEADERTOKEN'] } }, 'hidden/onlypath': rawStdio() },
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

describe('the v1 server block beside mcpServers', () => {
  it('is the proxy: it listens on server.addr and every server needs a globalAuthTokens token, on MCP and REST routes', async () => {
    const port = await freePort();
    const guarded = async (base: string) => {
      expect(await init(`${base}/a/mcp`)).toBe(401);
      expect(await init(`${base}/a/mcp`, 'wrong')).toBe(401);
      expect(await init(`${base}/a/mcp`, 'G')).toBe(200);
      expect(await rest(`${base}/a/api/tools/echo`)).toBe(401);
      expect(await rest(`${base}/a/api/tools/echo`, 'G')).toBe(200);
    };
    // The review's file: v1 `server`, v2 `mcpServers` with server options (read as TBXark before too).
    const withOptions = { server: { addr: `127.0.0.1:${port}`, globalAuthTokens: ['G'] }, mcpServers: { a: { ...rawStdio(), options: { logEnabled: false } } } };
    await withTbxark('v1-server-options.json', withOptions, async (base) => {
      await guarded(base);
      expect(new URL(base).port).toBe(String(port));
    });
    // The same without any server options (it was read as a Claude Desktop file).
    await withTbxark('v1-server-plain.json', { server: { addr: `127.0.0.1:${port}`, globalAuthTokens: ['G'] }, mcpServers: { a: rawStdio() } }, async (base) => {
      await guarded(base);
      expect(new URL(base).port).toBe(String(port));
    });
  }, 30_000);

  it('mcpProxy with v1 clients and no mcpServers serves the clients, each guarded as mcp-proxy guards it', async () => {
    expect(await init(`${clients}/c/mcp`)).toBe(401);
    expect(await init(`${clients}/c/mcp`, 'P')).toBe(200);
    expect(await init(`${clients}/own/mcp`, 'P')).toBe(401);
    expect(await init(`${clients}/own/mcp`, 'O')).toBe(200);
  });
});

describe('TBXark name/{token} keys', () => {
  it('a key inheriting the proxy authTokens: the header token opens the server, the path segments do not', async () => {
    expect(await init(`${keyed}/demo/mcp`, 'DefaultTokens')).toBe(200);
    expect(await init(`${keyed}/demo/mcp`)).toBe(401);
    expect(await init(`${keyed}/demo/mcp`, 'tokA')).toBe(401);
    // No path route at all: nothing needs auth.tokenInUrl.
    expect(await init(`${keyed}/demo/tokA/mcp`)).toBe(404);
    expect(await init(`${keyed}/demo/tokB/mcp`)).toBe(404);
  });

  it('a key with its own authTokens: the path segment alone opens nothing, in the header, in ?token= or as the path', async () => {
    for (const base of [pathAndHeader, pathBeside]) {
      expect(await init(`${base}/demo/mcp`, 'HEADERTOKEN')).toBe(200);
      expect(await init(`${base}/demo/mcp`)).toBe(401);
      expect(await init(`${base}/demo/mcp`, 'pathsecret')).toBe(401);
      expect(await init(`${base}/demo/mcp?token=pathsecret`)).toBe(401);
      expect((await fetch(`${base}/demo/sse?token=pathsecret`)).status).toBe(401);
    }
    expect(await init(`${pathAndHeader}/demo/pathsecret/mcp`)).toBe(404);
    // Where another key needs path tokens, the route exists but still wants the header token.
    expect(await init(`${pathBeside}/demo/pathsecret/mcp`)).toBe(401);
    expect(await init(`${pathBeside}/demo/pathsecret/mcp`, 'HEADERTOKEN')).toBe(200);
    expect(await init(`${pathBeside}/hidden/onlypath/mcp`)).toBe(200);
    expect(await init(`${pathBeside}/hidden/mcp`)).toBe(401);
  });
});

// A client_credentials token is held to its client as the config says now, not as it said when
// the token was minted: with the SQLite store the token outlives a restart, and the config the
// gateway restarts with may list fewer resources for the client, drop its client_credentials
// grant, or remove it. Real gateways on one data dir and one address (the issuer, hence the
// token's audiences, stays the same).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { tokenRequest } from './helpers/oauth.js';

const SECRET = 'robot-secret-0123456789abcdefghijkl';
const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-cc-restart-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const robot = (extra: Record<string, unknown>) => ({ clientId: 'robot', clientSecret: SECRET, redirectUris: ['https://robot.example/cb'], ...extra });

function gateway(port: number, clients: Record<string, unknown>[]) {
  return startTestGateway({
    listen: `127.0.0.1:${port}`,
    store: 'sqlite',
    dataDir,
    auth: { mode: 'oauth', clients },
    servers: { a: rawStdio(), b: rawStdio() },
  });
}

/** The status of an MCP initialize on each server with the token. */
async function statuses(base: string, token: string): Promise<{ a: number; b: number }> {
  const call = async (server: string) => (await rawPost(`${base}/${server}/mcp`, INIT(), { authorization: `Bearer ${token}` })).status;
  return { a: await call('a'), b: await call('b') };
}

describe('a client_credentials token across restarts with another config (SQLite store)', () => {
  it('opens only what the client may have now: fewer resources, no grant, or no client at all', async () => {
    let gw = await gateway(0, [robot({ grants: ['client_credentials'], clientCredentialsResources: ['/a/mcp', '/b/mcp'] })]);
    const port = gw.port;
    let token: string;
    try {
      const issued = await tokenRequest(gw.base, { grant_type: 'client_credentials', scope: 'mcp' }, { id: 'robot', secret: SECRET });
      expect(issued.status).toBe(200);
      token = issued.json.access_token as string;
      expect(await statuses(gw.base, token)).toEqual({ a: 200, b: 200 });
    } finally {
      await gw.close();
    }

    // The list narrowed to /a/mcp: the token still opens /a/mcp, no longer /b/mcp.
    gw = await gateway(port, [robot({ grants: ['client_credentials'], clientCredentialsResources: ['/a/mcp'] })]);
    try {
      expect(await statuses(gw.base, token)).toEqual({ a: 200, b: 401 });
      const refused = await rawPost(`${gw.base}/b/mcp`, INIT(), { authorization: `Bearer ${token}` });
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
    } finally {
      await gw.close();
    }

    // The client kept, its client_credentials grant taken away.
    gw = await gateway(port, [robot({ grants: ['authorization_code', 'refresh_token'] })]);
    try {
      expect(await statuses(gw.base, token)).toEqual({ a: 401, b: 401 });
    } finally {
      await gw.close();
    }

    // The client removed.
    gw = await gateway(port, []);
    try {
      expect(await statuses(gw.base, token)).toEqual({ a: 401, b: 401 });
      const refused = await rawPost(`${gw.base}/a/mcp`, INIT(), { authorization: `Bearer ${token}` });
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
    } finally {
      await gw.close();
    }

    // Put back as it was: the token (still in the store, unexpired) opens both again.
    gw = await gateway(port, [robot({ grants: ['client_credentials'], clientCredentialsResources: ['/a/mcp', '/b/mcp'] })]);
    try {
      expect(await statuses(gw.base, token)).toEqual({ a: 200, b: 200 });
    } finally {
      await gw.close();
    }
  }, 90_000);
});

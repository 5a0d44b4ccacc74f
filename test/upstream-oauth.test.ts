// `servers.NAME.oauth` (client_credentials): a real gateway in front of a remote MCP server
// that a real stand-in authorization server protects (test/helpers/oauth-stand-in.ts), driven
// by the official SDK client. The gateway fetches its own token, renews it, renews once for
// many requests refused together, and retries a refused request once.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { Writable } from 'node:stream';

import { createLogger } from '../src/observability/index.js';
import { connectClient } from './helpers/client.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { OAuthStandIn } from './helpers/oauth-stand-in.js';

const CLIENT_ID = 'gateway-upstream';
const SECRET = `upstream-secret-${Math.random().toString(36).slice(2)}`;
process.env.GATEHOUSE_TEST_UPSTREAM_SECRET = SECRET;

const logLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logLines.push(chunk.toString());
    done();
  },
});

let as: OAuthStandIn;
let gw: Awaited<ReturnType<typeof startTestGateway>>;
const clients: Client[] = [];

beforeAll(async () => {
  as = await new OAuthStandIn().start();
  as.addClient(CLIENT_ID, SECRET);
  const oauth = { grant: 'client_credentials', clientId: CLIENT_ID, clientSecret: 'env:GATEHOUSE_TEST_UPSTREAM_SECRET', scope: 'mcp' };
  gw = await startTestGateway({
    servers: {
      lean: { url: as.mcpUrl, transport: 'streamable-http', oauth },
      auto: { url: as.mcpUrl, transport: 'auto', oauth },
      manual: { url: as.mcpUrl, transport: 'streamable-http', oauth: { ...oauth, tokenUrl: `${as.base}/token` } },
      pinned: { url: as.mcpUrl, transport: 'streamable-http', oauth: { ...oauth, issuer: as.base } },
      // The MCP server's metadata names `as`, but these credentials belong to another server.
      elsewhere: { url: as.mcpUrl, transport: 'streamable-http', oauth: { ...oauth, issuer: 'https://login.other.example' } },
    },
  }, { logger: createLogger({ level: 'warn', destination: logSink }) });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await as?.close();
});

beforeEach(() => {
  as.discovery = true;
  as.tokenTtlS = 3600;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function open(server: string): Promise<Client> {
  const client = await connectClient(new StreamableHTTPClientTransport(new URL(`${gw.base}/${server}/mcp`)));
  clients.push(client);
  return client;
}

async function whoami(client: Client): Promise<string> {
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return (result.content as { text: string }[])[0]!.text;
}

describe('servers.NAME.oauth with client_credentials', () => {
  it('fetches one token for the server and uses it for every session (lean link)', async () => {
    const before = as.counts.clientCredentials;
    const [a, b] = [await open('lean'), await open('lean')];
    expect(await whoami(a)).toBe(`client ${CLIENT_ID}`);
    expect(await whoami(b)).toBe(`client ${CLIENT_ID}`);
    expect(as.counts.clientCredentials - before).toBeLessThanOrEqual(1);
    // No issuer configured: the log names the server the credentials went to and the key that pins it.
    const said = logLines.filter((l) => l.includes('"upstream":"lean"') && l.includes('no expected issuer given'));
    expect(said.length).toBeGreaterThan(0);
    expect(said[0]).toContain('set servers.lean.oauth.issuer to choose it yourself');
  });

  it('with issuer: sends the credentials when discovery finds that issuer, and never to another', async () => {
    expect(await whoami(await open('pinned'))).toBe(`client ${CLIENT_ID}`);
    const before = as.counts.clientCredentials;
    const failed = await open('elsewhere').then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failed).toBeInstanceOf(Error);
    // The operator learns why.
    expect(logLines.some((l) => l.includes('"upstream":"elsewhere"') && l.includes('Authorization server mismatch'))).toBe(true);
    expect(as.counts.clientCredentials).toBe(before);
  });

  it('works over the SDK transport too (transport: auto probes with it)', async () => {
    expect(await whoami(await open('auto'))).toBe(`client ${CLIENT_ID}`);
  });

  it('uses the tokenUrl as given when the server publishes no metadata', async () => {
    as.discovery = false;
    const metadataBefore = as.counts.metadata;
    expect(await whoami(await open('manual'))).toBe(`client ${CLIENT_ID}`);
    // The server's 401 is answered from the configured endpoint, not from discovery.
    expect(as.counts.metadata).toBe(metadataBefore);
  });

  it('a refused token: one renewal for many requests refused together, and each request retried once', async () => {
    const client = await open('lean');
    await whoami(client);
    as.expireAccessTokens();
    const tokensBefore = as.counts.clientCredentials;
    const refusedBefore = as.counts.mcp401;
    const answers = await Promise.all(Array.from({ length: 16 }, () => whoami(client)));
    expect(answers).toEqual(Array.from({ length: 16 }, () => `client ${CLIENT_ID}`));
    expect(as.counts.clientCredentials - tokensBefore).toBe(1);
    expect(as.counts.mcp401 - refusedBefore).toBeGreaterThanOrEqual(1);
    expect(as.counts.mcp401 - refusedBefore).toBeLessThanOrEqual(16);
  });

  it('renews a token before it expires, so that requests are not refused', async () => {
    as.tokenTtlS = 1;
    const client = await open('lean');
    as.expireAccessTokens(); // the next request gets a 1-second token
    await whoami(client);
    const refusedBefore = as.counts.mcp401;
    const tokensBefore = as.counts.clientCredentials;
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1_100));
      expect(await whoami(client)).toBe(`client ${CLIENT_ID}`);
    }
    expect(as.counts.clientCredentials - tokensBefore).toBeGreaterThanOrEqual(3);
    expect(as.counts.mcp401).toBe(refusedBefore);
  });

  it('a secret the authorization server no longer accepts fails the request with an error, not a hang', async () => {
    const client = await open('lean');
    await whoami(client);
    as.clients.set(CLIENT_ID, 'rotated-elsewhere');
    try {
      as.expireAccessTokens();
      await expect(whoami(client)).rejects.toThrow();
    } finally {
      as.clients.set(CLIENT_ID, SECRET);
    }
  });
});

describe('servers.NAME.oauth against our own authorization server', () => {
  it('gateway B reaches gateway A (auth.mode oauth, a confidential config client) with client_credentials tokens A issued', async () => {
    const secret = `a-client-secret-${Math.random().toString(36).slice(2)}`;
    process.env.GATEHOUSE_TEST_A_SECRET = secret;
    const a = await startTestGateway({
      store: 'memory',
      dataDir: mkdtempSync(join(tmpdir(), 'gatehouse-upstream-a-')),
      auth: { mode: 'oauth', clients: [{ clientId: 'gateway-b', clientSecret: 'env:GATEHOUSE_TEST_A_SECRET', name: 'Gateway B', redirectUris: ['http://127.0.0.1/cb'], grants: ['client_credentials'] }] },
      servers: { raw: rawStdio() },
    });
    let b: Awaited<ReturnType<typeof startTestGateway>> | undefined;
    try {
      // Without credentials, A refuses.
      expect((await fetch(`${a.base}/raw/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' })).status).toBe(401);
      b = await startTestGateway({
        servers: {
          viaA: { url: `${a.base}/raw/mcp`, transport: 'streamable-http', oauth: { grant: 'client_credentials', clientId: 'gateway-b', clientSecret: 'env:GATEHOUSE_TEST_A_SECRET', scope: 'mcp' } },
        },
      });
      const client = await connectClient(new StreamableHTTPClientTransport(new URL(`${b.base}/viaA/mcp`)));
      clients.push(client);
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('echo');
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'through two gateways' } });
      expect(JSON.stringify(echoed.content)).toContain('through two gateways');
    } finally {
      await b?.close();
      await a.close();
    }
  }, 60_000);
});

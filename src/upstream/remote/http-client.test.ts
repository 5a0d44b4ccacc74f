import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { OAuthError, OAuthErrorCode, parseErrorResponse } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';

import { checkHeaders, createHttpClient, loadCa } from './http-client.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function recorder(): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, seen };
}

describe('createHttpClient', () => {
  it("sends the static headers to the server's origin only, without overriding the transport's own", async () => {
    const mcp = await recorder();
    const other = await recorder(); // say, an authorization server
    const client = createHttpClient({
      url: new URL(mcp.url),
      headers: { Cookie: 'LtpaToken2=secret', Authorization: 'Bearer static' },
      tls: { rejectUnauthorized: true, ca: undefined },
      timeoutMs: 5000,
    });
    const fetch = client.fetchFor();
    await (await fetch(mcp.url)).text();
    await (await fetch(mcp.url, { headers: { Authorization: 'Bearer from-provider' } })).text();
    await (await fetch(other.url)).text();
    await client.close();

    expect(mcp.seen[0]).toMatchObject({ cookie: 'LtpaToken2=secret', authorization: 'Bearer static' });
    expect(mcp.seen[1]).toMatchObject({ cookie: 'LtpaToken2=secret', authorization: 'Bearer from-provider' });
    expect(other.seen[0]?.cookie).toBeUndefined();
    expect(other.seen[0]?.authorization).toBeUndefined();
  });

  it('reports each response and failure to the observer, by method', async () => {
    const mcp = await recorder();
    const client = createHttpClient({ url: new URL(mcp.url), headers: {}, tls: { rejectUnauthorized: true, ca: undefined }, timeoutMs: 5000 });
    const events: string[] = [];
    const fetch = client.fetchFor({ onResponse: (m, s) => events.push(`${m} ${s}`), onError: (m) => events.push(`${m} error`) });
    await (await fetch(mcp.url, { method: 'POST', body: '{}' })).text();
    const closed = await recorder();
    await new Promise((r) => servers.pop()!.close(r));
    await expect(fetch(closed.url)).rejects.toThrow('fetch failed');
    await client.close();
    expect(events).toEqual(['POST 200', 'GET error']);
  });
});

describe('createHttpClient: the answers the SDK reads', () => {
  // A token endpoint (on another origin, or a form body on the server's own: both go through
  // undici's fetch) refusing a refresh token, as RFC 6749 §5.2 says.
  async function tokenEndpoint(): Promise<string> {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] });
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'grant request is invalid' }));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  }

  it("an OAuth error answer is a global Response, so that the SDK reads the error it carries (not '[object Response]')", async () => {
    const token = await tokenEndpoint();
    const mcp = await recorder();
    const client = createHttpClient({ url: new URL(mcp.url), headers: {}, tls: { rejectUnauthorized: true, ca: undefined }, timeoutMs: 5000 });
    const fetch = client.fetchFor();
    const form = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'dead' }) };
    try {
      const answer = await fetch(token, form);
      expect(answer).toBeInstanceOf(Response);
      expect(answer.status).toBe(400);
      expect(answer.url).toBe(token);
      expect(answer.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
      const error = await parseErrorResponse(answer);
      expect(error).toBeInstanceOf(OAuthError);
      expect(error.code).toBe(OAuthErrorCode.InvalidGrant);
      expect(error.message).toBe('grant request is invalid');
      // A form body to the server's own origin takes the same path (leanFetch sends strings only).
      const own = await fetch(mcp.url, form);
      expect(own).toBeInstanceOf(Response);
      expect(await own.text()).toBe('ok');
    } finally {
      await client.close();
    }
  });
});

describe('loadCa and checkHeaders', () => {
  it('takes PEM text as it is', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(loadCa(pem)).toBe(pem);
    expect(loadCa(`  \n${pem}`)).toBe(`  \n${pem}`);
    expect(loadCa(undefined)).toBeUndefined();
  });

  it('refuses header values that could split a request', () => {
    expect(() => checkHeaders({ 'X-Ok': 'fine' })).not.toThrow();
    expect(() => checkHeaders({ 'Bad Name': 'x' })).toThrow('headers: "Bad Name"');
    expect(() => checkHeaders({ Cookie: 'a\r\nX-Evil: 1' })).toThrow(/^headers: "Cookie"/);
  });
});

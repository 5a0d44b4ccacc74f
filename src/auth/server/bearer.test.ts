import { describe, expect, it } from 'vitest';
import type Provider from 'oidc-provider';
import { createBearerAuthenticator } from './bearer.js';
import { resolveResources } from './resources.js';

const ISSUER = 'http://gw.test';
const resources = resolveResources(ISSUER, [{ path: '/mcp' }, { path: '/a/mcp', server: 'a' }, { path: '/b/mcp', server: 'b' }, { path: '/a/api', server: 'a', surface: 'rest' }]);

interface StoredToken {
  clientId: string;
  aud: string;
  scopes: Set<string>;
  exp: number;
  extra?: Record<string, unknown>;
}

function harness(tokenCacheMs = 60_000) {
  const tokens = new Map<string, StoredToken>();
  /** The clients as they are now: id -> grants; `listed` their clientCredentialsResources. */
  const clients = new Map<string, string[]>([['c', ['client_credentials']]]);
  const listed = new Map<string, string[]>();
  let finds = 0;
  const provider = {
    AccessToken: { find: () => Promise.resolve(undefined) },
    Client: {
      find: (id: string) => {
        const grants = clients.get(id);
        return Promise.resolve(grants && { clientId: id, grantTypeAllowed: (g: string) => grants.includes(g) });
      },
    },
    ClientCredentials: {
      find: (t: string) => {
        finds++;
        const stored = tokens.get(t);
        return Promise.resolve(stored && { ...stored, isSenderConstrained: () => false });
      },
    },
  } as unknown as Provider;
  const bearer = createBearerAuthenticator({
    provider,
    resources,
    allServers: ['a', 'b'],
    staticTokens: undefined,
    tokenInUrl: false,
    cacheMs: tokenCacheMs,
    clientRules: { clientResource: () => undefined, clientCredentialsResources: (client) => (client ? listed.get(client.clientId) : undefined) },
    logger: { error: () => undefined } as never,
  });
  const ask = async (token: string, server: string | undefined) =>
    bearer.authenticate({ url: `${ISSUER}/x`, headers: { get: (n: string) => (n === 'authorization' ? `Bearer ${token}` : null) } }, server);
  return { tokens, clients, listed, bearer, ask, finds: () => finds };
}

const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe('bearer authenticator', () => {
  it('keeps each server\u2019s answer for a cached token: the token opens its own resource only, however often it is asked', async () => {
    const h = harness();
    h.tokens.set('tok-a', { clientId: 'c', aud: `${ISSUER}/a/mcp`, scopes: new Set(['mcp']), exp: inAnHour() });
    for (let i = 0; i < 3; i++) {
      expect(await h.ask('tok-a', 'a')).toMatchObject({ ok: true, principal: 'client:c', allowedServers: ['a'] });
      expect(await h.ask('tok-a', 'b')).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });
      expect(await h.ask('tok-a', undefined)).toMatchObject({ ok: false, status: 401 });
      expect(await h.ask('tok-a', 'unknown')).toMatchObject({ ok: false, status: 401 });
    }
    expect(h.finds()).toBe(1);
  });

  it('refuses a token without the mcp scope with 403, and a REST token on the MCP surface', async () => {
    const h = harness();
    h.tokens.set('no-scope', { clientId: 'c', aud: `${ISSUER}/a/mcp`, scopes: new Set(['openid']), exp: inAnHour() });
    h.tokens.set('rest', { clientId: 'c', aud: `${ISSUER}/a/api`, scopes: new Set(['mcp']), exp: inAnHour() });
    for (let i = 0; i < 2; i++) {
      expect(await h.ask('no-scope', 'a')).toMatchObject({ ok: false, status: 403, error: 'insufficient_scope' });
      expect(await h.ask('rest', 'a')).toMatchObject({ ok: false, status: 401 });
    }
  });

  it('asks the store again once a token expires, and a forgotten token at once', async () => {
    const h = harness();
    h.tokens.set('short', { clientId: 'c', aud: `${ISSUER}/mcp`, scopes: new Set(['mcp']), exp: Math.floor(Date.now() / 1000) - 1 });
    // Already expired by its exp: not kept, looked up each time.
    await h.ask('short', undefined);
    await h.ask('short', undefined);
    expect(h.finds()).toBe(2);

    h.tokens.set('agg', { clientId: 'c', aud: `${ISSUER}/mcp`, scopes: new Set(['mcp']), exp: inAnHour() });
    expect(await h.ask('agg', undefined)).toMatchObject({ ok: true, allowedServers: ['a', 'b'] });
    h.tokens.delete('agg');
    expect(await h.ask('agg', undefined)).toMatchObject({ ok: true });
    h.bearer.forgetToken('agg');
    expect(await h.ask('agg', undefined)).toMatchObject({ ok: false, status: 401 });
  });

  it('holds a client_credentials token to its client as it is now: gone, without the grant, or its list narrowed', async () => {
    const h = harness();
    const all = { clientId: 'c', aud: `${ISSUER}/a/mcp`, scopes: new Set(['mcp']), exp: inAnHour(), extra: { gatehouse_audiences: [`${ISSUER}/b/mcp`] } };
    h.listed.set('c', [`${ISSUER}/a/mcp`, `${ISSUER}/b/mcp`]);
    h.tokens.set('t1', all);
    expect(await h.ask('t1', 'a')).toMatchObject({ ok: true });
    expect(await h.ask('t1', 'b')).toMatchObject({ ok: true });

    h.listed.set('c', [`${ISSUER}/a/mcp`]);
    h.tokens.set('t2', all);
    expect(await h.ask('t2', 'a')).toMatchObject({ ok: true });
    expect(await h.ask('t2', 'b')).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });

    h.clients.set('c', ['authorization_code']);
    h.tokens.set('t3', all);
    expect(await h.ask('t3', 'a')).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });

    h.clients.delete('c');
    h.tokens.set('t4', all);
    expect(await h.ask('t4', 'a')).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });
    expect(await h.ask('t4', 'b')).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });
  });
});

import { AuthorizationServerMismatchError, type FetchLike } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { silentLogger } from '../../observability/index.js';
import { OAuthSession } from './oauth-session.js';
import { createMemoryTokenStore, type TokenStore } from './token-store.js';

const MCP = 'https://mcp.example/mcp';
const AS1 = 'https://as-one.example';

const session = (expectedIssuer?: string, more: { store?: TokenStore; fetchFn?: FetchLike } = {}) =>
  new OAuthSession({
    expectedIssuer,
    serverUrl: MCP,
    store: more.store ?? createMemoryTokenStore(),
    fetchFn: more.fetchFn,
    logger: silentLogger(),
    clientId: 'desk-app',
    clientSecret: 'desk-secret',
    openBrowser: () => Promise.reject(new Error('no browser in this test')),
  });

/** An MCP server whose metadata names AS1, and AS1 refreshing any refresh token. */
const fetchFn: FetchLike = (input) => {
  const url = new URL(String(input));
  const json = (v: unknown) => Promise.resolve(new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } }));
  if (url.href === 'https://mcp.example/.well-known/oauth-protected-resource/mcp') return json({ resource: MCP, authorization_servers: [AS1] });
  if (url.href === `${AS1}/.well-known/oauth-authorization-server`) {
    return json({ issuer: AS1, authorization_endpoint: `${AS1}/authorize`, token_endpoint: `${AS1}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'] });
  }
  if (url.href === `${AS1}/token`) return json({ access_token: 'new', refresh_token: 'r2', token_type: 'Bearer', expires_in: 3600 });
  return Promise.resolve(new Response('not found', { status: 404 }));
};

afterEach(() => {
  vi.restoreAllMocks();
});

describe('OAuthSession with a pre-registered client (--client-id)', () => {
  it('stamps it with the authorization server it is first used with (SEP-2352), so the SDK has nothing to warn about', async () => {
    const store = createMemoryTokenStore();
    await store.write(MCP, { issuers: { [AS1]: { tokens: { access_token: 'old', refresh_token: 'r1', token_type: 'Bearer', issuer: AS1 }, obtainedAt: 0 } }, lastIssuer: AS1 });
    const s = session(undefined, { store, fetchFn });
    await s.load();
    const warn = vi.spyOn(console, 'warn');
    // The SDK's auth() reads the client (and would warn of an unstamped one), then refreshes.
    await s.authorize();
    expect(warn).not.toHaveBeenCalled();
    expect(s.tokens()?.access_token).toBe('new');
    expect(await s.clientInformation({ issuer: AS1 })).toEqual({ client_id: 'desk-app', client_secret: 'desk-secret', issuer: AS1 });
  });

  it('refuses to present it to another authorization server later', async () => {
    const s = session();
    await s.clientInformation({ issuer: 'https://as-one.example' });
    await expect(s.clientInformation({ issuer: 'https://as-two.example' })).rejects.toThrow(AuthorizationServerMismatchError);
  });

  it('with an expected issuer (--expected-issuer), refuses any other authorization server from the first use on', async () => {
    const s = session('https://as-one.example');
    await expect(s.clientInformation({ issuer: 'https://as-two.example' })).rejects.toThrow(AuthorizationServerMismatchError);
    // As the SDK compares issuers: one trailing slash makes no difference.
    expect(await s.clientInformation({ issuer: 'https://as-one.example/' })).toEqual({ client_id: 'desk-app', client_secret: 'desk-secret', issuer: 'https://as-one.example' });
    await expect(session('https://as-one.example/').clientInformation({ issuer: 'https://as-one.example.evil' })).rejects.toThrow(AuthorizationServerMismatchError);
    // The refusal names the flag to change, not the logout (which would not help).
    const refused = s.clientInformation({ issuer: 'https://as-two.example' });
    await expect(refused).rejects.toThrow(`--expected-issuer names "https://as-one.example" as this client's authorization server`);
    await expect(refused).rejects.not.toThrow('gatehouse logout');
  });

  it('keeps the binding when the SDK invalidates all credentials (an invalid_client answer), and in the store', async () => {
    const store = createMemoryTokenStore();
    const s = session(undefined, { store });
    await s.clientInformation({ issuer: AS1 });
    await s.invalidateCredentials('all');
    expect((await store.read(MCP))?.clientIssuers).toEqual({ 'desk-app': AS1 });
    const next = session(undefined, { store });
    await next.load();
    await expect(next.clientInformation({ issuer: 'https://as-two.example' })).rejects.toThrow(AuthorizationServerMismatchError);
  });
});

describe('OAuthSession browser login with a --client-secret the authorization server accepts by no method', () => {
  it('fails before any authorization URL is opened, with the message the code exchange would have given', async () => {
    // AS1 lists only private_key_jwt (RFC 8414 token_endpoint_auth_methods_supported).
    const jwtOnly: FetchLike = (input, init) => {
      if (String(input) === `${AS1}/.well-known/oauth-authorization-server`) {
        return Promise.resolve(
          Response.json({ issuer: AS1, authorization_endpoint: `${AS1}/authorize`, token_endpoint: `${AS1}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['private_key_jwt'] }),
        );
      }
      return fetchFn(input, init);
    };
    const opened: URL[] = [];
    const s = new OAuthSession({
      serverUrl: MCP,
      store: createMemoryTokenStore(),
      fetchFn: jwtOnly,
      logger: silentLogger(),
      clientId: 'desk-app',
      clientSecret: 'desk-secret',
      authStyle: 'header',
      loginTimeoutMs: 2_000,
      openBrowser: (url) => {
        opened.push(url);
        return Promise.resolve();
      },
    });
    await s.load();
    const login = s.authorize({ force: true });
    await expect(login).rejects.toMatchObject({ name: 'ClientAuthMethodError', supported: ['private_key_jwt'] });
    await expect(login).rejects.toThrow(/^the authorization server accepts none of the secret methods: its token_endpoint_auth_methods_supported is private_key_jwt .*use --private-key/);
    expect(opened).toEqual([]);
  });

  it('a public client (no secret) goes on to the browser', async () => {
    const jwtAndNone: FetchLike = (input, init) => {
      if (String(input) === `${AS1}/.well-known/oauth-authorization-server`) {
        return Promise.resolve(
          Response.json({ issuer: AS1, authorization_endpoint: `${AS1}/authorize`, token_endpoint: `${AS1}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'] }),
        );
      }
      return fetchFn(input, init);
    };
    const opened: URL[] = [];
    const s = new OAuthSession({
      serverUrl: MCP,
      store: createMemoryTokenStore(),
      fetchFn: jwtAndNone,
      logger: silentLogger(),
      clientId: 'desk-app',
      loginTimeoutMs: 200,
      openBrowser: (url) => {
        opened.push(url);
        return Promise.resolve();
      },
    });
    await s.load();
    // Nobody follows the URL here: the login times out after it was opened.
    await expect(s.authorize({ force: true })).rejects.toThrow();
    expect(opened.map((u) => u.origin + u.pathname)).toEqual([`${AS1}/authorize`]);
  });
});

describe('OAuthSession with a registered client that the authorization server gave a secret', () => {
  // Registration (RFC 7591) may hand a client_secret back; it goes only by a method the server
  // lists (token-request.ts), as --client-secret's does: here it lists none we can use.
  it('never sends the secret on a refresh when the metadata allows no secret method', async () => {
    const sent: string[] = [];
    const onlyJwt: FetchLike = (input, init) => {
      const url = new URL(String(input));
      const json = (v: unknown) => Promise.resolve(new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } }));
      if (url.href === 'https://mcp.example/.well-known/oauth-protected-resource/mcp') return json({ resource: MCP, authorization_servers: [AS1] });
      if (url.href === `${AS1}/.well-known/oauth-authorization-server`) {
        return json({ issuer: AS1, authorization_endpoint: `${AS1}/authorize`, token_endpoint: `${AS1}/token`, response_types_supported: ['code'], code_challenge_methods_supported: ['S256'], token_endpoint_auth_methods_supported: ['private_key_jwt'] });
      }
      if (url.href === `${AS1}/token`) {
        sent.push(`${new Headers(init?.headers).get('authorization') ?? ''} ${init?.body instanceof URLSearchParams ? init.body.toString() : typeof init?.body === 'string' ? init.body : ''}`);
        return json({ access_token: 'new', refresh_token: 'r2', token_type: 'Bearer', expires_in: 3600 });
      }
      return Promise.resolve(new Response('not found', { status: 404 }));
    };
    const store = createMemoryTokenStore();
    await store.write(MCP, {
      issuers: { [AS1]: { client: { client_id: 'dcr-1', client_secret: 'DCR-SECRET', issuer: AS1 }, tokens: { access_token: 'old', refresh_token: 'r1', token_type: 'Bearer', issuer: AS1 }, obtainedAt: 0 } },
      lastIssuer: AS1,
    });
    const s = new OAuthSession({ serverUrl: MCP, store, fetchFn: onlyJwt, logger: silentLogger(), openBrowser: () => Promise.reject(new Error('no browser in this test')) });
    await s.load();
    await s.authorize().catch(() => undefined); // refused before any token request, then no browser here
    expect(sent.filter((r) => r.includes('DCR-SECRET') || r.startsWith('Basic'))).toEqual([]);
  });
});

import { AuthorizationServerMismatchError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../observability/index.js';
import { authorizationEndpointOf, clientBinding, ClientBinding, keptBinding, plainPath, sameIssuer, tokenEndpointOf } from './client-binding.js';
import { createMemoryTokenStore, type ServerRecord } from './token-store.js';

// The binding alone; oauth-session.test.ts and test/client-binding-*.test.ts drive it through
// the SDK, the token store and a real gatehouse serve.

const AS1 = 'https://as-one.example';
const AS2 = 'https://as-two.example';
const base = { clientId: 'desk-app', serverUrl: 'https://mcp.example/mcp', logger: silentLogger() };

describe('ClientBinding', () => {
  it('binds on first use, and the record keeps it; another server is refused, naming the way out', () => {
    const record: ServerRecord = { issuers: {} };
    const binding = new ClientBinding(base);
    expect(binding.bind(AS1, record)).toEqual({ issuer: AS1, changed: true });
    expect(record.clientIssuers).toEqual({ 'desk-app': AS1 });
    expect(binding.bind(`${AS1}/`, record)).toEqual({ issuer: AS1, changed: false });
    const refused = (() => {
      try {
        binding.bind(AS2, record);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(AuthorizationServerMismatchError);
    expect((refused as Error).message).toContain("run 'gatehouse logout https://mcp.example/mcp'");
  });

  it('a later run takes the stored binding, and drops a stored discovery naming another server', () => {
    const record: ServerRecord = { issuers: {}, clientIssuers: { 'desk-app': AS1 }, discovery: { authorizationServerUrl: AS2 } };
    const binding = new ClientBinding(base);
    binding.adopt(record);
    expect(record.discovery).toBeUndefined();
    expect(() => binding.check(AS2)).toThrow(AuthorizationServerMismatchError);
    expect(() => binding.check(AS1)).not.toThrow();
  });

  it('--expected-issuer wins over the stored binding and replaces it', () => {
    const record: ServerRecord = { issuers: {}, clientIssuers: { 'desk-app': AS1 } };
    const binding = new ClientBinding({ ...base, expectedIssuer: AS2 });
    binding.adopt(record);
    expect(binding.bind(AS2, record)).toEqual({ issuer: AS2, changed: true });
    expect(record.clientIssuers).toEqual({ 'desk-app': AS2 });
    expect(() => binding.check(AS1)).toThrow(/--expected-issuer names/);
  });

  it("--token-url's origin binds the run but is not kept (the real issuer may have a path)", () => {
    const record: ServerRecord = { issuers: {} };
    const binding = new ClientBinding({ ...base, tokenUrl: { issuer: AS1, endpoint: `${AS1}/token` } });
    expect(binding.bind(undefined, record)).toEqual({ issuer: AS1, changed: false });
    expect(record.clientIssuers).toBeUndefined();
  });

  it('--token-url without --expected-issuer: a stored binding to another server is refused, naming both and the way out', () => {
    const record: ServerRecord = { issuers: {}, clientIssuers: { 'desk-app': AS2 } };
    const binding = new ClientBinding({ ...base, tokenUrl: { issuer: AS1, endpoint: `${AS1}/token` } });
    binding.adopt(record);
    expect(() => binding.bind(AS1, record)).toThrow(AuthorizationServerMismatchError);
    expect(() => binding.bind(AS1, record)).toThrow(`credentials are bound to "${AS2}" but this call resolved "${AS1}"`);
    expect(() => binding.bind(AS1, record)).toThrow(`--token-url ${AS1}/token is not known to be its token endpoint`);
    expect(() => binding.bind(AS1, record)).toThrow("run 'gatehouse logout https://mcp.example/mcp'");
    expect(record.clientIssuers).toEqual({ 'desk-app': AS2 });
    // --expected-issuer is the person's choice: it replaces the stored binding.
    const chosen = new ClientBinding({ ...base, expectedIssuer: AS1, tokenUrl: { issuer: AS1, endpoint: `${AS1}/token` } });
    chosen.adopt(record);
    expect(chosen.bind(AS1, record)).toEqual({ issuer: AS1, changed: true });
  });

  it("--token-url without --expected-issuer: a stored binding that owns the token URL is accepted, and its stored discovery kept", () => {
    const realm = `${AS1}/realms/x`;
    const record: ServerRecord = { issuers: {}, clientIssuers: { 'desk-app': realm }, discovery: { authorizationServerUrl: realm } };
    const binding = new ClientBinding({ ...base, tokenUrl: { issuer: AS1, endpoint: `${realm}/protocol/openid-connect/token` } });
    binding.adopt(record);
    expect(binding.bind(AS1, record)).toEqual({ issuer: AS1, changed: false });
    expect(record.discovery).toEqual({ authorizationServerUrl: realm });
    expect(record.clientIssuers).toEqual({ 'desk-app': realm });
  });

  it('a token URL belongs to an issuer when under it by whole path segments, or when its stored metadata names it', () => {
    expect(tokenEndpointOf(AS1, `${AS1}/oauth/token`)).toBe(true);
    expect(tokenEndpointOf(`${AS1}/`, `${AS1}/token`)).toBe(true);
    expect(tokenEndpointOf(`${AS1}/realms/x`, `${AS1}/realms/x/token`)).toBe(true);
    expect(tokenEndpointOf(`${AS1}/realms/x/`, `${AS1}/realms/x/token`)).toBe(true);
    expect(tokenEndpointOf(`${AS1}/realms/x`, `${AS1}/realms/x2/token`)).toBe(false);
    expect(tokenEndpointOf(`${AS1}/realms/x`, `${AS1}/token`)).toBe(false);
    expect(tokenEndpointOf(AS1, `${AS2}/token`)).toBe(false);
    expect(tokenEndpointOf(AS1, `http://as-one.example/token`)).toBe(false);
    // Google's layout: the token endpoint on another host, known from the metadata discovery stored.
    const google = 'https://accounts.google.com';
    const metadata = { issuer: google, authorization_endpoint: `${google}/o/oauth2/v2/auth`, token_endpoint: 'https://oauth2.googleapis.com/token', response_types_supported: ['code'] };
    expect(tokenEndpointOf(google, 'https://oauth2.googleapis.com/token')).toBe(false);
    expect(tokenEndpointOf(google, 'https://oauth2.googleapis.com/token', { authorizationServerUrl: google, authorizationServerMetadata: metadata })).toBe(true);
    expect(tokenEndpointOf(AS1, 'https://oauth2.googleapis.com/token', { authorizationServerUrl: google, authorizationServerMetadata: metadata })).toBe(false);
  });

  it('a URL whose path a server or proxy may read otherwise (encoded /, \\ or ., %25, ;) is never under the issuer', () => {
    const realm = 'https://kc.example/realms/x';
    const refused = [
      'https://kc.example/realms/x/..%2F..%2Frealms/x2/protocol/openid-connect/token',
      'https://kc.example/realms/x/%2e%2e%2fx2/token',
      'https://kc.example/realms/x/%2E%2E%2Fx2/token',
      'https://kc.example/realms/x/..;/x2/token',
      'https://kc.example/realms/x/;/token',
      'https://kc.example/realms/x/%252e%252e/x2/token',
      'https://kc.example/realms/x/%252F/token',
      'https://kc.example/realms/x/..%5Cx2/token',
      'https://kc.example/realms/x/..%5cx2/token',
      'https://kc.example/realms/x/.%2e/x2/token', // resolved by the parser: realm x2
      'https://kc.example/realms/x/..\\x2/token', // "\\" is "/" to the parser: realm x2
      'https://kc.example/realms/x/%C0%AE%C0%AE/x2/token', // overlong UTF-8 ".", undecodable
      'https://kc.example/realms/x%2Fx2/token',
      'https://kc.example/realms/x/a.%2e/token',
      'https://someone@kc.example/realms/x/token',
    ];
    for (const url of refused) {
      expect(tokenEndpointOf(realm, url), url).toBe(false);
      expect(authorizationEndpointOf(realm, url), url).toBe(false);
    }
    // Plain paths under the realm still are, with ordinary characters and escapes.
    for (const url of [`${realm}/protocol/openid-connect/token`, `${realm}/a..b/token`, `${realm}/to%20ken`, `${realm}/token?x=%2F..%2F`]) expect(tokenEndpointOf(realm, url), url).toBe(true);
    expect(plainPath('/realms/x/..%2Fx2')).toBe(false);
    expect(plainPath('/realms/x/token')).toBe(true);
  });

  it("compares the endpoint its stored metadata names as URLs, not as strings", () => {
    const google = 'https://accounts.google.com';
    const metadata = { issuer: google, authorization_endpoint: `${google}/o/oauth2/v2/auth`, token_endpoint: 'https://oauth2.googleapis.com/token', response_types_supported: ['code'] };
    const discovery = { authorizationServerUrl: google, authorizationServerMetadata: metadata };
    expect(tokenEndpointOf(google, 'https://OAUTH2.googleapis.com:443/token', discovery)).toBe(true);
    expect(tokenEndpointOf(google, 'https://oauth2.googleapis.com/token/', discovery)).toBe(false);
    expect(authorizationEndpointOf(google, `${google}/o/oauth2/v2/auth`, discovery)).toBe(true);
    expect(authorizationEndpointOf(AS1, `${google}/o/oauth2/v2/auth`, discovery)).toBe(false);
  });

  it('--authorization-url without --expected-issuer: must be the stored binding\'s as well (it gets the client id, and the password typed there)', () => {
    const realm = `${AS1}/realms/x`;
    const record: ServerRecord = { issuers: {}, clientIssuers: { 'desk-app': realm } };
    const token = `${realm}/protocol/openid-connect/token`;
    const elsewhere = new ClientBinding({ ...base, tokenUrl: { issuer: AS1, endpoint: token, authorization: 'https://login.attacker.example/authorize' } });
    elsewhere.adopt(record);
    expect(() => elsewhere.bind(AS1, record)).toThrow(AuthorizationServerMismatchError);
    expect(() => elsewhere.bind(AS1, record)).toThrow('--authorization-url https://login.attacker.example/authorize is not known to be its authorization endpoint');
    expect(() => elsewhere.bind(AS1, record)).toThrow("run 'gatehouse logout https://mcp.example/mcp'");
    const encoded = new ClientBinding({ ...base, tokenUrl: { issuer: AS1, endpoint: token, authorization: `${realm}/..%2Fx2/auth` } });
    encoded.adopt(record);
    expect(() => encoded.bind(AS1, record)).toThrow('--authorization-url');
    const owned = new ClientBinding({ ...base, tokenUrl: { issuer: AS1, endpoint: token, authorization: `${realm}/protocol/openid-connect/auth` } });
    owned.adopt(record);
    expect(owned.bind(AS1, record)).toEqual({ issuer: AS1, changed: false });
    // The person named the server: --expected-issuer takes both URLs as given.
    const chosen = new ClientBinding({ ...base, expectedIssuer: AS2, tokenUrl: { issuer: AS2, endpoint: `${AS2}/token`, authorization: `${AS2}/auth` } });
    chosen.adopt(record);
    expect(() => chosen.check(AS2)).not.toThrow();
  });

  it('keptBinding (client_credentials): the stored binding names the issuer to expect; a --token-url it does not own is refused', async () => {
    const store = createMemoryTokenStore();
    const options = { ...base, clientId: 'desk-app' };
    expect(await keptBinding(store, options)).toBeUndefined();
    await store.write(base.serverUrl, { issuers: {}, clientIssuers: { 'desk-app': `${AS1}/realms/x`, other: AS2 } });
    const kept = await keptBinding(store, options);
    expect(kept?.issuer).toBe(`${AS1}/realms/x`);
    const sdk = kept!.advise(new AuthorizationServerMismatchError(`${AS1}/realms/x`, AS2));
    expect(sdk.message).toContain('when first used with this server (kept in the token store)');
    expect(sdk.message).toContain("run 'gatehouse logout https://mcp.example/mcp'");
    expect((await keptBinding(store, { ...options, tokenUrl: { issuer: AS1, endpoint: `${AS1}/realms/x/token` } }))?.issuer).toBe(AS1);
    await expect(keptBinding(store, { ...options, tokenUrl: { issuer: AS1, endpoint: `${AS1}/realms/x2/token` } })).rejects.toThrow(`--token-url ${AS1}/realms/x2/token is not known to be its token endpoint`);
    await expect(keptBinding(store, { ...options, tokenUrl: { issuer: AS1, endpoint: `${AS1}/realms/x/..%2F..%2Frealms/x2/token` } })).rejects.toThrow(AuthorizationServerMismatchError);
    // --expected-issuer chose; another client id has its own binding.
    expect(await keptBinding(store, { ...options, expectedIssuer: AS2 })).toBeUndefined();
    expect((await keptBinding(store, { ...options, clientId: 'other' }))?.issuer).toBe(AS2);
    expect(await keptBinding(store, { ...options, clientId: 'third' })).toBeUndefined();
  });

  it('without --client-id, only --expected-issuer binds: another server is refused, a stale discovery dropped, nothing stored', () => {
    expect(clientBinding({ serverUrl: base.serverUrl, logger: base.logger })).toBeUndefined();
    const binding = clientBinding({ serverUrl: base.serverUrl, expectedIssuer: AS1, logger: base.logger })!;
    const record: ServerRecord = { issuers: {}, discovery: { authorizationServerUrl: AS2 } };
    binding.adopt(record);
    expect(record.discovery).toBeUndefined();
    // No credentials exist yet: the SDK's "credentials are bound to" is not said.
    expect(() => binding.check(AS2)).toThrow(`Authorization server mismatch: --expected-issuer names "${AS1}" as the authorization server to log in with, but the MCP server named "${AS2}"`);
    expect(() => binding.check(AS2)).toThrow(`nothing of the client was sent to "${AS2}" (its metadata was read; no client was registered there, no login started)`);
    expect(() => binding.check(AS2)).not.toThrow(/credentials are bound/);
    expect(() => binding.check(`${AS1}/`)).not.toThrow();
    expect(binding.bind(AS1, record)).toEqual({ issuer: AS1, changed: false });
    expect(record.clientIssuers).toBeUndefined();
  });

  it('compares issuers as the SDK does: exactly, or but for one trailing slash', () => {
    expect(sameIssuer(AS1, `${AS1}/`)).toBe(true);
    expect(sameIssuer(`${AS1}/`, AS1)).toBe(true);
    expect(sameIssuer(AS1, `${AS1}//`)).toBe(false);
    expect(sameIssuer(AS1, 'https://AS-ONE.example')).toBe(false);
  });
});

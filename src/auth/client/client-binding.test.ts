import { AuthorizationServerMismatchError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../observability/index.js';
import { clientBinding, ClientBinding, sameIssuer, tokenEndpointOf } from './client-binding.js';
import type { ServerRecord } from './token-store.js';

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

  it('without --client-id, only --expected-issuer binds: another server is refused, a stale discovery dropped, nothing stored', () => {
    expect(clientBinding({ serverUrl: base.serverUrl, logger: base.logger })).toBeUndefined();
    const binding = clientBinding({ serverUrl: base.serverUrl, expectedIssuer: AS1, logger: base.logger })!;
    const record: ServerRecord = { issuers: {}, discovery: { authorizationServerUrl: AS2 } };
    binding.adopt(record);
    expect(record.discovery).toBeUndefined();
    expect(() => binding.check(AS2)).toThrow(`credentials are bound to "${AS1}" but this call resolved "${AS2}"`);
    expect(() => binding.check(AS2)).toThrow(`nothing was registered at or sent to "${AS2}"`);
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

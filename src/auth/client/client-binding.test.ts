import { AuthorizationServerMismatchError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../observability/index.js';
import { ClientBinding, sameIssuer } from './client-binding.js';
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
    const binding = new ClientBinding({ ...base, tokenUrl: { issuer: AS1 } });
    expect(binding.bind(undefined, record)).toEqual({ issuer: AS1, changed: false });
    expect(record.clientIssuers).toBeUndefined();
  });

  it('compares issuers as the SDK does: exactly, or but for one trailing slash', () => {
    expect(sameIssuer(AS1, `${AS1}/`)).toBe(true);
    expect(sameIssuer(`${AS1}/`, AS1)).toBe(true);
    expect(sameIssuer(AS1, `${AS1}//`)).toBe(false);
    expect(sameIssuer(AS1, 'https://AS-ONE.example')).toBe(false);
  });
});

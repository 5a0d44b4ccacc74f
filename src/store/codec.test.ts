import { describe, expect, it } from 'vitest';
import { sha256 } from '../crypto/index.js';
import { clientSecretMatches, decodeRecord, encodeRecord, HASHED_MODELS, hashClientSecret, recordKey, validateUserName } from './codec.js';
import { StoreError } from './contract.js';

describe('store codec', () => {
  it('hashes the ids of token models only', () => {
    expect(recordKey('AccessToken', 'abc')).toBe(sha256('abc'));
    expect(recordKey('Client', 'abc')).toBe('abc');
    expect(recordKey('Session', 'abc')).toBe('abc');
    for (const m of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials', 'DeviceCode']) expect(HASHED_MODELS.has(m)).toBe(true);
  });

  it('drops jti and seals a device code for the user code, and back', () => {
    const rec = encodeRecord('DeviceCode', 'dev-secret', { jti: 'dev-secret', userCode: 'ABCD-EFGH', grantId: 'g' }, 60, 1000);
    expect(rec.payload).not.toContain('dev-secret');
    expect(rec.payload).not.toContain('ABCD-EFGH');
    expect(rec.userCode).toBe(sha256('ABCD-EFGH'));
    expect(rec.expiresAt).toBe(61_000);
    expect(decodeRecord('DeviceCode', rec.payload, null, { userCode: 'ABCD-EFGH' })).toEqual({ jti: 'dev-secret', userCode: 'ABCD-EFGH', grantId: 'g' });
    expect(decodeRecord('DeviceCode', rec.payload, 5000, { id: 'dev-secret' })).toEqual({ jti: 'dev-secret', userCode: 'ABCD-EFGH', grantId: 'g', consumed: 5 });
    // A wrong user code opens nothing.
    expect(decodeRecord('DeviceCode', rec.payload, null, { userCode: 'ABCD-EFGX' }).jti).toBeUndefined();
  });

  it('seals a RefreshTokenSuccessor whole with its id, leaving the grant, account and client readable', () => {
    const payload = { jti: 'used-rt', clientId: 'app', grantId: 'g', accountId: 'alice', response: { access_token: 'at-secret', refresh_token: 'rt-secret' } };
    const rec = encodeRecord('RefreshTokenSuccessor', 'used-rt', payload, 40, 1000);
    expect(rec.key).toBe(sha256('used-rt'));
    for (const secret of ['used-rt', 'at-secret', 'rt-secret', 'alice']) expect(rec.payload).not.toContain(secret);
    expect([rec.grantId, rec.accountId, rec.clientId]).toEqual(['g', 'alice', 'app']);
    expect(decodeRecord('RefreshTokenSuccessor', rec.payload, null, { id: 'used-rt' })).toEqual(payload);
    // Another id opens nothing.
    expect(decodeRecord('RefreshTokenSuccessor', rec.payload, null, { id: 'other-rt' })).toEqual({ jti: 'other-rt' });
  });

  it('keeps client secrets hashed once and compares them in constant time', () => {
    const h = hashClientSecret('s3cret');
    expect(h).toBe(`sha256$${sha256('s3cret')}`);
    expect(hashClientSecret(h)).toBe(h);
    expect(clientSecretMatches(h, 's3cret')).toBe(true);
    expect(clientSecretMatches(h, h)).toBe(false);
    expect(clientSecretMatches('plain-from-config', 'plain-from-config')).toBe(true);
  });

  it('names a bad user name in its error', () => {
    expect(validateUserName('alice.b-c_d@x+y')).toBe('alice.b-c_d@x+y');
    expect(() => validateUserName('a b')).toThrow(StoreError);
    expect(() => validateUserName('a b')).toThrow(/invalid user name "a b"/);
  });
});

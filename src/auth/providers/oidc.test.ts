import { describe, expect, it } from 'vitest';
import { mergeUserinfo, profileFromClaims } from './oidc.js';

describe('mergeUserinfo', () => {
  it('never pairs an address from one source with the verified flag of the other', () => {
    // The ID token says "verified" about no address; userinfo names an unverified one.
    const a = mergeUserinfo({ sub: 's', email_verified: true }, { sub: 's', email: 'mallory@acme.test', email_verified: false });
    expect(a).toMatchObject({ email: 'mallory@acme.test', email_verified: false });
    expect(profileFromClaims(a).emails).toEqual([{ address: 'mallory@acme.test', verified: false }]);
    // The ID token's address without a flag stays unverified, whatever userinfo says.
    const b = mergeUserinfo({ sub: 's', email: 'carol@acme.test' }, { sub: 's', email: 'other@acme.test', email_verified: true });
    expect(b.email).toBe('carol@acme.test');
    expect(b.email_verified).toBeUndefined();
    expect(profileFromClaims(b).emails).toEqual([{ address: 'carol@acme.test', verified: false }]);
  });

  it('takes both from the ID token when it has an email, else both from userinfo; other claims: the ID token wins', () => {
    expect(mergeUserinfo({ sub: 's', email: 'a@x.test', email_verified: true, name: 'A' }, { email: 'b@x.test', email_verified: false, name: 'B', groups: ['g'] })).toEqual({
      sub: 's',
      email: 'a@x.test',
      email_verified: true,
      name: 'A',
      groups: ['g'],
    });
    expect(mergeUserinfo({ sub: 's' }, { sub: 's', email: 'b@x.test', email_verified: true })).toEqual({ sub: 's', email: 'b@x.test', email_verified: true });
    expect(mergeUserinfo({ sub: 's' }, { sub: 's' })).toEqual({ sub: 's' });
  });
});

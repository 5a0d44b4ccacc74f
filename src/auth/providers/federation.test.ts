// The flow's own checks with a scripted provider type (no network): state is single-use and
// bound to the browser that started the sign-in; what the provider says is decided by the rules.
import { describe, expect, it } from 'vitest';
import { createMemoryAdapter } from '../server/memory-adapter.js';
import { createFederation } from './federation.js';
import { parseFederatedAccountId } from './identity.js';
import type { ResolvedProvider, UpstreamLogin } from './types.js';

const PROVIDER: ResolvedProvider = {
  type: 'oidc',
  id: 'idp',
  callbackPath: '/oauth/callback/idp',
  name: 'IdP',
  clientId: 'c',
  clientSecret: 's',
  allow: { users: ['ann'] },
  issuer: 'https://idp.example',
  apiUrl: undefined,
  scope: 'openid',
};

function scripted(username: string): (p: ResolvedProvider) => UpstreamLogin {
  return (provider) => ({
    provider,
    authorizationUrl: (r) => Promise.resolve(new URL(`https://idp.example/authorize?state=${r.state}&nonce=${r.nonce}&cc=${r.codeChallenge}`)),
    identify: (url, checks) => {
      expect(url.searchParams.get('state')).toBe(checks.state);
      return Promise.resolve({ subject: `sub-${username}`, username, displayName: username, emails: [], claims: {} });
    },
  });
}

function federation(username = 'ann') {
  return createFederation({ providers: [PROVIDER], records: createMemoryAdapter()('GatehouseFederatedLogin'), issuer: 'https://gw.example/', loginFor: scripted(username) });
}

const cookieOf = (setCookie: string): string => setCookie.split(';', 1)[0]!;

describe('federation', () => {
  it('binds the callback to the starting browser, and admits by the rules', async () => {
    const f = federation();
    const { location, setCookie } = await f.begin('idp', 'uid-1');
    expect(setCookie).toMatch(/Path=\/oauth\/callback\/idp; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/);
    const state = new URL(location).searchParams.get('state')!;
    const done = await f.complete('idp', `/oauth/callback/idp?code=c&state=${state}`, `other=1; ${cookieOf(setCookie)}`);
    expect(done.result).toMatchObject({ ok: true, uid: 'uid-1', accountId: 'idp|sub-ann', rule: 'users:ann' });
    expect(done.setCookie).toContain('Max-Age=0');
    expect(f.knows('idp|sub-ann')).toBe(true);
    expect(f.knows('other|sub-ann')).toBe(false);
    expect(f.knows('ann')).toBe(false);
  });

  it('spends a state once', async () => {
    const f = federation();
    const { location, setCookie } = await f.begin('idp', 'uid-1');
    const url = `/oauth/callback/idp?code=c&state=${new URL(location).searchParams.get('state')!}`;
    expect((await f.complete('idp', url, cookieOf(setCookie))).result.ok).toBe(true);
    expect((await f.complete('idp', url, cookieOf(setCookie))).result).toMatchObject({ ok: false, failure: { kind: 'bad_state' } });
  });

  it('refuses a callback without the binding cookie, or with another sign-in\'s, and tells it no uid', async () => {
    const f = federation();
    const a = await f.begin('idp', 'uid-a');
    const b = await f.begin('idp', 'uid-b');
    const stateA = new URL(a.location).searchParams.get('state')!;
    const wrong = await f.complete('idp', `/oauth/callback/idp?code=c&state=${stateA}`, cookieOf(b.setCookie));
    expect(wrong.result).toMatchObject({ ok: false, failure: { kind: 'other_browser' }, uid: undefined });
  });

  it('refuses a state begun at another provider id', async () => {
    const f = federation();
    const { location, setCookie } = await f.begin('idp', 'uid-1');
    const state = new URL(location).searchParams.get('state')!;
    expect((await f.complete('nope', `/oauth/callback/nope?state=${state}`, cookieOf(setCookie))).result).toMatchObject({ ok: false, failure: { kind: 'unknown_provider' } });
  });

  it('refuses someone the rules do not admit, naming their identity', async () => {
    const f = federation('bob');
    const { location, setCookie } = await f.begin('idp', 'uid-1');
    const state = new URL(location).searchParams.get('state')!;
    const { result } = await f.complete('idp', `/oauth/callback/idp?code=c&state=${state}`, cookieOf(setCookie));
    expect(result).toMatchObject({ ok: false, failure: { kind: 'not_allowed', identity: 'idp|sub-bob' }, uid: 'uid-1' });
  });

  it('keeps a provider id with the issuer it was first used with, and refuses another one loudly', async () => {
    const records = createMemoryAdapter()('GatehouseFederatedLogin');
    const at = (issuer: string) => createFederation({ providers: [{ ...PROVIDER, issuer }], records, issuer: 'https://gw.example/', loginFor: scripted('ann') });
    const first = at('https://idp.example');
    expect(await first.checkIssuers()).toEqual([]);
    // Begun before the id was re-pointed, finished after: refused too, with the way back to sign-in.
    const { location, setCookie } = await first.begin('idp', 'uid-1');
    const state = new URL(location).searchParams.get('state')!;

    expect(await at('https://idp.example/').checkIssuers()).toEqual([]);
    const moved = at('https://other-idp.example');
    const problems = await moved.checkIssuers();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('this id was used with https://idp.example and now points at https://other-idp.example');
    expect(problems[0]).toContain('give the new issuer a new id');
    await expect(moved.begin('idp', 'uid-2')).rejects.toMatchObject({ failure: { kind: 'issuer_changed' } });
    const { result } = await moved.complete('idp', `/oauth/callback/idp?code=c&state=${state}`, cookieOf(setCookie));
    expect(result).toMatchObject({ ok: false, failure: { kind: 'issuer_changed' }, uid: 'uid-1' });
    // The original issuer still works under its id.
    expect(await at('https://idp.example').checkIssuers()).toEqual([]);
  });

  it('parses identities at the first |', () => {
    expect(parseFederatedAccountId('github|583231')).toEqual({ providerId: 'github', subject: '583231' });
    expect(parseFederatedAccountId('oidc|a|b')).toEqual({ providerId: 'oidc', subject: 'a|b' });
    expect(parseFederatedAccountId('alice')).toBeUndefined();
    expect(parseFederatedAccountId('|x')).toBeUndefined();
  });
});

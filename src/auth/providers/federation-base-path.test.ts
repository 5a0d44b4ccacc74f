// Federated sign-in for an issuer with a path (publicUrl https://gw.example/proxy, served under
// /proxy: http/base-path.ts): the provider sends the browser back to {issuer}{callbackPath},
// so the browser-binding cookie is scoped to that path, and the callback, which reaches the
// listener with /proxy taken off, still completes.
import { describe, expect, it } from 'vitest';
import { createMemoryAdapter } from '../server/memory-adapter.js';
import { createFederation } from './federation.js';
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

describe('federation under an issuer path', () => {
  it('sends the provider {issuer}{callbackPath}, scopes the binding cookie to it, and completes the callback', async () => {
    const redirects: string[] = [];
    const identified: string[] = [];
    const loginFor = (provider: ResolvedProvider): UpstreamLogin => ({
      provider,
      authorizationUrl: (r) => {
        redirects.push(r.redirectUri);
        return Promise.resolve(new URL(`https://idp.example/authorize?state=${r.state}`));
      },
      identify: (url) => {
        identified.push(`${url.origin}${url.pathname}`);
        return Promise.resolve({ subject: 'sub-ann', username: 'ann', displayName: 'ann', emails: [], claims: {} });
      },
    });
    const f = createFederation({ providers: [PROVIDER], records: createMemoryAdapter()('GatehouseFederatedLogin'), issuer: 'https://gw.example/proxy', loginFor });
    const { location, setCookie } = await f.begin('idp', 'uid-1');
    expect(redirects).toEqual(['https://gw.example/proxy/oauth/callback/idp']);
    expect(setCookie).toMatch(/; Path=\/proxy\/oauth\/callback\/idp; /);
    const state = new URL(location).searchParams.get('state')!;
    const done = await f.complete('idp', `/oauth/callback/idp?code=c&state=${state}`, setCookie.split(';', 1)[0]);
    expect(done.result).toMatchObject({ ok: true, uid: 'uid-1', accountId: 'idp|sub-ann' });
    expect(identified).toEqual(['https://gw.example/proxy/oauth/callback/idp']);
    expect(done.setCookie).toMatch(/; Path=\/proxy\/oauth\/callback\/idp; .*Max-Age=0/);
  });
});

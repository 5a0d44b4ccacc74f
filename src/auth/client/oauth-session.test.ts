import { AuthorizationServerMismatchError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import { silentLogger } from '../../observability/index.js';
import { OAuthSession } from './oauth-session.js';
import { createMemoryTokenStore } from './token-store.js';

const session = (expectedIssuer?: string) =>
  new OAuthSession({
    expectedIssuer,
    serverUrl: 'https://mcp.example/mcp',
    store: createMemoryTokenStore(),
    logger: silentLogger(),
    clientId: 'desk-app',
    clientSecret: 'desk-secret',
    openBrowser: () => Promise.reject(new Error('no browser in this test')),
  });

describe('OAuthSession with a pre-registered client (--client-id)', () => {
  it('stamps it with the authorization server it is first used with (SEP-2352), so the SDK has nothing to warn about', async () => {
    const s = session();
    expect(await s.clientInformation({ issuer: 'https://as-one.example' })).toEqual({ client_id: 'desk-app', client_secret: 'desk-secret', issuer: 'https://as-one.example' });
    expect((await s.clientInformation({ issuer: 'https://as-one.example' }))?.issuer).toBe('https://as-one.example');
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
  });
});

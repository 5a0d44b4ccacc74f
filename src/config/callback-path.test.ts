import { describe, expect, it } from 'vitest';
import { callbackPathCollision, callbackPathSyntaxProblem, defaultCallbackPath } from './callback-path.js';

describe('callbackPath spelling', () => {
  it('takes plain paths', () => {
    for (const path of ['/auth/callback', '/auth/callback/', '/cb', '/a.b/c_d~e-f', '/x/.well']) expect(callbackPathSyntaxProblem(path), path).toBeUndefined();
  });

  it.each([
    ['auth/callback', 'must start with /'],
    ['https://gw.example/auth/callback', 'a path, not a URL'],
    ['/auth/callback?x=1', 'no query (?) or fragment (#)'],
    ['/auth/callback#top', 'no query (?) or fragment (#)'],
    ['/auth/../oauth/token', 'no ".."'],
    ['/auth/./callback', '"." segment'],
    ['/auth/.', '"." segment'],
    ['/', 'below /'],
    ['//auth', 'no empty segment'],
    ['/auth//callback', 'no empty segment'],
    ['/auth/call back', 'only letters, digits'],
    ['/auth/%2e%2e/x', 'only letters, digits'],
    ['/auth/ünï', 'only letters, digits'],
    [`/${'a'.repeat(200)}`, 'at most 200'],
  ])('refuses %s', (path, message) => {
    expect(callbackPathSyntaxProblem(path)).toContain(message);
  });
});

describe('callbackPath collisions with the routes of Gatehouse', () => {
  it.each([
    '/oauth/callback/github',
    '/oauth/token',
    '/OAuth/x',
    '/.well-known/oauth-protected-resource',
    '/mcp',
    '/mcp/callback',
    '/sse',
    '/message',
    '/login/callback',
    '/consent',
    '/api/callback',
    '/openapi.json',
    '/healthz',
    '/readyz',
    '/metrics/',
  ])('refuses %s', (path) => {
    expect(callbackPathCollision(path, [])).toMatch(/Gatehouse's own/);
  });

  it("refuses a configured server's routes", () => {
    expect(callbackPathCollision('/files/callback', ['files'])).toContain('server "files"');
    expect(callbackPathCollision('/Files/callback', ['files'])).toContain('server "files"');
  });

  it('refuses the shape of a server route, for a server not configured yet', () => {
    for (const path of ['/auth/mcp', '/auth/sse', '/auth/messages', '/auth/openapi.json', '/auth/api/tools/x']) {
      expect(callbackPathCollision(path, []), path).toContain("shape of a server's route");
    }
  });

  it('takes the paths older proxies used', () => {
    for (const path of ['/auth/callback', '/callback', '/oauth2/callback', '/github/callback']) expect(callbackPathCollision(path, ['files']), path).toBeUndefined();
  });

  it('names the default', () => {
    expect(defaultCallbackPath('acme')).toBe('/oauth/callback/acme');
  });
});

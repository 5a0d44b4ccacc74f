import { describe, expect, it } from 'vitest';
import { createStaticTokenAuthenticator, presentedToken } from './static-tokens.js';

const servers = [
  { name: 'a', tokens: undefined },
  { name: 'b', tokens: ['b-only'] },
] as never;

describe('static tokens', () => {
  const auth = createStaticTokenAuthenticator({ auth: { mode: 'tokens', tokens: ['global'], tokenInUrl: false } as never, servers });

  it('global tokens open servers without their own tokens', () => {
    expect(auth.decide('global', 'a')).toMatchObject({ ok: true, allowedServers: ['a'] });
    expect(auth.decide('global', 'b')).toMatchObject({ ok: false, status: 401 });
  });
  it('per-server tokens replace the global ones for that server', () => {
    expect(auth.decide('b-only', 'b')).toMatchObject({ ok: true });
    expect(auth.decide('b-only', 'a')).toMatchObject({ ok: false });
    expect(auth.decide('b-only', undefined)).toMatchObject({ ok: true, allowedServers: ['b'] });
  });
  it('refuses a missing or wrong token, and binds sessions to a hash, not the token', () => {
    expect(auth.decide(undefined, 'a')).toMatchObject({ ok: false, status: 401, error: 'invalid_request' });
    expect(auth.decide('nope', undefined)).toMatchObject({ ok: false, error: 'invalid_token' });
    const ok = auth.decide('global', 'a');
    expect(ok.ok && ok.principal).not.toContain('global');
  });
  it('mode none lets everyone through to servers without tokens of their own', () => {
    const open = createStaticTokenAuthenticator({ auth: { mode: 'none', tokens: [], tokenInUrl: false } as never, servers: [{ name: 'a' }, { name: 'c' }] as never });
    expect(open.decide(undefined, undefined)).toMatchObject({ ok: true, principal: 'anonymous', allowedServers: ['a', 'c'] });
    expect(open.decide('anything', 'c')).toMatchObject({ ok: true, principal: 'anonymous' });
  });
  it('mode none still holds a server to its own tokens (auth.tokens count for nothing there)', () => {
    const none = createStaticTokenAuthenticator({ auth: { mode: 'none', tokens: ['global'], tokenInUrl: false } as never, servers });
    expect(none.decide(undefined, 'b')).toMatchObject({ ok: false, status: 401, error: 'invalid_request' });
    expect(none.decide('global', 'b')).toMatchObject({ ok: false, status: 401, error: 'invalid_token' });
    expect(none.decide('b-only', 'b')).toMatchObject({ ok: true, allowedServers: ['a', 'b'] });
    expect(none.decide(undefined, 'a')).toMatchObject({ ok: true, principal: 'anonymous', allowedServers: ['a'] });
    expect(none.decide('nope', undefined)).toMatchObject({ ok: true, principal: 'anonymous', allowedServers: ['a'] });
    const unlocked = none.decide('b-only', undefined);
    expect(unlocked).toMatchObject({ ok: true, allowedServers: ['a', 'b'] });
    expect(unlocked.ok && unlocked.principal).toMatch(/^token:/);
  });
  it('reads ?token= only when allowed', () => {
    const req = new Request('http://x/a/mcp?token=t1');
    expect(presentedToken(req, false)).toBeUndefined();
    expect(presentedToken(req, true)).toBe('t1');
    expect(presentedToken(new Request('http://x', { headers: { authorization: 'Bearer abc' } }), false)).toBe('abc');
    expect(presentedToken(new Request('http://x', { headers: { authorization: 'Basic abc' } }), true)).toBeUndefined();
  });
  it('reads ?token= under that key as written only, never a key that decodes to it (the log redacts the written key)', () => {
    const query = (q: string) => presentedToken({ url: `http://x/a/sse?${q}`, headers: { get: () => null } }, true);
    expect(query('x=token=&%74oken=s3cret')).toBeUndefined();
    expect(query('%74oken=s3cret')).toBeUndefined();
    expect(query('Token=s3cret')).toBeUndefined();
    expect(query('x=1&token=a%2Bb+c&token=second')).toBe('a+b c');
    expect(query('xtoken=no&token=yes')).toBe('yes');
    expect(query('token=')).toBe('');
  });
  it('reads the Authorization header in each form RFC 6750 allows, and nothing else', () => {
    const token = (authorization: string) => presentedToken({ url: 'http://x/a/mcp', headers: { get: (n) => (n === 'authorization' ? authorization : null) } }, false);
    expect(token('Bearer abc.DEF-_~+/=')).toBe('abc.DEF-_~+/=');
    expect(token('bearer abc')).toBe('abc');
    expect(token('Bearer   abc  ')).toBe('abc');
    expect(token('Bearer\tabc')).toBe('abc');
    expect(token('Bearer a b')).toBeUndefined();
    expect(token('Bearer ')).toBeUndefined();
    expect(token('Bearerabc')).toBeUndefined();
    expect(token('Basic abc')).toBeUndefined();
  });
});

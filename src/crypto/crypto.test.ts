import { describe, expect, it } from 'vitest';
import { constantTimeEqual, hashPassword, isPasswordHash, matchesAny, randomToken, sha256, verifyPassword } from './index.js';

describe('constantTimeEqual', () => {
  it('matches equal strings and refuses different ones, whatever their length', () => {
    expect(constantTimeEqual('secret', 'secret')).toBe(true);
    expect(constantTimeEqual('secret', 'secreT')).toBe(false);
    expect(constantTimeEqual('secret', 'secret-longer')).toBe(false);
    expect(constantTimeEqual('', 'x')).toBe(false);
  });
  it('matchesAny finds a token in a list', () => {
    expect(matchesAny('b', ['a', 'b', 'c'])).toBe(true);
    expect(matchesAny('d', ['a', 'b', 'c'])).toBe(false);
    expect(matchesAny('a', [])).toBe(false);
  });
});

describe('passwords', () => {
  it('hashes with a random salt and verifies', () => {
    const h1 = hashPassword('correct horse');
    const h2 = hashPassword('correct horse');
    expect(h1).not.toBe(h2);
    expect(isPasswordHash(h1)).toBe(true);
    expect(verifyPassword('correct horse', h1)).toBe(true);
    expect(verifyPassword('wrong horse', h1)).toBe(false);
    expect(h1).not.toContain('correct');
  });
  it('refuses malformed hashes instead of throwing', () => {
    expect(verifyPassword('x', 'plain')).toBe(false);
    expect(verifyPassword('x', 'scrypt$0$8$1$aa$bb')).toBe(false);
    expect(verifyPassword('x', 'scrypt$99999999$8$1$aaaa$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')).toBe(false);
  });
});

describe('random and hashing', () => {
  it('makes distinct url-safe tokens and stable hashes', () => {
    const t = randomToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(t);
    expect(sha256('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
  });
});

import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateKeys } from './key-file.js';

describe('loadOrCreateKeys', () => {
  it('creates keys once with mode 0600 and returns the same keys after', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'gh-keys-')), 'data');
    const first = loadOrCreateKeys(dir);
    expect(statSync(join(dir, 'keys.json')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(first.jwks.keys.length).toBe(1);
    expect(loadOrCreateKeys(dir)).toEqual(first);
  });
  it('refuses a damaged key file instead of replacing it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-keys-'));
    writeFileSync(join(dir, 'keys.json'), '{"jwks":');
    expect(() => loadOrCreateKeys(dir)).toThrow(/not a readable key file/);
    writeFileSync(join(dir, 'keys.json'), '{"jwks":{"keys":[]},"cookieKeys":[]}');
    expect(() => loadOrCreateKeys(dir)).toThrow(/no signing or cookie keys/);
  });
});

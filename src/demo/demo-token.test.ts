// demoToken: a demo-token that is not a regular file of ours is not read, not chmod'ed through,
// and replaced (with a warning); a loose existing dataDir is named in a warning, not changed.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoToken } from './demo-token.js';

const root = mkdtempSync(join(tmpdir(), 'gh-demo-token-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `d${n++}`);

describe('demoToken', () => {
  it('a symlinked demo-token is not followed: the planted token is not used, its target not chmod\'ed, a new token written', () => {
    const dataDir = fresh();
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const planted = join(root, `planted${n}`);
    writeFileSync(planted, 'attacker-chosen-token\n', { mode: 0o644 });
    chmodSync(planted, 0o644);
    symlinkSync(planted, join(dataDir, 'demo-token'));
    const warnings: string[] = [];
    const got = demoToken(dataDir, {}, (m) => warnings.push(m));
    expect(got.token).not.toBe('attacker-chosen-token');
    expect(got.created).toBe(true);
    expect(statSync(planted).mode & 0o777).toBe(0o644);
    expect(readFileSync(planted, 'utf8')).toBe('attacker-chosen-token\n');
    const file = join(dataDir, 'demo-token');
    expect(lstatSync(file).isFile()).toBe(true);
    expect(lstatSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8').trim()).toBe(got.token);
    expect(warnings.join('\n')).toContain(`${file} is a symlink`);
    // The existing, loose dataDir is named in a warning, and left as it is (it may be the person's own directory).
    expect(statSync(dataDir).mode & 0o777).not.toBe(0o700);
    expect(warnings.join('\n')).toContain('chmod 700 it');
  });

  it('a regular file of ours is read and kept; a loosened one is made 0600; no warning for a 0700 dataDir', () => {
    const dataDir = fresh();
    mkdirSync(dataDir, { mode: 0o700 });
    const file = join(dataDir, 'demo-token');
    writeFileSync(file, 'kept-token\n');
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    const got = demoToken(dataDir, {}, (m) => warnings.push(m));
    expect(got).toEqual({ token: 'kept-token', file, created: false });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual([]);
    expect(demoToken(dataDir, {}, (m) => warnings.push(m)).token).toBe('kept-token');
  });

  it('an empty file is replaced; GATEHOUSE_TOKEN is used without touching dataDir', () => {
    const dataDir = fresh();
    mkdirSync(dataDir, { mode: 0o700 });
    writeFileSync(join(dataDir, 'demo-token'), '');
    const got = demoToken(dataDir, {}, () => undefined);
    expect(got.created).toBe(true);
    expect(readFileSync(join(dataDir, 'demo-token'), 'utf8').trim()).toBe(got.token);
    const other = fresh();
    expect(demoToken(other, { GATEHOUSE_TOKEN: 'env-token' })).toEqual({ token: 'env-token', file: undefined, created: false });
  });
});

import { describe, expect, it } from 'vitest';
import { configWarnings, isLoopbackListen } from './warnings.js';

describe('configWarnings', () => {
  it('warns for auth.mode none on an address other machines reach, only then', () => {
    expect(configWarnings({ listen: { host: '0.0.0.0', port: 8080 }, auth: { mode: 'none' } })).toEqual([
      expect.stringContaining('auth.mode is none and listen is 0.0.0.0:8080'),
    ]);
    expect(configWarnings({ listen: { host: '::', port: 80 }, auth: { mode: 'none' } })[0]).toContain('listen is [::]:80');
    expect(configWarnings({ listen: { host: '10.1.2.3', port: 80 }, auth: { mode: 'none' } })).toHaveLength(1);
    expect(configWarnings({ listen: { host: '127.0.0.1', port: 80 }, auth: { mode: 'none' } })).toEqual([]);
    expect(configWarnings({ listen: { host: '0.0.0.0', port: 80 }, auth: { mode: 'oauth' } })).toEqual([]);
    expect(configWarnings({ listen: { host: '0.0.0.0', port: 80 }, auth: { mode: 'tokens' } })).toEqual([]);
  });

  it('with auth.allowedIps set, names the allowlist instead of saying anyone who reaches the port, and still warns', () => {
    const [warning, ...more] = configWarnings({ listen: { host: '0.0.0.0', port: 8080 }, auth: { mode: 'none', allowedIps: ['10.0.0.0/8', '192.168.1.5'] } });
    expect(more).toEqual([]);
    expect(warning).toContain('auth.mode is none and listen is 0.0.0.0:8080');
    expect(warning).toContain('anyone at an address auth.allowedIps admits (10.0.0.0/8, 192.168.1.5) can use every tool, with no credential');
    expect(warning).not.toContain('anyone who reaches the port');
    expect(warning).toContain('set auth.mode to oauth or tokens');
    // An empty list admits everyone (schema default): the plain wording.
    expect(configWarnings({ listen: { host: '0.0.0.0', port: 8080 }, auth: { mode: 'none', allowedIps: [] } })[0]).toContain('anyone who reaches the port');
  });

  it('takes localhost, 127/8 and ::1 as loopback', () => {
    for (const h of ['localhost', '127.0.0.1', '127.5.6.7', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackListen(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackListen(h), h).toBe(false);
  });
});

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

  it('under auth.mode none with servers that have tokens of their own, names the open ones only; none open, no warning', () => {
    const servers = [{ name: 'secret', tokens: ['t1'] }, { name: 'open' }, { name: 'other', tokens: [] }];
    const [warning, ...more] = configWarnings({ listen: { host: '0.0.0.0', port: 9090 }, auth: { mode: 'none' }, servers });
    expect(more).toEqual([]);
    expect(warning).toContain(
      'anyone who reaches the port can use every tool of the servers without tokens of their own (servers.open, servers.other; not servers.secret, which needs one of its tokens), with no credential',
    );
    expect(warning).toMatch(/; listen on 127\.0\.0\.1, give those servers tokens, or set auth\.mode to oauth or tokens$/);
    // Every server needs its own token: nothing is open to whoever reaches the port.
    expect(configWarnings({ listen: { host: '0.0.0.0', port: 9090 }, auth: { mode: 'none' }, servers: [{ name: 'secret', tokens: ['t1'] }] })).toEqual([]);
    // Servers without tokens: the plain wording.
    expect(configWarnings({ listen: { host: '0.0.0.0', port: 9090 }, auth: { mode: 'none' }, servers: [{ name: 'open' }] })[0]).toContain('can use every tool, with no credential');
  });

  it('says that auth.tokens are not checked under auth.mode none, on any listen address', () => {
    const at = (servers?: { name: string; tokens?: string[] }[]) => configWarnings({ listen: { host: '127.0.0.1', port: 8080 }, auth: { mode: 'none', tokens: ['g'] }, servers });
    expect(at([{ name: 'a' }])).toEqual([
      'auth.tokens is set but auth.mode is none, so those tokens are not checked: every server is open to anyone who reaches the port; ' +
        'set auth.mode to tokens to require them (a server with tokens of its own takes those instead)',
    ]);
    expect(at([{ name: 'a' }, { name: 'b', tokens: ['t'] }])[0]).toContain(
      'not checked: the servers without tokens of their own (servers.a; not servers.b, which needs one of its tokens) are open to anyone who reaches the port',
    );
    expect(at([{ name: 'b', tokens: ['t'] }])[0]).toContain('not checked: they open nothing (every server has tokens of its own, and needs one of them)');
    expect(configWarnings({ listen: { host: '127.0.0.1', port: 8080 }, auth: { mode: 'tokens', tokens: ['g'] } })).toEqual([]);
  });

  it('takes localhost, 127/8 and ::1 as loopback', () => {
    for (const h of ['localhost', '127.0.0.1', '127.5.6.7', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackListen(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackListen(h), h).toBe(false);
  });
});

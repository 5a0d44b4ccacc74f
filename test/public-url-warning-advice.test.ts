// The start-up issuer_not_public warning names PUBLIC_URL only for a setup read from the
// environment: with a config file (native, tbxark, claude-desktop) PUBLIC_URL is not read.
// It fires on a wildcard bind without publicUrl (the issuer then names localhost), not on a bind
// to one LAN address or name, whose issuer is the address clients use.
import { describe, expect, it } from 'vitest';
import { unreachableIssuerWarning } from '../src/auth/server/public-url-warnings.js';
import type { ResolvedConfig } from '../src/config/index.js';

type Shape = Parameters<typeof unreachableIssuerWarning>[0];
const base = (format: ResolvedConfig['source']['format']): Shape =>
  ({
    publicUrl: undefined,
    listen: { host: '0.0.0.0', port: 8080 },
    auth: { mode: 'oauth' },
    source: { format, location: format === 'environment' ? undefined : '/x/gatehouse.yaml' },
  }) as unknown as Shape;

describe('unreachableIssuerWarning advice', () => {
  it('with a config file, says publicUrl or --public-url, not PUBLIC_URL', () => {
    for (const format of ['native', 'tbxark', 'claude-desktop', 'demo'] as const) {
      const msg = unreachableIssuerWarning(base(format), 'http://localhost:8080');
      expect(msg).toContain('set publicUrl (or --public-url) to the address clients use');
      expect(msg).not.toContain('PUBLIC_URL');
    }
  });

  it('for an environment-only setup, also names PUBLIC_URL', () => {
    const msg = unreachableIssuerWarning(base('environment'), 'http://localhost:8080');
    expect(msg).toContain('set publicUrl (or --public-url, PUBLIC_URL) to the address clients use');
  });
});

describe('unreachableIssuerWarning: where it fires', () => {
  const withListen = (host: string, more: Partial<Record<'publicUrl', string>> = {}): Shape =>
    ({ ...base('native'), listen: { host, port: 8080 }, ...more });

  it('fires on a wildcard bind without publicUrl, where the issuer names localhost', () => {
    for (const host of ['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '[::]', '']) {
      expect(unreachableIssuerWarning(withListen(host), 'http://localhost:8080'), host).toContain('set publicUrl (or --public-url)');
    }
  });

  it('stays quiet on a bind to one address or name: the issuer is the address clients use', () => {
    for (const [host, issuer] of [
      ['192.168.1.5', 'http://192.168.1.5:8080'],
      ['10.0.0.5', 'http://10.0.0.5:8080'],
      ['fd00::5', 'http://[fd00::5]:8080'],
      ['gatehouse.lan', 'http://gatehouse.lan:8080'],
    ]) {
      expect(unreachableIssuerWarning(withListen(host!), issuer!), host).toBeUndefined();
    }
  });

  it('stays quiet on loopback, with publicUrl, and outside auth.mode oauth', () => {
    expect(unreachableIssuerWarning(withListen('127.0.0.1'), 'http://127.0.0.1:8080')).toBeUndefined();
    expect(unreachableIssuerWarning(withListen('0.0.0.0', { publicUrl: 'https://mcp.example.com' }), 'https://mcp.example.com')).toBeUndefined();
    expect(unreachableIssuerWarning({ ...withListen('0.0.0.0'), auth: { mode: 'tokens' } } as unknown as Shape, 'http://localhost:8080')).toBeUndefined();
  });
});

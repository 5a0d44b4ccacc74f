import { describe, expect, it } from 'vitest';

import { RemoteLinkError } from './errors.js';
import { remoteUrlProblem } from '../../config/remote-url.js';
import { checkRemoteUrl, isLoopbackHost } from './url-policy.js';

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '127.1.2.3', '[::1]', '[::ffff:7f00:1]'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each(['example.com', 'localhost.example.com', 'mylocalhost', '10.0.0.1', '128.0.0.1', '0.0.0.0', '[::]', '[fe80::1]', '[::ffff:a00:1]', '169.254.169.254'])(
    '%s is not loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );

  it('sees through the URL parser normalising other spellings of 127.0.0.1', () => {
    for (const raw of ['http://2130706433/', 'http://0x7f.1/', 'http://127.1/', 'http://[0:0:0:0:0:0:0:1]/']) {
      expect(isLoopbackHost(new URL(raw).hostname)).toBe(true);
    }
  });
});

describe('checkRemoteUrl', () => {
  it('accepts https anywhere and http to this machine', () => {
    expect(checkRemoteUrl('https://mcp.example.com/mcp').href).toBe('https://mcp.example.com/mcp');
    expect(checkRemoteUrl('http://127.0.0.1:3000/mcp').host).toBe('127.0.0.1:3000');
    expect(checkRemoteUrl('http://localhost/mcp').hostname).toBe('localhost');
    expect(checkRemoteUrl('http://[::1]:8080/mcp').hostname).toBe('[::1]');
  });

  it('refuses plain http elsewhere unless allowHttp', () => {
    expect(() => checkRemoteUrl('http://mcp.example.com/mcp')).toThrow(
      'refusing plain http to mcp.example.com (http://mcp.example.com/mcp): use https, or allow it explicitly with --allow-http (allowHttp: true)',
    );
    expect(() => checkRemoteUrl('http://10.1.2.3/mcp', { allowHttp: false })).toThrow(RemoteLinkError);
    expect(checkRemoteUrl('http://mcp.example.com/mcp', { allowHttp: true }).protocol).toBe('http:');
  });

  it('refuses other schemes, unparsable URLs and credentials in the URL (without echoing them)', () => {
    expect(() => checkRemoteUrl('ws://example.com/mcp')).toThrow(/must be https .* not ws:/);
    expect(() => checkRemoteUrl('file:///etc/passwd', { allowHttp: true })).toThrow(/not file:/);
    expect(() => checkRemoteUrl('not a url')).toThrow(/not a valid URL/);
    let error: unknown;
    try {
      checkRemoteUrl('https://alice:hunter2@example.com/mcp');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RemoteLinkError);
    expect((error as RemoteLinkError).code).toBe('insecure-url');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('keeps secret query parameters out of its messages', () => {
    expect(() => checkRemoteUrl('http://example.com/mcp?token=abc123')).toThrow(/token=\[REDACTED\]/);
    expect(() => checkRemoteUrl('http://example.com/mcp?token=abc123')).not.toThrow(/abc123/);
  });
});

describe('remoteUrlProblem (shared with the config)', () => {
  it('says how to allow plain http in the words of where the URL came from', () => {
    expect(remoteUrlProblem('http://mcp.example.com/mcp', { howToAllowHttp: 'set servers.far.allowHttp: true' })).toBe(
      'refusing plain http to mcp.example.com (http://mcp.example.com/mcp): use https, or set servers.far.allowHttp: true',
    );
    expect(remoteUrlProblem('http://mcp.example.com/mcp', { allowHttp: true, howToAllowHttp: 'x' })).toBeUndefined();
    expect(remoteUrlProblem('https://a:b@mcp.example.com/mcp', { allowHttp: true, howToAllowHttp: 'x' })).toMatch(/^credentials in the URL are not accepted \(https:\/\/mcp\.example\.com\/mcp\)/);
  });
});

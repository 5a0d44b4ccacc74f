import { describe, expect, it } from 'vitest';
import { createCorsPolicy } from './cors.js';
import { allowedHostnames, checkHostAndOrigin, checkWithoutCredential, openBindHostnames } from './guards.js';

describe('DNS rebinding guard', () => {
  const allowed = allowedHostnames('127.0.0.1', 'https://mcp.example.com');
  it('is active only on loopback', () => {
    expect(allowedHostnames('0.0.0.0', undefined)).toBeUndefined();
    expect(allowed).toBeDefined();
  });
  it('admits loopback and the public host', () => {
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'mcp.example.com']) {
      expect(checkHostAndOrigin(new Headers({ host }), allowed)).toBeUndefined();
    }
    expect(checkHostAndOrigin(new Headers({ host: 'localhost', origin: 'http://localhost:3000' }), allowed)).toBeUndefined();
  });
  it('refuses a rebound host name or a foreign origin', () => {
    expect(checkHostAndOrigin(new Headers({ host: 'evil.example:8080' }), allowed)).toMatch(/Host/);
    expect(checkHostAndOrigin(new Headers({ host: 'localhost', origin: 'https://evil.example' }), allowed)).toMatch(/Origin/);
    expect(checkHostAndOrigin(new Headers({ host: 'localhost', origin: 'not a url' }), allowed)).toMatch(/Origin/);
  });
});

describe('the guard of a gateway without credentials (auth.mode none)', () => {
  const cors = createCorsPolicy(['https://app.example.com'], 'https://mcp.example.com/base');
  const check = (hosts: Set<string> | undefined, ipLiterals: boolean, headers: Record<string, string>) =>
    checkWithoutCredential(new Headers(headers), hosts, ipLiterals, cors.allows);

  it('knows no host names on a wildcard bind without publicUrl, and some on any other non-loopback bind', () => {
    expect(openBindHostnames('0.0.0.0', undefined)).toBeUndefined();
    expect(openBindHostnames('::', undefined)).toBeUndefined();
    expect([...openBindHostnames('0.0.0.0', 'https://mcp.example.com')!]).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', 'mcp.example.com']));
    expect(openBindHostnames('10.0.0.5', undefined)!.has('10.0.0.5')).toBe(true);
    expect(openBindHostnames('fd00::5', undefined)!.has('[fd00::5]')).toBe(true);
    expect(openBindHostnames('Box.LAN', undefined)!.has('box.lan')).toBe(true);
  });

  it('refuses every Origin but loopback, publicUrl’s and cors.origins, null included; admits no Origin', () => {
    for (const origin of ['https://evil.example', 'null', 'http://mcp.example.com', 'https://mcp.example.com:8443', 'http://10.0.0.7:6274', 'not a url']) {
      expect(check(undefined, true, { host: '10.0.0.5:8080', origin }), origin).toMatch(/Origin/);
    }
    for (const origin of ['https://mcp.example.com', 'https://app.example.com', 'http://localhost:6274', 'http://127.0.0.1:3000', 'http://[::1]:8080']) {
      expect(check(undefined, true, { host: '10.0.0.5:8080', origin }), origin).toBeUndefined();
    }
    expect(check(undefined, true, { host: 'anything.example:8080' })).toBeUndefined();
  });

  it('checks Host when it knows the names: any IP literal passes on a non-loopback bind, a DNS name must be known', () => {
    const hosts = openBindHostnames('0.0.0.0', 'https://mcp.example.com');
    for (const host of ['10.0.0.5:8080', '192.168.1.20', '[fe80::1]:8080', '127.0.0.1:8080', 'localhost:8080', 'mcp.example.com', 'MCP.example.com:443']) {
      expect(check(hosts, true, { host }), host).toBeUndefined();
    }
    for (const host of ['evil.example:8080', 'mcp.example.com.evil.example', '10.0.0.5.evil.example', 'gatehouse:8080', '2130706433:8080']) {
      expect(check(hosts, true, { host }), host).toMatch(/Host/);
    }
    // A loopback bind keeps its own Host rule: loopback names and publicUrl's host only.
    expect(check(allowedHostnames('127.0.0.1', undefined), false, { host: '10.0.0.5:8080' })).toMatch(/Host/);
  });
});

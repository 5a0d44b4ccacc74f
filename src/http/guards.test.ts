import { describe, expect, it } from 'vitest';
import { allowedHostnames, checkHostAndOrigin } from './guards.js';

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

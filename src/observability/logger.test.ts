import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactPathToken, redactUrl } from './index.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _e, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('never writes secrets, tokens or credentials', () => {
    const { lines, destination } = capture();
    const log = createLogger({ level: 'info', destination });
    log.info(
      {
        headers: { authorization: 'Bearer SECRET-1', cookie: 'LtpaToken2=SECRET-2' },
        req: { headers: { authorization: 'Bearer SECRET-3' } },
        clientSecret: 'SECRET-4',
        oauth: { client_secret: 'SECRET-5', refresh_token: 'SECRET-6' },
        env: { API_KEY: 'SECRET-7' },
        tokens: ['SECRET-8'],
        harmless: 'visible',
      },
      'something happened',
    );
    const out = lines.join('');
    expect(out).toContain('visible');
    for (let i = 1; i <= 8; i++) expect(out).not.toContain(`SECRET-${i}`);
  });

  it('redacts secret query parameters in URLs', () => {
    expect(redactUrl('/a/mcp?token=abc&x=1')).toBe('/a/mcp?token=[REDACTED]&x=1');
    expect(redactUrl('https://h/cb?code=c1&state=s1')).toBe('https://h/cb?code=[REDACTED]&state=[REDACTED]');
  });

  it('redacts a query key by what it decodes to, keeping it as written', () => {
    expect(redactUrl('/secret/sse?x=token=&%74oken=s3cret')).toBe('/secret/sse?x=token=&%74oken=[REDACTED]');
    expect(redactUrl('/a/sse?TOKEN=s3cret&%61pi%5Fkey=k2&acc%65ss_token=t3')).toBe('/a/sse?TOKEN=[REDACTED]&%61pi%5Fkey=[REDACTED]&acc%65ss_token=[REDACTED]');
    expect(redactUrl('/a/sse?x=1?token=s3cret#code=c1')).toBe('/a/sse?x=1?token=[REDACTED]#code=[REDACTED]');
    expect(redactUrl('/a/sse?x=%zz&tokens=visible&token')).toBe('/a/sse?x=%zz&tokens=visible&token');
    expect(redactUrl('/token=path/only')).toBe('/token=path/only');
  });

  it('redacts the second path segment, where a path token sits (/{server}/{token}/sse)', () => {
    expect(redactPathToken('/secret/s3cret/sse/')).toBe('/secret/[REDACTED]/sse/');
    expect(redactPathToken('//secret/s3cret/sse?x=1')).toBe('//secret/[REDACTED]/sse?x=1');
    expect(redactPathToken('/secret/s3cret')).toBe('/secret/[REDACTED]');
    expect(redactPathToken('/nothing')).toBe('/nothing');
  });

  it("with publicUrl's path, also redacts where the token sits after it when the path comes first, in any case", () => {
    expect(redactPathToken('/.well-known/oauth-protected-resource/proxy/echo/s3cret/mcp', '/proxy')).toBe('/.well-known/oauth-protected-resource/proxy/[REDACTED]/[REDACTED]/mcp');
    expect(redactPathToken('/PROXY/echo/s3cret/mcp', '/proxy')).toBe('/PROXY/[REDACTED]/[REDACTED]/mcp');
    expect(redactPathToken('/%50roxy/echo/s3cret/mcp', '/proxy')).toBe('/%50roxy/[REDACTED]/[REDACTED]/mcp');
    expect(redactPathToken('/a/b/echo/s3cret/mcp?x=1', '/a/b')).toBe('/a/[REDACTED]/echo/[REDACTED]/mcp?x=1');
    // Elsewhere only the usual place.
    expect(redactPathToken('/echo/s3cret/nothing', '/proxy')).toBe('/echo/[REDACTED]/nothing');
    expect(redactPathToken('/.well-known/oauth-protected-resource/echo/s3cret/mcp', '/proxy')).toBe('/.well-known/oauth-protected-resource/echo/[REDACTED]/mcp');
  });

  it('under /.well-known/{name}/ redacts the second segment of the suffix, and keeps the name', () => {
    expect(redactPathToken('/.well-known/oauth-protected-resource/secret/s3cret/mcp')).toBe('/.well-known/oauth-protected-resource/secret/[REDACTED]/mcp');
    expect(redactPathToken('/.well-known/oauth-authorization-server/secret/s3cret/sse?x=1')).toBe('/.well-known/oauth-authorization-server/secret/[REDACTED]/sse?x=1');
    expect(redactPathToken('//.well-known//oauth-protected-resource//secret/s3cret')).toBe('//.well-known//oauth-protected-resource//secret/[REDACTED]');
    expect(redactPathToken('/.Well-Known/x/secret/s3cret/mcp')).toBe('/.Well-Known/x/secret/[REDACTED]/mcp');
    expect(redactPathToken('/%2Ewell-known/x/secret/s3cret/mcp')).toBe('/%2Ewell-known/x/secret/[REDACTED]/mcp');
    // No token to hide: the name alone, or one segment after it.
    expect(redactPathToken('/.well-known/oauth-protected-resource')).toBe('/.well-known/oauth-protected-resource');
    expect(redactPathToken('/.well-known/oauth-protected-resource/mcp')).toBe('/.well-known/oauth-protected-resource/mcp');
  });

  it('writes one readable line per event in pretty format', () => {
    const { lines, destination } = capture();
    createLogger({ format: 'pretty', destination }).warn({ upstream: 'files' }, 'restarting');
    expect(lines.join('')).toMatch(/WARN\s+restarting upstream=files/);
  });
});

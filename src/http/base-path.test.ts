import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../observability/index.js';
import { basePathOf, basePathShadows, requestedPathLogger, underBasePath } from './base-path.js';

describe('basePathOf', () => {
  it('is empty without publicUrl or at the root, and the path without trailing slashes otherwise', () => {
    expect(basePathOf(undefined)).toEqual({ path: '' });
    expect(basePathOf('https://mcp.example.com')).toEqual({ path: '' });
    expect(basePathOf('https://mcp.example.com/')).toEqual({ path: '' });
    expect(basePathOf('https://example.com/proxy')).toEqual({ path: '/proxy' });
    expect(basePathOf('https://example.com/proxy/')).toEqual({ path: '/proxy' });
    expect(basePathOf('https://example.com/tools/mcp-proxy~1')).toEqual({ path: '/tools/mcp-proxy~1' });
    expect(basePathOf('https://Example.COM:443/Proxy')).toEqual({ path: '/Proxy' });
    expect(basePathOf('http://127.0.0.1:8080/a/b?x=1')).toEqual({ path: '/a/b' });
  });

  it('refuses a path clients would send otherwise than written, or one under /.well-known', () => {
    for (const url of [
      'https://example.com/a/../b',
      'https://example.com/a/./b',
      'https://example.com/%2e%2e/b',
      'https://example.com/a b',
      'https://example.com/caf\u00e9',
      'https://example.com/a//b',
      'https://example.com\\proxy',
      'https://example.com/.well-known',
      'https://example.com/.Well-Known/x',
      'https://example.com/%2Ewell-known/x',
      'https://example.com/a%2Fb',
    ]) {
      expect(basePathOf(url), url).toHaveProperty('problem');
    }
  });

  it("refuses the sub-delimiters, which would break the cookies' Path attribute (/x;Domain=... adds one)", () => {
    for (const url of ['https://gw.example/x;Domain=example.org', 'https://gw.example/a,b', 'https://gw.example/a=b', "https://gw.example/it's", 'https://gw.example/a:b', 'https://gw.example/a@b', 'https://gw.example/(a)']) {
      expect(basePathOf(url), url).toEqual({ problem: expect.stringContaining('use letters, digits and - . _ ~') });
    }
  });
});

describe('underBasePath', () => {
  it('takes the base off a request under it, on a segment boundary, byte for byte', () => {
    expect(underBasePath('/proxy/echo/mcp', '/proxy')).toBe('/echo/mcp');
    expect(underBasePath('/proxy/echo/mcp?token=x', '/proxy')).toBe('/echo/mcp?token=x');
    expect(underBasePath('/proxy/', '/proxy')).toBe('/');
    expect(underBasePath('/a/b/mcp', '/a/b')).toBe('/mcp');
    // What follows is left as it is: the root's rules apply to it.
    expect(underBasePath('/proxy/../x', '/proxy')).toBe('/../x');
    expect(underBasePath('/proxy//x', '/proxy')).toBe('//x');
    expect(underBasePath('/proxy/proxy/mcp', '/proxy')).toBe('/proxy/mcp');
  });

  it('leaves everything else at the root', () => {
    for (const url of ['/proxy', '/proxy?x=1', '/proxyX/mcp', '/proxy%2Fmcp', '/%70roxy/mcp', '/PROXY/mcp', '//proxy/mcp', '/mcp', '/', '*', 'http://h/proxy/mcp', '/a/mcp']) {
      expect(underBasePath(url, '/proxy'), url).toBeUndefined();
    }
    expect(underBasePath('/a/mcp', '/a/b')).toBeUndefined();
    expect(underBasePath('/proxy/mcp', '')).toBeUndefined();
  });
});

describe('requestedPathLogger', () => {
  it('logs a request path with the base in front, and nothing else changed', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    });
    const under = requestedPathLogger(logger, '/proxy');
    under.debug({ path: '/echo/[REDACTED]/mcp?token=[REDACTED]', status: 200 }, 'request');
    under.child({ component: 'openapi' }).error({ path: '/openapi.json' }, 'unhandled error');
    under.info({ path: 'not-a-request-path' }, 'other');
    logger.debug({ path: '/echo/mcp' }, 'request');
    expect(lines.map((l) => l.path)).toEqual(['/proxy/echo/[REDACTED]/mcp?token=[REDACTED]', '/proxy/openapi.json', 'not-a-request-path', '/echo/mcp']);
  });
});

describe('basePathShadows', () => {
  it('names the root routes a base path takes away', () => {
    expect(basePathShadows('', { servers: ['proxy'] })).toBeUndefined();
    expect(basePathShadows('/proxy', { servers: ['echo'] })).toBeUndefined();
    // Nothing lives below these at the root: /mcp/... is the aggregate's legacy alias, the same either way.
    expect(basePathShadows('/mcp', { servers: ['echo'] })).toBeUndefined();
    expect(basePathShadows('/healthz', { servers: [] })).toBeUndefined();
    expect(basePathShadows('/proxy', { servers: ['Proxy'] })).toContain('server "Proxy"');
    expect(basePathShadows('/oauth', { servers: [] })).toContain("Gatehouse's own /oauth/... routes");
    expect(basePathShadows('/auth', { servers: [], callbackPaths: ['/auth/callback'] })).toContain('the sign-in callback /auth/callback');
    expect(basePathShadows('/auth', { servers: [], callbackPaths: ['/auth'] })).toBeUndefined();
  });
});

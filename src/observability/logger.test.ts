import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from './index.js';

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

  it('writes one readable line per event in pretty format', () => {
    const { lines, destination } = capture();
    createLogger({ format: 'pretty', destination }).warn({ upstream: 'files' }, 'restarting');
    expect(lines.join('')).toMatch(/WARN\s+restarting upstream=files/);
  });
});

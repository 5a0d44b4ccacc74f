import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createFileTracer, traceableUrl, tracedFetch, type TraceSpan } from './trace.js';

describe('traceableUrl', () => {
  it('keeps scheme, host and path; drops user info and fragment', () => {
    expect(traceableUrl('https://user:pw@as.example:8443/oauth/token#frag')).toBe('https://as.example:8443/oauth/token');
  });

  it('keeps the names of query parameters, and values only of the harmless ones', () => {
    const url = 'https://as.example/authorize?response_type=code&client_id=app&code_challenge=abc&state=s3cr3t&code=c0de&access_token=t0k&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback';
    const shown = traceableUrl(url);
    expect(shown).toContain('response_type=code');
    expect(shown).toContain('client_id=app');
    expect(shown).toContain('redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcallback');
    for (const secret of ['abc', 's3cr3t', 'c0de', 't0k']) expect(shown).not.toContain(secret);
    expect(shown).toMatch(/[?&]state(&|$)/);
  });

  it('says so instead of echoing something that is not a URL', () => {
    expect(traceableUrl('not a url with secret')).toBe('[not a URL]');
  });
});

describe('tracedFetch', () => {
  it('names OAuth steps by URL and grant, and records neither headers nor bodies', async () => {
    const spans: TraceSpan[] = [];
    const fetchFn = tracedFetch(
      (input) => Promise.resolve(new Response('{"access_token":"at-secret"}', { status: String(input).includes('token') ? 200 : 404 })),
      { record: (s) => spans.push(s), close: () => undefined },
    );
    await fetchFn('https://as.example/.well-known/oauth-authorization-server');
    await fetchFn('https://as.example/token', {
      method: 'POST',
      headers: { authorization: 'Basic c2VjcmV0' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'rt-secret' }),
    });
    expect(spans.map((s) => [s.name, s.status])).toEqual([
      ['oauth.discovery.authorization-server', 404],
      ['oauth.token.refresh_token', 200],
    ]);
    const text = JSON.stringify(spans);
    for (const secret of ['rt-secret', 'c2VjcmV0', 'at-secret']) expect(text).not.toContain(secret);
  });
});

describe('createFileTracer', () => {
  it('appends one JSON line per span to a 0600 file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gatehouse-trace-')), 'trace.jsonl');
    const tracer = createFileTracer(file);
    tracer.record({ kind: 'http', name: 'http.request', start: Date.now(), ms: 1.5, status: 200 });
    tracer.record({ kind: 'oauth', name: 'oauth.authorize', start: Date.now(), ms: 20, outcome: 'ok' });
    tracer.close();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { name: string; ts: string });
    expect(lines.map((l) => l.name)).toEqual(['http.request', 'oauth.authorize']);
    expect(lines[0]!.ts).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

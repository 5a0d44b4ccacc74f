import { describe, expect, it } from 'vitest';
import { matchMcpRoute } from './mcp-listener.js';

describe('matchMcpRoute', () => {
  it('recognises the aggregate and per-server endpoints', () => {
    expect(matchMcpRoute('/mcp', false)).toEqual({ server: undefined, kind: 'mcp', pathToken: undefined });
    expect(matchMcpRoute('/files/mcp', false)).toEqual({ server: 'files', kind: 'mcp', pathToken: undefined });
    expect(matchMcpRoute('/files/sse', false)).toMatchObject({ kind: 'sse' });
    expect(matchMcpRoute('/files/messages', false)).toMatchObject({ kind: 'message' });
  });
  it('takes a path token only when tokenInUrl is on', () => {
    expect(matchMcpRoute('/files/s3cret/sse', false)).toBeUndefined();
    expect(matchMcpRoute('/files/s3cret/sse', true)).toEqual({ server: 'files', kind: 'sse', pathToken: 's3cret' });
  });
  it('leaves every other path to the app', () => {
    for (const p of ['/', '/healthz', '/files', '/files/mcp/extra/deep/x', '//mcp', '/a//mcp', '/%E0%A4%A/mcp', 'mcp']) {
      expect(matchMcpRoute(p, true)).toBeUndefined();
    }
  });
});

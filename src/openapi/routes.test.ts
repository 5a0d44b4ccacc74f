import { describe, expect, it } from 'vitest';
import { matchOpenApiRoute, toolPath } from './routes.js';

describe('matchOpenApiRoute', () => {
  it('matches the documents and the three call routes', () => {
    expect(matchOpenApiRoute('/openapi.json')).toEqual({ kind: 'document', server: undefined });
    expect(matchOpenApiRoute('/files/openapi.json')).toEqual({ kind: 'document', server: 'files' });
    expect(matchOpenApiRoute('/api/tools/files__read')).toEqual({ kind: 'call', server: undefined, tool: 'files__read' });
    expect(matchOpenApiRoute('/api/tools/call/files__read')).toEqual({ kind: 'call', server: undefined, tool: 'files__read' });
    expect(matchOpenApiRoute('/files/api/tools/read%20file')).toEqual({ kind: 'call', server: 'files', tool: 'read file' });
  });

  it('leaves every other path to the other listeners', () => {
    for (const p of ['/', '/mcp', '/files/mcp', '/api', '/api/tools', '/api/tools/', '/files/api/tools/a/b', '/x/y/openapi.json', '/api/tools/%E0%A4%A']) {
      expect(matchOpenApiRoute(p), p).toBeUndefined();
    }
  });

  it('builds paths that match back', () => {
    const path = toolPath('files', 'odd/name?');
    expect(matchOpenApiRoute(path)).toEqual({ kind: 'call', server: 'files', tool: 'odd/name?' });
  });
});

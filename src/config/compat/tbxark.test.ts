// TBXark mcp-proxy's authTokens and `name/{token}` keys, converted so that each server is
// guarded as mcp-proxy guards it: a server with authTokens (its own, else the proxy's) needs
// one, one without is open, and a `name/{token}` key adds a path token to the same server.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../index.js';
import { fromTbxark } from './tbxark.js';

const resolve = (input: Record<string, unknown>) => {
  const { doc, warnings } = fromTbxark(input);
  const cfg = resolveConfig({ format: 'tbxark', location: undefined, baseDir: '.', doc }, {});
  return { doc, warnings, cfg, tokens: Object.fromEntries(cfg.servers.map((s) => [s.name, s.tokens])) };
};

describe('TBXark: servers with and without authTokens side by side', () => {
  it('becomes auth.mode none with per-server tokens, v2 and v1, with no warning that a server is unreachable', () => {
    const v2 = resolve({
      mcpProxy: { addr: '127.0.0.1:9090' },
      mcpServers: { locked: { command: 'uvx', options: { authTokens: ['t1'] } }, open: { command: 'uvx' } },
    });
    const v1 = resolve({
      server: { addr: '127.0.0.1:9090' },
      clients: { locked: { type: 'stdio', config: { command: 'uvx' }, authTokens: ['t1'] }, open: { type: 'stdio', config: { command: 'uvx' } } },
    });
    for (const { cfg, tokens, warnings } of [v2, v1]) {
      expect(cfg.auth).toMatchObject({ mode: 'none', tokens: [] });
      expect(tokens).toEqual({ locked: ['t1'], open: undefined });
      expect(warnings).toEqual([]);
    }
  });

  it('an explicit empty authTokens list is open (mcp-proxy inherits only a missing one); the others carry the proxy tokens themselves', () => {
    const { cfg, tokens } = resolve({
      mcpProxy: { options: { authTokens: ['Default'] } },
      mcpServers: { inherits: { command: 'a' }, own: { command: 'b', options: { authTokens: ['Own'] } }, open: { command: 'c', options: { authTokens: [] } } },
    });
    expect(cfg.auth).toMatchObject({ mode: 'none', tokens: [] });
    expect(tokens).toEqual({ inherits: ['Default'], own: ['Own'], open: undefined });
  });

  it('keeps auth.mode tokens when every server has tokens, the proxy defaults as auth.tokens', () => {
    const { doc, cfg, tokens } = resolve({
      mcpProxy: { options: { authTokens: ['Default'] } },
      mcpServers: { inherits: { command: 'a' }, own: { command: 'b', options: { authTokens: ['Own'] } } },
    });
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['Default'] });
    expect(tokens).toEqual({ inherits: undefined, own: ['Own'] });
    expect((doc.servers as Record<string, object>).inherits).not.toHaveProperty('tokens');
  });

  it('leaves every server open when none has tokens', () => {
    const { cfg, tokens } = resolve({ mcpProxy: {}, mcpServers: { a: { command: 'a' }, b: { command: 'b' } } });
    expect(cfg.auth.mode).toBe('none');
    expect(tokens).toEqual({ a: undefined, b: undefined });
  });
});

describe('TBXark: name/{token} keys', () => {
  it('merges the path tokens of keys naming the same server, and keeps the inherited header tokens', () => {
    const { cfg, tokens, warnings } = resolve({
      mcpProxy: { options: { authTokens: ['DefaultTokens'] } },
      mcpServers: { 'demo/tokA': { command: 'uvx', args: ['x'] }, 'demo/tokB': { command: 'uvx', args: ['x'] } },
    });
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokenInUrl: true });
    expect(tokens).toEqual({ demo: ['DefaultTokens', 'tokA', 'tokB'] });
    expect(warnings).toEqual([]);
  });

  it('keeps a server open when one of its keys is (a path token then only names a route to it)', () => {
    const { cfg, tokens } = resolve({
      mcpProxy: {},
      mcpServers: { 'demo/tokA': { command: 'uvx' }, demo: { command: 'uvx' }, locked: { command: 'l', options: { authTokens: ['L'] } } },
    });
    expect(cfg.auth).toMatchObject({ mode: 'none', tokenInUrl: true });
    // demo/tokA alone (no authTokens anywhere) is a secret path: the token is the only guard.
    expect(tokens).toEqual({ demo: undefined, locked: ['L'] });
    expect(resolve({ mcpProxy: {}, mcpServers: { 'demo/tokA': { command: 'uvx' } } }).tokens).toEqual({ demo: ['tokA'] });
  });

  it('leaves out, with a warning naming both keys, a key that names a server already described differently', () => {
    const { cfg, warnings } = resolve({
      mcpProxy: { options: { authTokens: ['D'] } },
      mcpServers: { 'demo/tokA': { command: 'uvx', args: ['one'] }, 'demo/tokB': { command: 'uvx', args: ['two'] } },
    });
    expect(cfg.servers.map((s) => [s.name, s.kind === 'stdio' ? s.args : undefined, s.tokens])).toEqual([['demo', ['one'], ['D', 'tokA']]]);
    expect(warnings).toEqual([
      'mcpServers.demo/tokB: names server "demo" as mcpServers.demo/tokA does, but describes another server; Gatehouse serves one server per name ' +
        '(the part before "/"), so this entry is left out and its path token opens nothing: give it a name of its own',
    ]);
  });
});

describe('TBXark: server names Gatehouse cannot serve', () => {
  it('renames them as for Claude Desktop, path-token keys merged first, with a warning naming the new route', () => {
    const { cfg, tokens, warnings } = resolve({
      mcpProxy: {},
      mcpServers: { 'My Server/tokA': { command: 'a' }, 'My Server/tokB': { command: 'a' }, api: { command: 'b' }, 'memory.v2': { command: 'c' } },
    });
    expect(cfg.servers.map((s) => s.name)).toEqual(['my-server', 'api-server', 'memory-v2']);
    expect(tokens['my-server']).toEqual(['tokA', 'tokB']);
    expect(cfg.auth).toMatchObject({ mode: 'none', tokenInUrl: true });
    expect(warnings).toEqual([
      expect.stringMatching(/^mcpServers\.My Server\/tokA: served as "my-server" at \/my-server\/mcp/),
      expect.stringMatching(/^mcpServers\.api: served as "api-server" at \/api-server\/mcp/),
      expect.stringMatching(/^mcpServers\.memory\.v2: served as "memory-v2" at \/memory-v2\/mcp/),
    ]);
  });
});

// TBXark mcp-proxy's authTokens and `name/{token}` keys, converted so that each server is
// guarded as mcp-proxy guards it: a server with authTokens (its own, else the proxy's) needs
// one, one without is open, and a `name/{token}` key adds its path token to the same server
// only where that route asks for no header token. The v1 `server` and `clients` keys are
// read as mcp-proxy's load() reads them, beside the v2 ones too.
import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../index.js';
import { fromTbxark, isTbxarkDocument } from './tbxark.js';

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
  it('beside header tokens (inherited here) the path tokens are no credential: the header token alone, no tokenInUrl, a warning per key', () => {
    const { cfg, tokens, warnings } = resolve({
      mcpProxy: { options: { authTokens: ['DefaultTokens'] } },
      mcpServers: { 'demo/tokA': { command: 'uvx', args: ['x'] }, 'demo/tokB': { command: 'uvx', args: ['x'] } },
    });
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['DefaultTokens'], tokenInUrl: false });
    expect(tokens).toEqual({ demo: undefined });
    expect(warnings).toEqual(
      ['tokA', 'tokB'].map(
        (t) =>
          `mcpServers.demo/${t}: the path segment "${t}" is not carried over (mcp-proxy asked for the Authorization header on that route too, ` +
          'so the path was no secret): the server is at /demo/mcp, opened by its header token',
      ),
    );
  });

  it('beside its own header tokens the path token opens nothing; a key with no header token anywhere keeps its path as the credential', () => {
    const { cfg, tokens, warnings } = resolve({
      mcpProxy: {},
      mcpServers: { 'demo/pathsecret': { command: 'uvx', options: { authTokens: ['HEADERTOKEN'] } }, 'hidden/onlypath': { command: 'uvx' } },
    });
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: [], tokenInUrl: true });
    expect(tokens).toEqual({ demo: ['HEADERTOKEN'], hidden: ['onlypath'] });
    expect(warnings).toEqual([expect.stringMatching(/^mcpServers\.demo\/pathsecret: the path segment "pathsecret" is not carried over/)]);
    // Alone, nothing needs a token in the URL.
    const alone = resolve({ mcpProxy: {}, mcpServers: { 'demo/pathsecret': { command: 'uvx', options: { authTokens: ['HEADERTOKEN'] } } } });
    expect(alone.cfg.auth).toMatchObject({ mode: 'tokens', tokenInUrl: false });
    expect(alone.tokens).toEqual({ demo: ['HEADERTOKEN'] });
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
    expect(cfg.servers.map((s) => [s.name, s.kind === 'stdio' ? s.args : undefined, s.tokens])).toEqual([['demo', ['one'], undefined]]);
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['D'] });
    expect(warnings).toEqual([
      'mcpServers.demo/tokB: names server "demo" as mcpServers.demo/tokA does, but describes another server; Gatehouse serves one server per name ' +
        '(the part before "/"), so this entry is left out and its path token opens nothing: give it a name of its own',
      expect.stringMatching(/^mcpServers\.demo\/tokA: the path segment "tokA" is not carried over/),
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

describe('TBXark: the v1 server and clients beside the v2 keys, as mcp-proxy\'s load() reads them', () => {
  it('server without mcpProxy is the proxy: its addr, baseURL, and globalAuthTokens as the default tokens, with or without server options', () => {
    for (const a of [{ command: 'node', args: ['demo.js'], options: { logEnabled: false } }, { command: 'node', args: ['demo.js'] }]) {
      const input = { server: { addr: '127.0.0.1:18713', baseURL: 'https://mcp.example.com/', globalAuthTokens: ['G'] }, mcpServers: { a } };
      expect(isTbxarkDocument(input)).toBe(true);
      const { cfg, tokens, warnings } = resolve(input);
      expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 18713 });
      expect(cfg.publicUrl).toBe('https://mcp.example.com');
      expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['G'] });
      expect(tokens).toEqual({ a: undefined });
      expect(warnings.filter((w) => !w.startsWith('mcpServers.a.options.logEnabled'))).toEqual([]);
    }
    // A server with authTokens of its own keeps them; one with an empty list is open, as in mcp-proxy.
    const mixed = resolve({ server: { globalAuthTokens: ['G'] }, mcpServers: { own: { command: 'a', options: { authTokens: ['O'] } }, open: { command: 'b', options: { authTokens: [] } }, g: { command: 'c' } } });
    expect(mixed.tokens).toEqual({ own: ['O'], open: undefined, g: ['G'] });
  });

  it('mcpProxy with clients and no (or empty) mcpServers serves the clients: the proxy tokens for one without its own, the global ones appended', () => {
    for (const mcpServers of [undefined, {}]) {
      const { cfg, tokens, warnings } = resolve({
        mcpProxy: { addr: '127.0.0.1:9090', options: { authTokens: ['P'] } },
        server: { globalAuthTokens: ['G'] },
        ...(mcpServers ? { mcpServers } : {}),
        clients: { c: { type: 'stdio', config: { command: 'uvx' } }, own: { type: 'stdio', config: { command: 'uvx' }, authTokens: ['O'] } },
      });
      expect(cfg.servers.map((s) => s.name)).toEqual(['c', 'own']);
      expect(tokens).toEqual({ c: ['G'], own: ['O', 'G'] });
      expect(warnings).toEqual([]);
    }
    const noGlobal = resolve({ mcpProxy: { options: { authTokens: ['P'] } }, clients: { c: { type: 'stdio', config: { command: 'uvx' } } } });
    expect(noGlobal.cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['P'] });
    expect(noGlobal.tokens).toEqual({ c: undefined });
  });

  it('names what mcp-proxy does not read: clients beside servers in mcpServers, server beside mcpProxy', () => {
    const { cfg, warnings } = resolve({
      mcpProxy: { addr: '127.0.0.1:9090' },
      server: { addr: ':1', globalAuthTokens: ['G'] },
      mcpServers: { a: { command: 'a' } },
      clients: { c: { type: 'stdio', config: { command: 'c' } } },
    });
    expect(cfg.servers.map((s) => s.name)).toEqual(['a']);
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(cfg.auth.mode).toBe('none');
    expect(warnings).toEqual([
      'clients: not read beside mcpServers (as mcp-proxy does), so left out',
      'server.addr: not read beside mcpProxy (as mcp-proxy does), so dropped',
      'server.globalAuthTokens: not read beside mcpProxy (as mcp-proxy does), so dropped',
    ]);
  });
});

describe('TBXark: token lists mcp-proxy would refuse to read', () => {
  const issues = (input: Record<string, unknown>) => {
    try {
      fromTbxark(input);
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  };
  const notList = (path: string) => `${path}: must be a list of strings, as mcp-proxy reads it`;

  it('stops at the path of an authTokens or globalAuthTokens that is not a list of strings, instead of serving the gateway open', () => {
    const cmd = { command: 'uvx' };
    expect(issues({ mcpProxy: { options: { authTokens: 'DefaultTokens' } }, mcpServers: { a: cmd } })).toEqual([notList('mcpProxy.options.authTokens')]);
    expect(issues({ mcpProxy: { options: { authTokens: [12345] } }, mcpServers: { a: cmd } })).toEqual([notList('mcpProxy.options.authTokens')]);
    expect(issues({ mcpProxy: {}, mcpServers: { a: { ...cmd, options: { authTokens: 'SpecificToken' } } } })).toEqual([notList('mcpServers.a.options.authTokens')]);
    expect(issues({ server: { globalAuthTokens: 'G' }, mcpServers: { a: cmd } })).toEqual([notList('server.globalAuthTokens')]);
    expect(issues({ server: { globalAuthTokens: 'G' }, clients: { c: { type: 'stdio', config: cmd } } })).toEqual([notList('server.globalAuthTokens')]);
    expect(issues({ server: {}, clients: { c: { type: 'stdio', config: cmd, authTokens: ['ok', null] } } })).toEqual([notList('clients.c.authTokens')]);
    // A block list that is not a list would block nothing.
    expect(issues({ mcpProxy: {}, mcpServers: { a: { ...cmd, options: { toolFilter: { mode: 'block', list: 'delete_all' } } } } })).toEqual([
      notList('mcpServers.a.options.toolFilter.list'),
    ]);
    // Every one at once, in entries mcp-proxy reads but does not serve (disabled, clients beside mcpServers) too.
    expect(
      issues({
        mcpProxy: { options: { authTokens: 'P' } },
        server: { globalAuthTokens: 7 },
        mcpServers: { off: { ...cmd, options: { disabled: true, authTokens: { t: 'x' } } } },
        clients: { c: { type: 'stdio', config: cmd, authTokens: 'C' } },
      }),
    ).toEqual([notList('mcpProxy.options.authTokens'), notList('server.globalAuthTokens'), notList('mcpServers.off.options.authTokens'), notList('clients.c.authTokens')]);
  });

  it('reads null as absent (Go nil) and a list of strings as it is', () => {
    const { tokens } = resolve({ mcpProxy: { options: { authTokens: ['D'] } }, mcpServers: { a: { command: 'a', options: { authTokens: null } }, b: { command: 'b', options: { authTokens: ['B'] } } } });
    expect(tokens).toEqual({ a: undefined, b: ['B'] });
    expect(issues({ server: { globalAuthTokens: null }, clients: { c: { type: 'stdio', config: { command: 'c' }, authTokens: null } } })).toEqual([]);
  });
});

describe('TBXark: options.enabled', () => {
  it('leaves out a server with enabled: false, as disabled: true, with a warning saying so', () => {
    const { cfg, tokens, warnings } = resolve({
      mcpProxy: {},
      mcpServers: { off: { command: 'a', options: { enabled: false } }, on: { command: 'b', options: { enabled: true, authTokens: ['T'] } } },
    });
    expect(cfg.servers.map((s) => s.name)).toEqual(['on']);
    expect(tokens).toEqual({ on: ['T'] });
    expect(cfg.auth.mode).toBe('tokens');
    expect(warnings).toEqual(['mcpServers.off: switched off in the mcp-proxy file (options.enabled: false), so left out']);
  });

  it('stops at an enabled or disabled that is not true or false', () => {
    expect(() => fromTbxark({ mcpProxy: {}, mcpServers: { a: { command: 'a', options: { enabled: 'false' } } } })).toThrow(
      'mcpServers.a.options.enabled: must be true or false, as mcp-proxy reads it',
    );
    expect(() => fromTbxark({ mcpProxy: {}, mcpServers: { a: { command: 'a', options: { disabled: 'yes' } } } })).toThrow(
      'mcpServers.a.options.disabled: must be true or false, as mcp-proxy reads it',
    );
  });
});

describe('TBXark: oauth2 settings mcp-proxy would refuse to read', () => {
  it('stops at an oauth2.enabled that is not true or false (else no login at all) and an allowedIPs that is not a list (else any address registers)', () => {
    expect(() => fromTbxark({ mcpProxy: { options: { oauth2: { enabled: 'true', users: { admin: 'pw' } } } }, mcpServers: { a: { command: 'a' } } })).toThrow(
      'mcpProxy.options.oauth2.enabled: must be true or false, as mcp-proxy reads it',
    );
    expect(() => fromTbxark({ mcpProxy: { options: { oauth2: { enabled: true, allowedIPs: '10.0.0.0/8' } } }, mcpServers: { a: { command: 'a' } } })).toThrow(
      'mcpProxy.options.oauth2.allowedIPs: must be a list of strings, as mcp-proxy reads it',
    );
    const { doc } = fromTbxark({ mcpProxy: { options: { oauth2: { enabled: true, allowedIPs: ['10.0.0.0/8'] } } }, mcpServers: { a: { command: 'a' } } });
    expect(doc.auth).toMatchObject({ mode: 'oauth', registration: { allowedIps: ['10.0.0.0/8'] } });
  });
});

describe('TBXark: a baseURL with a path', () => {
  it('is publicUrl with that path, read as mcp-proxy reads it (path.Join: no empty or dot segment, no trailing slash)', () => {
    const at = (baseURL: string) => resolve({ mcpProxy: { baseURL, addr: '127.0.0.1:9090' }, mcpServers: { fetch: { command: 'uvx' } } });
    expect(at('https://example.com/proxy').cfg.publicUrl).toBe('https://example.com/proxy');
    expect(at('https://example.com/proxy/').cfg.publicUrl).toBe('https://example.com/proxy');
    expect(at('https://example.com/proxy/').warnings).toEqual([]);
    expect(at('https://example.com/').cfg.publicUrl).toBe('https://example.com');
    const messy = at('https://example.com//tools/./old/../proxy/');
    expect(messy.cfg.publicUrl).toBe('https://example.com/tools/proxy');
    expect(messy.warnings).toEqual(['mcpProxy.baseURL: its path "//tools/./old/../proxy/" is read as "/tools/proxy", as mcp-proxy reads it']);
    const v1 = resolve({ server: { baseURL: 'https://example.com/a//b', addr: '127.0.0.1:9090' }, mcpServers: { fetch: { command: 'uvx' } } });
    expect(v1.cfg.publicUrl).toBe('https://example.com/a/b');
    expect(v1.warnings).toEqual(['server.baseURL: its path "/a//b" is read as "/a/b", as mcp-proxy reads it']);
  });
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseDotEnv } from './compat/index.js';
import {
  ConfigError,
  configJsonSchema,
  dotEnvDocument,
  environmentDocument,
  findNativeDocument,
  loadConfig,
  readNativeDocument,
  resolveConfig,
  toNative,
  type NativeDocument,
} from './index.js';

const native = (doc: Record<string, unknown>, baseDir = process.cwd()): NativeDocument => ({ format: 'native', location: 'test.yaml', baseDir, doc });

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  it('applies defaults and freezes the result', () => {
    const cfg = resolveConfig(native({ auth: { mode: 'none' }, servers: { files: { command: 'node' } } }), {});
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(cfg.maxBodySize).toBe(4 * 1024 * 1024);
    expect(cfg.servers[0]).toMatchObject({ kind: 'stdio', name: 'files', sharing: 'shared', args: [] });
    expect(cfg.auth.accessTokenTtl).toBe(3_600_000);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.servers[0])).toBe(true);
  });

  it('reports every problem at once, each with its path', () => {
    const issues = issuesOf(() =>
      resolveConfig(
        native({
          listen: 'nowhere',
          maxBodySize: 'huge',
          auth: { mode: 'sometimes', allowedIps: ['10.0.0.0/99'] },
          servers: { github: { args: ['x'] }, 'bad name': { command: 'x' }, mcp: { command: 'x' }, web: { url: 'ftp://x' } },
          surprise: true,
        }),
        {},
      ),
    );
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['listen', 'maxBodySize', 'auth.mode', 'auth.allowedIps[0]', 'servers.github.command', 'servers.bad name', 'servers.mcp', 'servers.web.url', 'surprise']),
    );
    expect(issues.length).toBeGreaterThanOrEqual(8);
  });

  it('resolves env:, file: and ${VAR} references, and reports missing ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    writeFileSync(join(dir, 'secret.txt'), 's3cret\n');
    const cfg = resolveConfig(
      native(
        {
          listen: '${HOST}:9000',
          auth: { mode: 'tokens', tokens: ['env:TOKEN', 'file:secret.txt'] },
          servers: { corp: { url: 'https://corp.example/mcp', headers: { Cookie: 'LtpaToken2=env:LTPA' } } },
        },
        dir,
      ),
      { HOST: '0.0.0.0', TOKEN: 't1', LTPA: 'cookie-value' },
    );
    expect(cfg.listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(cfg.auth.tokens).toEqual(['t1', 's3cret']);
    expect(cfg.servers[0]).toMatchObject({ headers: { Cookie: 'LtpaToken2=cookie-value' } });

    // A file:// URL is a URL, not a reference (node --import file:///...).
    const url = resolveConfig(native({ auth: { mode: 'none' }, servers: { a: { command: 'node', args: ['--import', 'file:///x/loader.mjs'] } } }, dir), {});
    expect(url.servers[0]).toMatchObject({ args: ['--import', 'file:///x/loader.mjs'] });

    const issues = issuesOf(() => resolveConfig(native({ auth: { mode: 'tokens', tokens: ['env:NOPE', 'file:missing.txt'] }, listen: '${NOHOST}:1' }, dir), {}));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'auth.tokens[0]', message: 'environment variable NOPE is not set' },
        { path: 'listen', message: 'environment variable NOHOST is not set' },
      ]),
    );
    expect(issues.some((i) => i.path === 'auth.tokens[1]' && i.message.includes('cannot read'))).toBe(true);
  });

  it('requires a token in tokens mode and refuses allow and block together', () => {
    const issues = issuesOf(() => resolveConfig(native({ auth: { mode: 'tokens' }, servers: { a: { command: 'x', tools: { allow: ['a'], block: ['b'] } } } }), {}));
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining(['auth.tokens', 'servers.a.tools']));
  });
});

describe('compatible formats', () => {
  it('reads a Claude Desktop file', () => {
    const { format, doc } = toNative({
      mcpServers: { fs: { command: 'npx', args: ['-y', 'server'], env: { A: '1' } }, remote: { url: 'https://x.example/sse', type: 'sse' } },
    });
    expect(format).toBe('claude-desktop');
    const cfg = resolveConfig({ format, location: undefined, baseDir: '.', doc }, {});
    expect(cfg.auth.mode).toBe('none');
    expect(cfg.servers.map((s) => [s.name, s.kind])).toEqual([['fs', 'stdio'], ['remote', 'remote']]);
    expect(cfg.servers[1]).toMatchObject({ transport: 'sse' });
  });

  it('reads a TBXark mcp-proxy file, with tool filters, tokens and name/{token} keys', () => {
    const { format, doc } = toNative({
      mcpProxy: { addr: ':9090', baseURL: 'https://mcp.example.com/', type: 'streamable-http', options: { authTokens: ['Default'] } },
      mcpServers: {
        github: { command: 'npx', args: ['gh'], options: { toolFilter: { mode: 'block', list: ['create_or_update_file'] } } },
        'fetch/secret-path-token': { command: 'uvx', args: ['mcp-server-fetch'], options: { authTokens: ['Specific'] } },
        amap: { url: 'https://mcp.amap.com/sse?key=k' },
        ignored: { command: 'x', options: { toolFilter: { list: ['a'] } } },
      },
    });
    expect(format).toBe('tbxark');
    const cfg = resolveConfig({ format, location: undefined, baseDir: '.', doc }, {});
    expect(cfg.listen).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(cfg.publicUrl).toBe('https://mcp.example.com');
    // fetch's route asks for its header token too: the path segment is no credential (tbxark.test.ts).
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['Default'], tokenInUrl: false });
    const byName = Object.fromEntries(cfg.servers.map((s) => [s.name, s]));
    expect(byName.github?.tools).toEqual({ block: ['create_or_update_file'] });
    expect(byName.fetch?.tokens).toEqual(['Specific']);
    expect(byName.ignored?.tools).toBeUndefined();
  });

  it('hashes TBXark oauth2 passwords instead of keeping them', () => {
    const { doc } = toNative({ mcpProxy: { options: { oauth2: { enabled: true, users: { admin: 'password123' } } } }, mcpServers: {} });
    const text = JSON.stringify(doc);
    expect(text).not.toContain('password123');
    expect(text).toMatch(/scrypt\$/);
  });

  it('reads YAML and JSON files and refuses malformed ones clearly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    writeFileSync(join(dir, 'a.yaml'), 'auth: { mode: none }\nservers:\n  x: { command: node }\n');
    writeFileSync(join(dir, 'b.json'), '{"mcpServers": {"x": {"command": "node"}}}');
    writeFileSync(join(dir, 'c.yaml'), 'servers: [unclosed');
    writeFileSync(join(dir, 'd.yaml'), '- a\n- b\n');
    expect((await readNativeDocument(join(dir, 'a.yaml'))).format).toBe('native');
    expect((await readNativeDocument(join(dir, 'b.json'))).format).toBe('claude-desktop');
    await expect(readNativeDocument(join(dir, 'c.yaml'))).rejects.toThrow(/not valid YAML or JSON/);
    await expect(readNativeDocument(join(dir, 'd.yaml'))).rejects.toThrow(/top level must be an object/);
    await expect(readNativeDocument(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read .*ENOENT/);
  });
});

describe('config from a URL', () => {
  it('reads a config served over http, and says clearly when it cannot', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.url === '/gatehouse.yaml') res.writeHead(200, { 'content-type': 'text/yaml' }).end('auth: { mode: none }\nservers:\n  a: { command: node }\n');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const doc = await readNativeDocument(`http://127.0.0.1:${port}/gatehouse.yaml`);
      expect(resolveConfig(doc, {}).servers.map((s) => s.name)).toEqual(['a']);
      await expect(readNativeDocument(`http://127.0.0.1:${port}/missing.yaml`)).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });
});

describe('configJsonSchema', () => {
  it('describes the native format', () => {
    const schema = configJsonSchema();
    expect(schema.type).toBe('object');
    const props = schema.properties as Record<string, unknown>;
    expect(Object.keys(props)).toEqual(expect.arrayContaining(['listen', 'auth', 'servers', 'publicUrl', 'openapi']));
    // allowedIps may be a list or one string (file:chatgpt-actions.json): an editor must not flag the string.
    const auth = props.auth as { properties: Record<string, { anyOf?: Array<{ type?: string }> }> };
    expect(auth.properties.allowedIps?.anyOf?.map((s) => s.type)).toEqual(['array', 'string']);
  });
});

describe('messages at the path a person fixes (CONTRACT.md exit 2 examples)', () => {
  it('a server with neither command nor url: servers.NAME.command: required; both: said at servers.NAME', () => {
    const issues = issuesOf(() => resolveConfig(native({ auth: { mode: 'none' }, servers: { github: { args: ['x'] }, both: { command: 'x', url: 'https://a.example/mcp' }, empty: {} } }), {}));
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'servers.github.command', message: 'required (a server needs either command (stdio) or url (remote))' },
        { path: 'servers.empty.command', message: 'required (a server needs either command (stdio) or url (remote))' },
        { path: 'servers.both', message: 'give either command (stdio) or url (remote), not both' },
      ]),
    );
    expect(String(new ConfigError(issues))).toContain('servers.github.command: required');
  });

  it('a remote upstream with oauth.grant authorization_code is refused by the schema, as serve refuses it', () => {
    const server = (oauth: Record<string, unknown>) => ({ url: 'https://corp.example/mcp', oauth });
    const issues = issuesOf(() =>
      resolveConfig(
        native({
          auth: { mode: 'none' },
          servers: {
            browser: server({ grant: 'authorization_code', clientId: 'a', clientSecret: 's' }),
            noId: server({ clientSecret: 's' }),
            noSecret: server({ clientId: 'a' }),
          },
        }),
        {},
      ),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'servers.browser.oauth.grant', message: expect.stringContaining('a gateway upstream can only use client_credentials') as string },
        { path: 'servers.noId.oauth.clientId', message: 'required for client_credentials' },
        { path: 'servers.noSecret.oauth.clientSecret', message: 'required for client_credentials (or privateKey)' },
      ]),
    );
    // The ways that work: a secret, or a private key.
    const ok = resolveConfig(native({ auth: { mode: 'none' }, servers: { a: server({ clientId: 'a', clientSecret: 's' }), b: server({ clientId: 'b', privateKey: 'k' }) } }), {});
    expect(ok.servers.map((s) => s.kind === 'remote' && s.oauth?.grant)).toEqual(['client_credentials', 'client_credentials']);
  });
});

describe('TBXark mcp-proxy details', () => {
  it('reads timeout as a Go time.Duration: a JSON number of nanoseconds', () => {
    const { doc } = toNative({
      mcpProxy: {},
      mcpServers: {
        slow: { url: 'https://a.example/mcp', transportType: 'streamable-http', timeout: 30_000_000_000 },
        quick: { url: 'https://b.example/mcp', transportType: 'streamable-http', timeout: 1_500_000 },
        unset: { url: 'https://c.example/mcp', transportType: 'streamable-http', timeout: 0 },
      },
    });
    const cfg = resolveConfig({ format: 'tbxark', location: undefined, baseDir: '.', doc }, {});
    const timeouts = Object.fromEntries(cfg.servers.map((s) => [s.name, s.kind === 'remote' ? s.timeoutMs : undefined]));
    expect(timeouts).toEqual({ slow: 30_000, quick: 2, unset: 60_000 });
  });

  it('accepts the v1 format (server, clients, globalAuthTokens) the way mcp-proxy adapts it', () => {
    const { format, doc, warnings } = toNative({
      server: { baseURL: 'https://mcp.example.com', addr: ':9090', name: 'MCP Proxy', version: '1.0.0', globalAuthTokens: ['global'] },
      clients: {
        fetch: { type: 'stdio', config: { command: 'uvx', args: ['mcp-server-fetch'], env: { A: '1' } }, panicIfInvalid: false, logEnabled: true, authTokens: ['own'] },
        amap: { type: 'sse', config: { url: 'https://mcp.amap.com/sse?key=k', headers: { 'X-A': 'b' } } },
        stream: { type: 'streamable', config: { url: 'https://s.example/mcp', timeout: 10_000_000_000 } },
        odd: { type: 'websocket', config: { url: 'wss://x' } },
      },
    });
    expect(format).toBe('tbxark');
    const cfg = resolveConfig({ format, location: undefined, baseDir: '.', doc }, {});
    expect(cfg.listen).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(cfg.publicUrl).toBe('https://mcp.example.com');
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['global'] });
    const byName = Object.fromEntries(cfg.servers.map((s) => [s.name, s]));
    expect(Object.keys(byName)).toEqual(['fetch', 'amap', 'stream']);
    // A client's own tokens and the global ones, as mcp-proxy appends them.
    expect(byName.fetch).toMatchObject({ kind: 'stdio', command: 'uvx', args: ['mcp-server-fetch'], env: { A: '1' }, tokens: ['own', 'global'] });
    expect(byName.amap).toMatchObject({ kind: 'remote', transport: 'sse', headers: { 'X-A': 'b' }, tokens: ['global'] });
    expect(byName.stream).toMatchObject({ kind: 'remote', transport: 'streamable-http', timeoutMs: 10_000 });
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.name: not supported, dropped/),
        expect.stringMatching(/^server\.version: not supported, dropped/),
        expect.stringMatching(/^clients\.fetch\.panicIfInvalid: not supported, dropped/),
        expect.stringMatching(/^clients\.fetch\.logEnabled: not supported, dropped/),
        expect.stringMatching(/^clients\.odd\.type: "websocket" is not stdio, sse or streamable-http/),
      ]),
    );
  });

  it('carries type, transport and cwd over without calling them dropped', () => {
    const { doc, warnings } = toNative({
      mcpProxy: { addr: ':9090' },
      mcpServers: {
        a: { type: 'streamable-http', url: 'https://a.example/mcp' },
        b: { command: 'node', args: ['server.js'], cwd: 'servers/b', options: { authTokens: ['t'] } },
        c: { transport: 'streamable-http', url: 'https://c.example/mcp' },
        d: { type: 'websocket', url: 'https://d.example/mcp' },
      },
    });
    // b alone has authTokens: it keeps them, the others stay open (auth.mode none), without a warning.
    const keyWarnings = warnings;
    expect(keyWarnings.filter((w) => /^mcpServers\.(a|b|c)\b/.test(w))).toEqual([]);
    expect(warnings.join('\n')).not.toMatch(/(type|transport|cwd): not supported, dropped/);
    // A type Gatehouse cannot read is said as such (the server is read as mcp-proxy's default, SSE).
    expect(keyWarnings).toEqual([expect.stringMatching(/^mcpServers\.d\.type: "websocket" is not stdio, sse or streamable-http/)]);
    const cfg = resolveConfig({ format: 'tbxark', location: undefined, baseDir: '/srv/proxy', doc }, {});
    const byName = Object.fromEntries(cfg.servers.map((s) => [s.name, s]));
    expect(byName.a).toMatchObject({ kind: 'remote', transport: 'streamable-http' });
    expect(byName.b).toMatchObject({ kind: 'stdio', command: 'node', cwd: '/srv/proxy/servers/b' });
    expect(byName.c).toMatchObject({ kind: 'remote', transport: 'streamable-http' });
  });

  it('names every key it drops: the seed example warns for name, version, panicIfInvalid, logEnabled and templateDir', () => {
    const { warnings } = toNative({
      mcpProxy: {
        baseURL: 'https://mcp.example.com',
        addr: ':9090',
        name: 'MCP Proxy',
        version: '1.0.0',
        type: 'streamable-http',
        options: {
          panicIfInvalid: false,
          logEnabled: true,
          authTokens: ['DefaultTokens'],
          oauth2: { enabled: true, users: { admin: 'password123' }, persistenceDir: '/tmp/x', allowedIPs: [], templateDir: '/custom/templates', tokenExpirationMinutes: 60 },
        },
      },
      mcpServers: {
        fetch: { command: 'uvx', args: ['mcp-server-fetch'], options: { panicIfInvalid: true, logEnabled: false, authTokens: ['SpecificTokens'], autoReconnect: true } },
        amap: { url: 'https://mcp.amap.com/sse?key=k', options: { disabled: true } },
        local: { command: 'x', timeout: 5_000_000_000, surprise: 1 },
      },
    });
    const paths = warnings.map((w) => w.split(':')[0]);
    expect(paths).toEqual(
      expect.arrayContaining([
        'mcpProxy.name',
        'mcpProxy.version',
        'mcpProxy.options.panicIfInvalid',
        'mcpProxy.options.logEnabled',
        'mcpProxy.options.oauth2.templateDir',
        'mcpServers.fetch.options.panicIfInvalid',
        'mcpServers.fetch.options.logEnabled',
        'mcpServers.fetch.options.autoReconnect',
        'mcpServers.amap',
        'mcpServers.local.timeout',
        'mcpServers.local.surprise',
      ]),
    );
    // What it keeps is not warned about.
    expect(paths.filter((p) => /baseURL|addr|type|authTokens|users|persistenceDir|allowedIPs|tokenExpirationMinutes/.test(p!))).toEqual([]);
    expect(warnings.find((w) => w.startsWith('mcpServers.amap'))).toContain('disabled');
  });
});

describe('environment-only setup (seed 000)', () => {
  const seed = {
    PORT: '3000',
    DOWNSTREAM_MCP_URL: 'https://downstream.example/mcp',
    LTPA_TOKEN: 'ltpa-value',
    OAUTH_CLIENT_ID: 'mcp-client-id',
    OAUTH_CLIENT_SECRET: 'mcp-client-secret',
    REJECT_UNAUTHORIZED: 'false',
  };

  it('makes OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET the client Claude and ChatGPT log in with, not downstream credentials', () => {
    const native = environmentDocument(seed, '/srv')!;
    const cfg = resolveConfig(native, seed);
    expect(cfg.auth.mode).toBe('oauth');
    expect(cfg.auth.clients).toEqual([
      expect.objectContaining({
        clientId: 'mcp-client-id',
        clientSecret: 'mcp-client-secret',
        redirectUris: expect.arrayContaining(['https://claude.ai/api/mcp/auth_callback', 'https://claude.com/api/mcp/auth_callback', 'https://chatgpt.com/connector_platform_oauth_redirect']) as string[],
        resource: '/api',
        requirePkce: false,
        grants: ['authorization_code', 'refresh_token', 'client_credentials'],
        // The seed's machine token is used on /mcp/sse: its tokens open every route of `default`.
        clientCredentialsResources: ['/mcp', '/default/mcp', '/api', '/default/api'],
      }),
    ]);
    const server = cfg.servers[0]!;
    // Seed 000: "static tokens (e.g. LtpaToken)": the header the older proxy sent, and the LTPA2 cookie.
    expect(server).toMatchObject({ name: 'default', kind: 'remote', url: 'https://downstream.example/mcp', tls: { rejectUnauthorized: false } });
    expect(server.kind === 'remote' && server.headers).toEqual({ LtpaToken: 'ltpa-value', Cookie: 'LtpaToken2=ltpa-value' });
    expect(cfg.auth.tokenInUrl).toBe(false);
    expect(server.kind === 'remote' && server.oauth).toBeUndefined();
    // Secrets stay references in the document (what config migrate prints).
    const text = JSON.stringify(native.doc);
    expect(text).not.toContain('mcp-client-secret');
    expect(text).not.toContain('ltpa-value');
  });

  it('clientCredentialsResources (what the environment client gets) is only for a client with client_credentials', () => {
    const client = { clientId: 'c', clientSecret: 's', redirectUris: ['https://a.example/cb'], clientCredentialsResources: ['/mcp'] };
    const issues = issuesOf(() => resolveConfig(native({ auth: { clients: [client] }, servers: { a: { command: 'node' } } }), {}));
    expect(issues).toContainEqual({ path: 'auth.clients[0].clientCredentialsResources', message: 'only for a client whose grants include client_credentials' });
    const machine = { ...client, grants: ['client_credentials'] };
    expect(resolveConfig(native({ auth: { clients: [machine] }, servers: { a: { command: 'node' } } }), {}).auth.clients[0]!.clientCredentialsResources).toEqual(['/mcp']);
    // One the gateway does not protect is said at its path, as for `resource` (serve refuses it at start).
    const wrong = { ...machine, clientCredentialsResources: ['/mcp', '/b/mcp'] };
    expect(issuesOf(() => resolveConfig(native({ auth: { clients: [wrong] }, servers: { a: { command: 'node' } } }), {}))).toContainEqual({
      path: 'auth.clients[0].clientCredentialsResources[1]',
      message: 'client c: clientCredentialsResources entry /b/mcp is not a protected resource of this gateway; give one of /a/mcp, /a/sse, /mcp, /sse, /mcp/sse, /a/api, /api',
    });
  });

  it('TOKEN_IN_URL=true accepts ?token= (auth.tokenInUrl); anything but true/false is said and leaves it off', () => {
    const on = { ...seed, TOKEN_IN_URL: 'true' };
    expect(resolveConfig(environmentDocument(on, '/srv')!, on).auth.tokenInUrl).toBe(true);
    const odd = { ...seed, TOKEN_IN_URL: 'sure' };
    const native = environmentDocument(odd, '/srv')!;
    expect(resolveConfig(native, odd).auth.tokenInUrl).toBe(false);
    expect(native.warnings).toContain('TOKEN_IN_URL: "sure" is neither true nor false, so tokens in URLs stay refused');
  });

  it('PORT alone listens on every interface (with a warning); HOST narrows it; PUBLIC_URL (or Render\'s RENDER_EXTERNAL_URL) is the publicUrl', () => {
    const url = { DOWNSTREAM_MCP_URL: 'https://d.example/mcp' };
    const platform = environmentDocument({ ...url, PORT: '10000' }, '.')!;
    expect(resolveConfig(platform, {}).listen).toEqual({ host: '0.0.0.0', port: 10000 });
    expect(platform.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^PORT: listening on every interface.*HOST=127\.0\.0\.1/)]));
    expect(resolveConfig(environmentDocument({ ...url, PORT: '3000', HOST: '127.0.0.1' }, '.')!, {}).listen).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(resolveConfig(environmentDocument({ ...url, HOST: '::1' }, '.')!, {}).listen).toEqual({ host: '::1', port: 8080 });
    expect(resolveConfig(environmentDocument(url, '.')!, {}).listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(resolveConfig(environmentDocument({ ...url, PUBLIC_URL: 'https://mcp.example.com/' }, '.')!, {}).publicUrl).toBe('https://mcp.example.com');
    expect(resolveConfig(environmentDocument({ ...url, RENDER_EXTERNAL_URL: 'https://svc.onrender.com' }, '.')!, {}).publicUrl).toBe('https://svc.onrender.com');
  });

  it('OAUTH_REDIRECT_URIS adds callbacks (a Custom GPT\'s); a client without a secret keeps PKCE and the code flow only', () => {
    const env = { DOWNSTREAM_MCP_URL: 'https://d.example/mcp', OAUTH_CLIENT_ID: 'pub', OAUTH_REDIRECT_URIS: 'https://chat.openai.com/aip/g-1/oauth/callback, https://chatgpt.com/aip/g-1/oauth/callback' };
    const cfg = resolveConfig(environmentDocument(env, '.')!, env);
    expect(cfg.auth.clients[0]).toMatchObject({ clientId: 'pub', requirePkce: true, grants: ['authorization_code', 'refresh_token'] });
    expect(cfg.auth.clients[0]!.redirectUris).toEqual(expect.arrayContaining(['https://chat.openai.com/aip/g-1/oauth/callback', 'https://chatgpt.com/aip/g-1/oauth/callback']));
    expect(cfg.auth.clients[0]!.clientSecret).toBeUndefined();
  });

  it('reads a .env file (KEY=VALUE, comments, quotes, export); the process environment wins over it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    writeFileSync(
      join(dir, '.env'),
      '# the older proxy\nexport PORT=3000\nDOWNSTREAM_MCP_URL="https://d.example/mcp"\nLTPA_TOKEN=\'abc=def\' \nOAUTH_CLIENT_ID=id # inline comment\nOAUTH_CLIENT_SECRET=s3cret\n',
    );
    const doc = await readNativeDocument(join(dir, '.env'));
    expect(doc.format).toBe('environment');
    const cfg = resolveConfig(doc, { PORT: '4000' });
    expect(cfg.servers[0]).toMatchObject({ url: 'https://d.example/mcp', headers: { Cookie: 'LtpaToken2=abc=def' } });
    expect(cfg.auth.clients[0]).toMatchObject({ clientId: 'id', clientSecret: 's3cret' });
    // PORT came from the file when the document was made (the process had none): 3000.
    expect(cfg.listen.port).toBe(3000);
    expect(dotEnvDocument('PORT=1\n', 'x.env', dir, {})).toBeUndefined();
    writeFileSync(join(dir, 'bad.env'), 'DOWNSTREAM_MCP_URL=https://d.example/mcp\nthis is not a variable\n');
    await expect(readNativeDocument(join(dir, 'bad.env'))).rejects.toThrow(/line 2: not a KEY=VALUE line/);
  });
});

describe('.env values', () => {
  it('a quoted value followed by a comment is the text between the quotes, as dotenv reads it', () => {
    const { values, problems } = parseDotEnv(
      [
        'OAUTH_CLIENT_ID="mcp-client-id" # pasted into Claude',
        "OAUTH_CLIENT_SECRET='s3cret'   # and into the GPT",
        'LTPA_TOKEN="a\\"b" #c',
        'PUBLIC_URL="https://x.example" # say "hi"',
        'DOWNSTREAM_MCP_URL="https://d.example/mcp"#tight',
        'HOST="127.0.0.1"',
        'PORT=3000 # unquoted',
        'REJECT_UNAUTHORIZED="a#b"',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(values).toEqual({
      OAUTH_CLIENT_ID: 'mcp-client-id',
      OAUTH_CLIENT_SECRET: 's3cret',
      LTPA_TOKEN: 'a"b',
      PUBLIC_URL: 'https://x.example',
      DOWNSTREAM_MCP_URL: 'https://d.example/mcp',
      HOST: '127.0.0.1',
      PORT: '3000',
      REJECT_UNAUTHORIZED: 'a#b',
    });
    // Through to the client Claude and ChatGPT log in with: the id without its quotes.
    const doc = dotEnvDocument('DOWNSTREAM_MCP_URL=https://d.example/mcp\nOAUTH_CLIENT_ID="mcp-client-id" # c\n', 'x.env', '.', {})!;
    expect(resolveConfig(doc, {}).auth.clients[0]).toMatchObject({ clientId: 'mcp-client-id' });
  });
});

describe('./.env beside serve', () => {
  it('is read with the environment (the environment winning), and ignored when it is another program\'s', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    writeFileSync(join(dir, '.env'), 'OAUTH_CLIENT_ID=from-file\nOAUTH_CLIENT_SECRET=file-secret\nPORT=3000\n');
    // The URL from the platform's variables, the client from the file: one setup.
    const env = { DOWNSTREAM_MCP_URL: 'https://d.example/mcp', PORT: '10000' };
    const found = (await findNativeDocument({ cwd: dir, env }))!;
    expect(found.format).toBe('environment');
    const cfg = resolveConfig(found, env);
    expect(cfg.auth.clients[0]).toMatchObject({ clientId: 'from-file', clientSecret: 'file-secret' });
    expect(cfg.listen).toEqual({ host: '0.0.0.0', port: 10000 });
    // Nothing names an upstream: no setup (serve runs its demo).
    expect(await findNativeDocument({ cwd: dir, env: {} })).toBeUndefined();
    // Another program's .env with lines we do not read: ignored, not an error.
    writeFileSync(join(dir, '.env'), 'KEY="multi\nline"\n');
    expect(await findNativeDocument({ cwd: dir, env: {} })).toBeUndefined();
    expect((await findNativeDocument({ cwd: dir, env }))?.doc).toMatchObject({ servers: { default: { url: 'https://d.example/mcp' } } });
    // Ours (it names the upstream) with a bad line: said, with the line.
    writeFileSync(join(dir, '.env'), 'DOWNSTREAM_MCP_URL=https://d.example/mcp\noops\n');
    await expect(findNativeDocument({ cwd: dir, env: {} })).rejects.toThrow(/line 2: not a KEY=VALUE line/);
  });

  it('another program\'s .env (it names no upstream) does not choose where we listen, when the environment names the upstream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    const env = { DOWNSTREAM_MCP_URL: 'https://d.example/mcp' };
    // A web app's .env: its PORT is the app's, not ours. We stay on 127.0.0.1:8080.
    writeFileSync(join(dir, '.env'), 'PORT=3000\nDATABASE_URL=postgres://app:pw@db/app\n');
    const cfg = (await loadConfig({ cwd: dir, env }))!;
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(cfg.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^PORT in .*\.env: not used, since the file names no DOWNSTREAM_MCP_URL/)]));
    expect(cfg.warnings.join('\n')).not.toContain('listening on every interface');
    // A dev server's: HOST and PUBLIC_URL are its own too (PUBLIC_URL=/app is not a URL we could serve).
    writeFileSync(join(dir, '.env'), 'HOST=0.0.0.0\nPORT=3000\nPUBLIC_URL=/app\n');
    const dev = (await loadConfig({ cwd: dir, env }))!;
    expect(dev.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(dev.publicUrl).toBeUndefined();
    expect(dev.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^PORT, HOST, PUBLIC_URL in /)]));

    // Seed 000 on a platform: the platform sets the URL and PORT, the file the client. Still one setup.
    writeFileSync(join(dir, '.env'), 'OAUTH_CLIENT_ID=from-file\nOAUTH_CLIENT_SECRET=file-secret\nLTPA_TOKEN=ltpa\nREJECT_UNAUTHORIZED=false\nPORT=3000\n');
    const platform = (await loadConfig({ cwd: dir, env: { ...env, PORT: '10000' } }))!;
    expect(platform.listen).toEqual({ host: '0.0.0.0', port: 10000 });
    expect(platform.auth.clients[0]).toMatchObject({ clientId: 'from-file', clientSecret: 'file-secret' });
    expect(platform.servers[0]).toMatchObject({ headers: { Cookie: 'LtpaToken2=ltpa' }, tls: { rejectUnauthorized: false } });
    // The platform's PORT hid the file's: nothing to say about it.
    expect(platform.warnings.join('\n')).not.toMatch(/ in .*\.env: not used/);
    // What the file lent is said (by name, never by value): it may be another program's.
    expect(platform.warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, LTPA_TOKEN, REJECT_UNAUTHORIZED taken from .*\.env, which names no DOWNSTREAM_MCP_URL/)]),
    );
    expect(platform.warnings.join('\n')).not.toContain('file-secret');
    // A value the environment sets is the environment's: not said.
    const both = (await loadConfig({ cwd: dir, env: { ...env, OAUTH_CLIENT_ID: 'from-env', OAUTH_CLIENT_SECRET: 'env-secret', LTPA_TOKEN: 'l', REJECT_UNAUTHORIZED: 'true' } }))!;
    expect(both.warnings.join('\n')).not.toMatch(/taken from/);

    // A file that names the upstream itself is ours: its PORT is taken.
    writeFileSync(join(dir, '.env'), 'DOWNSTREAM_MCP_URL=https://d.example/mcp\nPORT=3000\n');
    expect((await loadConfig({ cwd: dir, env: {} }))!.listen).toEqual({ host: '0.0.0.0', port: 3000 });
    // So is one named with --config: the person chose it.
    writeFileSync(join(dir, 'app.env'), 'OAUTH_CLIENT_ID=id\nPORT=3000\n');
    expect((await loadConfig({ cwd: dir, env, location: 'app.env' }))!.listen).toEqual({ host: '0.0.0.0', port: 3000 });
  });
});

describe('a .env named as the config file', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('is read with the environment the caller gives, not the shell\'s; alone, it is the file alone (config migrate FILE)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cfg-'));
    writeFileSync(join(dir, 'prod.env'), 'DOWNSTREAM_MCP_URL=https://d.example/mcp\nPORT=3000\n');
    // The shell that runs the command has a PORT of its own.
    vi.stubEnv('PORT', '5555');
    const given = (await findNativeDocument({ cwd: dir, location: 'prod.env', env: { PORT: '4000' } }))!;
    expect(resolveConfig(given, {}).listen.port).toBe(4000);
    const alone = await readNativeDocument('prod.env', dir);
    expect(resolveConfig(alone, {}).listen.port).toBe(3000);
    expect(alone.doc).toMatchObject({ listen: '0.0.0.0:3000' });
  });
});

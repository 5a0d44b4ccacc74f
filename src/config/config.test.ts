import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configJsonSchema, readNativeDocument, resolveConfig, toNative, type NativeDocument } from './index.js';

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
      expect.arrayContaining(['listen', 'maxBodySize', 'auth.mode', 'auth.allowedIps[0]', 'servers.github', 'servers.bad name', 'servers.mcp', 'servers.web.url', '']),
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
    expect(cfg.auth).toMatchObject({ mode: 'tokens', tokens: ['Default'], tokenInUrl: true });
    const byName = Object.fromEntries(cfg.servers.map((s) => [s.name, s]));
    expect(byName.github?.tools).toEqual({ block: ['create_or_update_file'] });
    expect(byName.fetch?.tokens).toEqual(['Specific', 'secret-path-token']);
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
  });
});

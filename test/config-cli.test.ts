// `gatehouse config check` and `config migrate` as a person runs them, for the formats people
// move from: the CONTRACT.md error wording, TBXark mcp-proxy files (v1 and v2, with the keys
// Gatehouse drops named), and environment-only setups (`migrate .env`, `migrate --env`).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CLI, TSX, tempRoot } from './helpers/cli.js';

const { freshDir, remove } = tempRoot('gh-config-cli-');
afterAll(remove);

// The variables an environment-only setup reads: the test chooses each one itself.
const SETUP_VARS = /^(DOWNSTREAM_MCP_URL|UPSTREAM_URL|LTPA_TOKEN|REJECT_UNAUTHORIZED|OAUTH_CLIENT_ID|OAUTH_CLIENT_SECRET|OAUTH_REDIRECT_URIS|PORT|HOST|PUBLIC_URL|RENDER_EXTERNAL_URL|GATEHOUSE_TOKEN|MCP_GATEHOUSE_CONFIG)$/;
const BASE_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !SETUP_VARS.test(k)));

const gatehouse = (args: string[], opts: { cwd: string; env?: Record<string, string> }) =>
  spawnSync(process.execPath, ['--import', TSX, CLI, ...args], { cwd: opts.cwd, env: { ...BASE_ENV, ...opts.env }, encoding: 'utf8', timeout: 60_000 });

const SEED_DOTENV = [
  'PORT=3000',
  'DOWNSTREAM_MCP_URL=https://downstream.example/mcp',
  'LTPA_TOKEN=ltpa-secret-value',
  'OAUTH_CLIENT_ID=mcp-client-id',
  'OAUTH_CLIENT_SECRET=mcp-client-secret',
  'REJECT_UNAUTHORIZED=false',
  '',
].join('\n');

describe('config check: the CONTRACT.md error wording', () => {
  it('says servers.NAME.command: required for a server with neither command nor url, and names every other problem too', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      [
        'auth: { mode: none }',
        'servers:',
        '  github: { args: [x] }',
        '  corp: { url: "https://corp.example/mcp", oauth: { grant: authorization_code, clientId: a, clientSecret: s } }',
        '  secret: { url: "https://s.example/mcp", headers: { Authorization: "Bearer ${NOT_SET_ANYWHERE}" } }',
        '',
      ].join('\n'),
    );
    const r = gatehouse(['config', 'check'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('servers.github.command: required');
    expect(r.stderr).toContain('servers.corp.oauth.grant: a gateway upstream can only use client_credentials');
    // A missing ${VAR}: exit 2 naming the path and the variable.
    expect(r.stderr).toContain('servers.secret.headers.Authorization: environment variable NOT_SET_ANYWHERE is not set');
  });

  it('names an unknown key at its own path, at the top level and inside a section or a server', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'gatehouse.yaml'), 'bogusKey: 1\nauth: { mode: none, extra: 2 }\nservers:\n  s: { command: node, nope: 1 }\n');
    const r = gatehouse(['config', 'check'], { cwd: dir });
    expect(r.status).toBe(2);
    for (const line of ['  bogusKey: unknown key', '  auth.extra: unknown key', '  servers.s.nope: unknown key']) expect(r.stderr).toContain(line);
    expect(r.stderr).not.toContain('Unrecognized key');
  });
});

describe('config check and migrate: TBXark mcp-proxy', () => {
  it('migrates a v1 file (server, clients, globalAuthTokens), converting timeout from nanoseconds and naming each dropped key', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        server: { baseURL: 'https://mcp.example.com', addr: ':9090', name: 'MCP Proxy', version: '1.0.0', globalAuthTokens: ['global-token'] },
        clients: {
          fetch: { type: 'stdio', config: { command: 'uvx', args: ['mcp-server-fetch'] }, panicIfInvalid: true, logEnabled: false },
          stream: { type: 'streamable-http', config: { url: 'https://s.example/mcp', timeout: 30_000_000_000 } },
        },
      }),
    );
    const check = gatehouse(['config', 'check', 'config.json'], { cwd: dir });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain('valid (tbxark format); 2 servers: fetch (stdio), stream (streamable-http); auth tokens');
    for (const key of ['server.name', 'server.version', 'clients.fetch.panicIfInvalid', 'clients.fetch.logEnabled']) {
      expect(check.stderr).toContain(`warning: ${key}: not supported, dropped`);
    }
    const migrated = gatehouse(['config', 'migrate', 'config.json'], { cwd: dir });
    expect(migrated.status, migrated.stderr).toBe(0);
    const doc = parseYaml(migrated.stdout) as { servers: Record<string, Record<string, unknown>>; auth: Record<string, unknown> };
    // 30000000000 ns is 30 s, not 347 days.
    expect(doc.servers.stream).toMatchObject({ url: 'https://s.example/mcp', transport: 'streamable-http', timeout: '30000ms' });
    expect(doc.servers.fetch).toMatchObject({ command: 'uvx', tokens: ['global-token'] });
    expect(doc.auth).toMatchObject({ mode: 'tokens', tokens: ['global-token'] });
    expect(migrated.stdout).toContain('# warning: server.name: not supported, dropped');
    expect(migrated.stderr).toContain('warning: clients.fetch.panicIfInvalid: not supported, dropped');
  });

  it('migrates the v1 server block beside mcpServers as the proxy (addr, globalAuthTokens), and says a path segment beside header tokens is not carried over', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        server: { addr: '127.0.0.1:18713', globalAuthTokens: ['G'] },
        mcpServers: { a: { command: 'node', args: ['demo.js'] }, 'demo/pathsecret': { command: 'node', args: ['demo.js'], options: { authTokens: ['HEADERTOKEN'] } } },
      }),
    );
    const check = gatehouse(['config', 'check', 'config.json'], { cwd: dir });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain('valid (tbxark format); 2 servers: a (stdio), demo (stdio); auth tokens');
    const migrated = gatehouse(['config', 'migrate', 'config.json', '--output', 'json'], { cwd: dir });
    expect(migrated.status, migrated.stderr).toBe(0);
    expect(JSON.parse(migrated.stdout)).toEqual({
      listen: '127.0.0.1:18713',
      auth: { mode: 'tokens', tokens: ['G'] },
      servers: { a: { command: 'node', args: ['demo.js'] }, demo: { command: 'node', args: ['demo.js'], tokens: ['HEADERTOKEN'] } },
    });
    expect(migrated.stderr).toContain(
      'warning: mcpServers.demo/pathsecret: the path segment "pathsecret" is not carried over (mcp-proxy asked for the Authorization header on that route too, so the path was no secret): the server is at /demo/mcp, opened by its header token',
    );
  });

  it('warns for the seed example\'s keys that Gatehouse drops (name, version, logEnabled, templateDir, panicIfInvalid)', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        mcpProxy: {
          baseURL: 'https://mcp.example.com',
          addr: ':9090',
          name: 'MCP Proxy',
          version: '1.0.0',
          type: 'streamable-http',
          options: { panicIfInvalid: false, logEnabled: true, authTokens: ['DefaultTokens'], oauth2: { enabled: true, users: { admin: 'password123' }, templateDir: '/custom/templates' } },
        },
        mcpServers: { fetch: { command: 'uvx', args: ['mcp-server-fetch'], options: { panicIfInvalid: true, authTokens: ['SpecificTokens'] } } },
      }),
    );
    const check = gatehouse(['config', 'check', 'config.json'], { cwd: dir });
    expect(check.status, check.stderr).toBe(0);
    for (const key of ['mcpProxy.name', 'mcpProxy.version', 'mcpProxy.options.panicIfInvalid', 'mcpProxy.options.logEnabled', 'mcpProxy.options.oauth2.templateDir', 'mcpServers.fetch.options.panicIfInvalid']) {
      expect(check.stderr).toContain(`warning: ${key}: not supported, dropped`);
    }
    const migrated = gatehouse(['config', 'migrate', 'config.json', '--output', 'json'], { cwd: dir });
    expect(migrated.status, migrated.stderr).toBe(0);
    expect(migrated.stderr).toContain('warning: mcpProxy.options.oauth2.templateDir: not supported, dropped');
    // JSON output stays JSON; the password is kept only as its hash.
    expect(migrated.stdout).not.toContain('password123');
    expect(JSON.parse(migrated.stdout)).toMatchObject({ auth: { mode: 'oauth' }, servers: { fetch: { tokens: ['SpecificTokens'] } } });
  });
});

describe('config migrate: environment-only setups (seed 000)', () => {
  it('migrates a .env file: OAUTH_CLIENT_ID is the client Claude and ChatGPT use, secrets stay env: references', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '.env'), SEED_DOTENV);
    const r = gatehouse(['config', 'migrate', '.env'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const doc = parseYaml(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      listen: '0.0.0.0:3000',
      auth: { mode: 'oauth', clients: [{ clientId: 'mcp-client-id', clientSecret: 'env:OAUTH_CLIENT_SECRET', resource: '/api', requirePkce: false }] },
      servers: { default: { url: 'https://downstream.example/mcp', headers: { Cookie: 'LtpaToken2=env:LTPA_TOKEN' }, tls: { rejectUnauthorized: false } } },
    });
    expect(r.stdout).not.toContain('mcp-client-secret');
    expect(r.stdout).not.toContain('ltpa-secret-value');
    expect(r.stderr).toContain('warning: OAUTH_CLIENT_ID: Claude and ChatGPT log in to Gatehouse with this client');
    expect(r.stderr).toContain('gatehouse users add NAME');
    expect(r.stderr).toContain('warning: LTPA_TOKEN, OAUTH_CLIENT_SECRET: kept as env: references');
    // What migrate prints is a config serve accepts, given the secrets.
    writeFileSync(join(dir, 'gatehouse.yaml'), r.stdout);
    const check = gatehouse(['config', 'check'], { cwd: dir, env: { LTPA_TOKEN: 'x', OAUTH_CLIENT_SECRET: 'y' } });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain('gatehouse.yaml: valid (native format); 1 server: default (auto); auth oauth');
  });

  it('migrates the .env file alone: the shell\'s variables do not leak into the document', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '.env'), SEED_DOTENV);
    const r = gatehouse(['config', 'migrate', '.env', '--output', 'json'], {
      cwd: dir,
      env: { PORT: '9999', HOST: '127.0.0.1', OAUTH_CLIENT_ID: 'shell-client', UPSTREAM_URL: 'https://shell.example/mcp' },
    });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ listen: '0.0.0.0:3000', auth: { clients: [{ clientId: 'mcp-client-id' }] }, servers: { default: { url: 'https://downstream.example/mcp' } } });
  });

  it('migrates the process environment with --env, and says what to give when neither a file nor --env is there', () => {
    const dir = freshDir();
    const r = gatehouse(['config', 'migrate', '--env', '--output', 'json'], {
      cwd: dir,
      env: { UPSTREAM_URL: 'https://up.example/mcp', GATEHOUSE_TOKEN: 'tok-secret', HOST: '127.0.0.1', PORT: '9000' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      listen: '127.0.0.1:9000',
      auth: { mode: 'tokens', tokens: ['env:GATEHOUSE_TOKEN'] },
      servers: { default: { url: 'https://up.example/mcp' } },
    });
    expect(r.stdout).not.toContain('tok-secret');

    const none = gatehouse(['config', 'migrate', '--env'], { cwd: dir });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('neither DOWNSTREAM_MCP_URL nor UPSTREAM_URL is set');
    const bare = gatehouse(['config', 'migrate'], { cwd: dir });
    expect(bare.status).toBe(2);
    expect(bare.stderr).toContain('--env');
    const help = gatehouse(['config', 'migrate', '--help'], { cwd: dir });
    expect(help.stdout).toContain('--env');
    expect(help.stdout).toContain('.env');
  });

  it('config check with no file finds ./.env, as serve does', () => {
    const dir = freshDir();
    writeFileSync(join(dir, '.env'), SEED_DOTENV);
    const r = gatehouse(['config', 'check'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\.env: valid \(environment format\); 1 server: default \(auto\); auth oauth/);
    expect(r.stderr).toContain('warning: PORT: listening on every interface');
  });
});

describe('config check and migrate: auth.mode none where other machines can connect', () => {
  it('config check warns for auth none on 0.0.0.0, not on 127.0.0.1', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'open.yaml'), 'listen: 0.0.0.0:8080\nauth: { mode: none }\nservers:\n  s: { command: node }\n');
    writeFileSync(join(dir, 'local.yaml'), 'listen: 127.0.0.1:8080\nauth: { mode: none }\nservers:\n  s: { command: node }\n');
    const open = gatehouse(['config', 'check', 'open.yaml'], { cwd: dir });
    expect(open.status, open.stderr).toBe(0);
    expect(open.stderr).toContain('warning: auth.mode is none and listen is 0.0.0.0:8080, which other machines can reach');
    const local = gatehouse(['config', 'check', 'local.yaml'], { cwd: dir });
    expect(local.status, local.stderr).toBe(0);
    expect(local.stderr).not.toContain('auth.mode is none');
  });

  it('config check with auth.allowedIps names the allowlist, not anyone who reaches the port (still a warning)', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'open.yaml'), 'listen: 0.0.0.0:8080\nauth: { mode: none, allowedIps: [10.0.0.0/8] }\nservers:\n  s: { command: node }\n');
    const r = gatehouse(['config', 'check', 'open.yaml'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: auth.mode is none and listen is 0.0.0.0:8080, which other machines can reach: anyone at an address auth.allowedIps admits (10.0.0.0/8) can use every tool');
    expect(r.stderr).not.toContain('anyone who reaches the port');
    // migrate too, also where an unset variable keeps the document from resolving (the settings as written).
    writeFileSync(join(dir, 'unset.yaml'), 'listen: 0.0.0.0:8080\nauth: { mode: none, allowedIps: [10.0.0.0/8] }\nservers:\n  s: { command: node, env: { K: "${GH_TEST_UNSET_K}" } }\n');
    const m = gatehouse(['config', 'migrate', 'unset.yaml'], { cwd: dir });
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toContain('# warning: auth.mode is none and listen is 0.0.0.0:8080, which other machines can reach: anyone at an address auth.allowedIps admits (10.0.0.0/8)');
    expect(m.stderr).not.toContain('anyone who reaches the port');
  });

  it('config migrate warns for a TBXark addr ":9090" without authTokens (every interface, no credential)', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ mcpProxy: { baseURL: 'https://mcp.example.com', addr: ':9090', type: 'streamable-http' }, mcpServers: { fetch: { command: 'uvx', args: ['mcp-server-fetch'] } } }),
    );
    const r = gatehouse(['config', 'migrate', 'config.json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: auth.mode is none and listen is 0.0.0.0:9090');
    expect(r.stdout).toContain('# warning: auth.mode is none and listen is 0.0.0.0:9090');
  });
});

describe('config check and migrate: a TBXark server without authTokens beside servers with them', () => {
  it('migrates to auth.mode none with tokens on the protected server only, as mcp-proxy guards them (v1 and v2)', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'v1.json'),
      JSON.stringify({
        server: { addr: '127.0.0.1:9090' },
        clients: {
          locked: { type: 'stdio', config: { command: 'uvx', args: ['a'] }, authTokens: ['t1'] },
          open: { type: 'stdio', config: { command: 'uvx', args: ['b'] } },
        },
      }),
    );
    writeFileSync(
      join(dir, 'v2.json'),
      JSON.stringify({
        mcpProxy: { addr: '0.0.0.0:9090' },
        mcpServers: { locked: { command: 'uvx', options: { authTokens: ['t1'] } }, open: { command: 'uvx' } },
      }),
    );
    const v1 = gatehouse(['config', 'migrate', 'v1.json', '--output', 'json'], { cwd: dir });
    expect(v1.status, v1.stderr).toBe(0);
    const doc = JSON.parse(v1.stdout) as { auth: Record<string, unknown>; servers: Record<string, Record<string, unknown>> };
    expect(doc.auth).toEqual({ mode: 'none' });
    expect(doc.servers.locked!.tokens).toEqual(['t1']);
    expect(doc.servers.open!.tokens).toBeUndefined();
    expect(v1.stderr).toBe('');
    // On every interface, the warning names the open server only.
    const v2 = gatehouse(['config', 'check', 'v2.json'], { cwd: dir });
    expect(v2.status, v2.stderr).toBe(0);
    expect(v2.stdout).toContain('auth none');
    expect(v2.stderr).toContain(
      'anyone who reaches the port can use every tool of the servers without tokens of their own (servers.open; not servers.locked, which needs one of its tokens)',
    );
  });
});

describe('config migrate and check: plain http upstreams the older proxies allowed', () => {
  it('a TBXark server at a plain http URL on another machine keeps working: allowHttp: true, with a warning', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        mcpProxy: { addr: '127.0.0.1:9090', options: { authTokens: ['t'] } },
        mcpServers: { lan: { url: 'http://10.0.0.5:8080/sse' }, local: { url: 'http://127.0.0.1:8081/sse' }, safe: { url: 'https://mcp.example.com/sse' } },
      }),
    );
    const r = gatehouse(['config', 'migrate', 'config.json', '--output', 'json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { servers: Record<string, Record<string, unknown>> };
    expect(doc.servers.lan).toMatchObject({ url: 'http://10.0.0.5:8080/sse', allowHttp: true });
    expect(doc.servers.local!.allowHttp).toBeUndefined(); // loopback needs no permission
    expect(doc.servers.safe!.allowHttp).toBeUndefined();
    expect(r.stderr).toContain('mcpServers.lan.url: plain http to 10.0.0.5:8080, as mcp-proxy allowed: kept with allowHttp: true');
    expect(r.stderr).not.toContain('mcpServers.local.url');
    // The file as it is serves too: config check accepts it.
    const check = gatehouse(['config', 'check', 'config.json'], { cwd: dir });
    expect(check.status, check.stderr).toBe(0);
  });

  it('an environment-only setup allows plain http with ALLOW_INSECURE_HTTP=true, and says so when it is missing', () => {
    const dir = freshDir();
    const refused = gatehouse(['config', 'check'], { cwd: dir, env: { DOWNSTREAM_MCP_URL: 'http://10.0.0.5:8080/mcp', GATEHOUSE_TOKEN: 'tok' } });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('servers.default.url: refusing plain http to 10.0.0.5:8080');
    expect(refused.stderr).toContain('use https, or set ALLOW_INSECURE_HTTP=true');
    const allowed = gatehouse(['config', 'migrate', '--env', '--output', 'json'], {
      cwd: dir,
      env: { DOWNSTREAM_MCP_URL: 'http://10.0.0.5:8080/mcp', GATEHOUSE_TOKEN: 'tok', ALLOW_INSECURE_HTTP: 'true' },
    });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect((JSON.parse(allowed.stdout) as { servers: { default: Record<string, unknown> } }).servers.default).toMatchObject({ url: 'http://10.0.0.5:8080/mcp', allowHttp: true });
    expect(allowed.stderr).not.toContain('plain http to another machine');
    const check = gatehouse(['config', 'check'], { cwd: dir, env: { DOWNSTREAM_MCP_URL: 'http://10.0.0.5:8080/mcp', GATEHOUSE_TOKEN: 'tok', ALLOW_INSECURE_HTTP: 'true' } });
    expect(check.status, check.stderr).toBe(0);
  });
});

describe('config check and migrate: TBXark token lists mcp-proxy refuses to read', () => {
  it('exit 2 naming the path of an authTokens or globalAuthTokens that is not a list of strings (never an open gateway)', () => {
    const dir = freshDir();
    const files: Record<string, [Record<string, unknown>, string]> = {
      'proxy.json': [{ mcpProxy: { addr: '127.0.0.1:9090', options: { authTokens: 'DefaultTokens' } }, mcpServers: { fetch: { command: 'uvx' } } }, 'mcpProxy.options.authTokens'],
      'number.json': [{ mcpProxy: { options: { authTokens: [12345] } }, mcpServers: { fetch: { command: 'uvx' } } }, 'mcpProxy.options.authTokens'],
      'server.json': [{ mcpProxy: {}, mcpServers: { fetch: { command: 'uvx', options: { authTokens: 'SpecificToken' } } } }, 'mcpServers.fetch.options.authTokens'],
      'v1.json': [{ server: { addr: '127.0.0.1:9090', globalAuthTokens: 'G' }, clients: { fetch: { type: 'stdio', config: { command: 'uvx' } } } }, 'server.globalAuthTokens'],
    };
    for (const [file, [doc, path]] of Object.entries(files)) {
      writeFileSync(join(dir, file), JSON.stringify(doc));
      for (const args of [['config', 'check', file], ['config', 'migrate', file]]) {
        const r = gatehouse(args, { cwd: dir });
        expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toContain(`${path}: must be a list of strings, as mcp-proxy reads it`);
        expect(r.stderr).toContain(`invalid configuration in ${file}`);
        expect(r.stdout).not.toContain('mode: none');
      }
    }
  });

  it('leaves out a server with options.enabled: false, as disabled: true, with a warning', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ mcpProxy: {}, mcpServers: { off: { command: 'uvx', options: { enabled: false } }, on: { command: 'uvx', options: { authTokens: ['T'] } } } }));
    const r = gatehouse(['config', 'migrate', 'config.json'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: mcpServers.off: switched off in the mcp-proxy file (options.enabled: false), so left out');
    expect(parseYaml(r.stdout)).toMatchObject({ auth: { mode: 'tokens' }, servers: { on: { command: 'uvx' } } });
    expect(parseYaml(r.stdout).servers).not.toHaveProperty('off');
  });
});

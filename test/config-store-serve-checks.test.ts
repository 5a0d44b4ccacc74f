// What `serve` alone refuses is no reason for `config check`, `config migrate` or the store
// commands to refuse a config they can use: a client's full-URL resource without publicUrl in
// the document (serve --public-url sets it), an upstream's tls.ca or plain-http URL (the store
// commands never connect), an unset reference at a typed path they never read (config check
// names it), a Claude Desktop entry's LAN http URL (migrate prints it, with a warning).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempRoot } from './helpers/cli.js';

const { freshDir, remove } = tempRoot('gh-config-store-serve-checks-');
afterAll(remove);

for (const name of ['ALICE_HASH', 'CORP_TIMEOUT', 'DATA_DIR', 'PUBLIC_URL', 'LAN_URL']) {
  if (process.env[name] !== undefined) throw new Error(`unset ${name} to run these tests`);
}

function dirWith(config: string, file = 'gatehouse.yaml'): string {
  const dir = freshDir();
  writeFileSync(join(dir, file), config);
  return dir;
}

describe('serve checks and the commands that start no gateway', () => {
  it('a client resource given as a full URL, with no publicUrl in the document, is judged by its path', async () => {
    const dir = dirWith(
      [
        'listen: 127.0.0.1:18092',
        'dataDir: ./data',
        'auth:',
        '  clients:',
        '    - { clientId: chatgpt, clientSecret: s3cret-s3cret-s3cret, redirectUris: [https://chat.openai.com/aip/g-xxx/oauth/callback], resource: https://mcp.example.com/api }',
        'servers:',
        '  demo: { command: node, args: [demo.js] }',
        '',
      ].join('\n'),
    );
    const check = await runCli(['config', 'check'], { cwd: dir });
    expect(check.status, check.stderr).toBe(0);
    const revoke = await runCli(['tokens', 'revoke', '--all'], { cwd: dir });
    expect(revoke.status, revoke.stderr).toBe(0);
    // A path the gateway does not protect is still refused.
    const bad = dirWith(
      [
        'dataDir: ./data',
        'auth:',
        '  clients:',
        '    - { clientId: chatgpt, clientSecret: s3cret-s3cret-s3cret, redirectUris: [https://chat.openai.com/aip/g-xxx/oauth/callback], resource: https://mcp.example.com/nope }',
        'servers:',
        '  demo: { command: node, args: [demo.js] }',
        '',
      ].join('\n'),
    );
    const refused = await runCli(['config', 'check'], { cwd: bad });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('auth.clients[0].resource');
  });

  it('store commands skip what serve alone refuses: an unreadable tls.ca, a plain http upstream', async () => {
    const dir = dirWith(
      [
        'dataDir: ./data',
        'servers:',
        '  corp: { url: https://corp.example/mcp, tls: { ca: ./no-such-ca.pem } }',
        '  lan: { url: http://192.168.1.20:3000/mcp }',
        '',
      ].join('\n'),
    );
    const revoke = await runCli(['tokens', 'revoke', '--user', 'bob'], { cwd: dir });
    expect(revoke.status, revoke.stderr).toBe(0);
    // config check still says both.
    const check = await runCli(['config', 'check'], { cwd: dir });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain('servers.corp.tls.ca: cannot read');
    expect(check.stderr).toContain('servers.lan.url: refusing plain http');
  });

  it('an unset reference at a typed path the store commands never read does not stop them; config check still names it', async () => {
    const hash = dirWith('dataDir: ./data\nauth:\n  users:\n    alice: { passwordHash: env:ALICE_HASH }\n');
    const users = await runCli(['users', 'list'], { cwd: hash });
    expect(users.status, users.stderr).toBe(0);
    // The user is kept in the config the command reads, only its hash stood in for.
    expect(users.stderr).toContain('also defined in the config file (auth.users): alice');
    const timeout = dirWith('dataDir: ./data\nservers:\n  corp: { url: https://corp.example/mcp, timeout: "${CORP_TIMEOUT}" }\n');
    for (const args of [['users', 'list'], ['tokens', 'list'], ['clients', 'list']]) {
      const run = await runCli(args, { cwd: timeout });
      expect(run.status, `${args.join(' ')}: ${run.stderr}`).toBe(0);
    }
    // The server is still there: its route is a resource a client may be bound to.
    const add = await runCli(['clients', 'add', '--name', 'n', '--redirect-uri', 'https://a.example/cb', '--resource', '/corp/mcp'], { cwd: timeout });
    expect(add.status, add.stderr).toBe(0);
    expect(add.stderr).toContain('resource: /corp/mcp');
    const check = await runCli(['config', 'check'], { cwd: timeout });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain('servers.corp.timeout: environment variable CORP_TIMEOUT is not set');
    // What they do read (dataDir) still fails, naming the variable.
    const dataDir = dirWith('dataDir: "${DATA_DIR}"\nservers:\n  corp: { url: https://corp.example/mcp, timeout: "${CORP_TIMEOUT}" }\n');
    const refused = await runCli(['users', 'list'], { cwd: dataDir });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('dataDir: environment variable DATA_DIR is not set');
    expect(refused.stderr).not.toContain('CORP_TIMEOUT');
  });

  it('config migrate prints a Claude Desktop file with a LAN http URL, the URL policy as a warning', async () => {
    const dir = dirWith('{ "mcpServers": { "lan": { "url": "http://192.168.1.20:3000/mcp" } } }', 'claude.json');
    const migrate = await runCli(['config', 'migrate', 'claude.json'], { cwd: dir });
    expect(migrate.status, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('url: http://192.168.1.20:3000/mcp');
    expect(migrate.stdout).toMatch(/^# warning: servers\.lan\.url: refusing plain http to 192\.168\.1\.20:3000 .*set servers\.lan\.allowHttp: true/m);
    expect(migrate.stderr).toContain('warning: servers.lan.url: refusing plain http');
    // Migrate's own output has the key: its advice is the key, not to migrate.
    expect(migrate.stderr).not.toContain('config migrate');
  });

  it('config check of a Claude Desktop or TBXark file with a LAN http URL: migrate, then set allowHttp in the native file (the format has no such key)', async () => {
    const dir = dirWith('{ "mcpServers": { "lan": { "url": "http://192.168.1.20:3000/mcp" } } }', 'claude.json');
    const check = await runCli(['config', 'check', 'claude.json'], { cwd: dir });
    expect(check.status).toBe(2);
    expect(check.stderr).toContain(
      'servers.lan.url: refusing plain http to 192.168.1.20:3000 (http://192.168.1.20:3000/mcp): use https, or convert the file (a Claude Desktop file has no allowHttp key): ' +
        'run `gatehouse config migrate claude.json > gatehouse.yaml`, then set servers.lan.allowHttp: true there',
    );
    // A TBXark file whose URL comes from a variable (a literal http URL is converted with allowHttp: true, as mcp-proxy allowed it).
    writeFileSync(join(dir, 'mcp proxy.json'), JSON.stringify({ mcpProxy: { addr: '127.0.0.1:9090' }, mcpServers: { lan: { url: '${LAN_URL}', transportType: 'streamable-http' } } }));
    const tbxark = await runCli(['config', 'check', 'mcp proxy.json'], { cwd: dir, env: { LAN_URL: 'http://192.168.1.20:3000/mcp' } });
    expect(tbxark.status).toBe(2);
    expect(tbxark.stderr).toContain("a TBXark mcp-proxy file has no allowHttp key): run `gatehouse config migrate 'mcp proxy.json' > gatehouse.yaml`, then set servers.lan.allowHttp: true there");
    // A native file has the key: set it there.
    writeFileSync(join(dir, 'gatehouse.yaml'), 'servers:\n  lan: { url: http://192.168.1.20:3000/mcp }\n');
    const native = await runCli(['config', 'check', 'gatehouse.yaml'], { cwd: dir });
    expect(native.stderr).toContain('use https, or set servers.lan.allowHttp: true\n');
  });
});

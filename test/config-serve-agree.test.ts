// `config check` says what `serve` would refuse: the remote URL policy, headers, tls.ca and a
// pre-registered client's resource are checked when the config is resolved, so both commands
// report every such problem at once, at its path, with exit 2.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, TSX, tempRoot } from './helpers/cli.js';

const { freshDir, remove } = tempRoot('gh-config-serve-');
afterAll(remove);

const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'MCP_GATEHOUSE_CONFIG'));
const gatehouse = (args: string[], cwd: string) =>
  spawnSync(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: ENV, encoding: 'utf8', timeout: 60_000 });

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';

describe('config check and serve refuse the same documents', () => {
  it('names every problem serve used to find one at a time: plain http, credentials in the URL, tls.ca, a client resource', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      [
        'listen: 127.0.0.1:0',
        'auth:',
        '  users: { alice: { passwordHash: "scrypt$32768$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" } }',
        '  clients: [{ clientId: gpt, clientSecret: s, redirectUris: ["https://chat.openai.com/aip/x/oauth/callback"], resource: /nope }]',
        'servers:',
        '  r2: { url: "http://example.com/mcp" }',
        '  creds: { url: "https://u:p@example.com/mcp" }',
        '  corp: { url: "https://corp.example/mcp", tls: { ca: ./missing.pem } }',
        '  local: { url: "http://127.0.0.1:9/mcp" }',
        '  open: { url: "http://example.org/mcp", allowHttp: true }',
        '',
      ].join('\n'),
    );
    const expected = [
      'servers.r2.url: refusing plain http to example.com (http://example.com/mcp): use https, or set servers.r2.allowHttp: true',
      "servers.creds.url: credentials in the URL are not accepted (https://example.com/mcp): put them in the server's headers",
      `servers.corp.tls.ca: cannot read ${join(dir, 'missing.pem')} (ENOENT)`,
      'auth.clients[0].resource: client gpt: resource /nope is not a protected resource of this gateway; give one of /r2/mcp',
    ];
    const check = gatehouse(['config', 'check'], dir);
    expect(check.status, check.stdout).toBe(2);
    for (const line of expected) expect(check.stderr).toContain(line);
    expect(check.stderr).not.toMatch(/servers\.(local|open)/);
    expect(check.stderr).not.toContain('u:p');
    const serve = gatehouse(['serve'], dir);
    expect(serve.status).toBe(2);
    for (const line of expected) expect(serve.stderr).toContain(line);
  });

  it('accepts what serve accepts: a tls.ca file beside the config, a resource served with openapi, an absolute resource under publicUrl', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'ca.pem'), `# corporate root\n${PEM}`);
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      [
        'publicUrl: https://gw.example.com/',
        'auth:',
        '  clients:',
        '    - { clientId: a, redirectUris: ["https://x.example/cb"], resource: /api }',
        '    - { clientId: b, redirectUris: ["https://x.example/cb"], resource: "https://gw.example.com/corp/mcp" }',
        'servers:',
        '  corp: { url: "https://corp.example/mcp", tls: { ca: ca.pem } }',
        '',
      ].join('\n'),
    );
    const check = gatehouse(['config', 'check'], dir);
    expect(check.stderr).not.toContain('invalid configuration');
    expect(check.status, check.stderr).toBe(0);
  });

  it('says why /api is not protected with openapi disabled, a tls.ca that is no PEM, a header that cannot be sent, and an absolute resource elsewhere', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'not.pem'), 'hello\n');
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      [
        'publicUrl: https://gw.example.com',
        'openapi: { enabled: false }',
        'auth:',
        '  clients:',
        '    - { clientId: a, redirectUris: ["https://x.example/cb"], resource: /api }',
        '    - { clientId: b, redirectUris: ["https://x.example/cb"], resource: "https://other.example.com/mcp" }',
        'servers:',
        '  corp: { url: "https://corp.example/mcp", tls: { ca: not.pem }, headers: { "Bad Name": x } }',
        '',
      ].join('\n'),
    );
    const check = gatehouse(['config', 'check'], dir);
    expect(check.status).toBe(2);
    expect(check.stderr).toContain('auth.clients[0].resource: client a: resource /api is not a protected resource of this gateway');
    expect(check.stderr).toContain('REST paths (/api) are served only with openapi.enabled');
    expect(check.stderr).toContain('auth.clients[1].resource: client b: resource https://other.example.com/mcp is not a protected resource of this gateway; give one of /corp/mcp, /corp/sse, /mcp, /sse, /mcp/sse under https://gw.example.com');
    expect(check.stderr).toContain(`servers.corp.tls.ca: ${join(dir, 'not.pem')} holds no PEM certificate`);
    expect(check.stderr).toContain('servers.corp.headers.Bad Name: not a valid HTTP header name');
  });

  it('leaves client resources alone where no authorization server runs (auth.mode tokens)', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      'auth: { mode: tokens, tokens: [t], clients: [{ clientId: a, redirectUris: ["https://x.example/cb"], resource: /nope }] }\nservers:\n  s: { command: node }\n',
    );
    const check = gatehouse(['config', 'check'], dir);
    expect(check.status, check.stderr).toBe(0);
  });
});

describe('auth.users passwordHash', () => {
  it('refuses a placeholder or a password where a hash belongs, saying how to make one (and never echoing it)', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, 'gatehouse.yaml'),
      'auth:\n  users:\n    alice: { passwordHash: "scrypt$..." }\n    bob: { passwordHash: "hunter2-plain" }\n    carol: { passwordHash: "scrypt$3$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g" }\n',
    );
    const check = gatehouse(['config', 'check'], dir);
    expect(check.status).toBe(2);
    for (const name of ['alice', 'bob', 'carol']) {
      expect(check.stderr).toContain(`auth.users.${name}.passwordHash: must be a password hash from \`gatehouse users hash\``);
    }
    expect(check.stderr).not.toContain('hunter2');
  });
});

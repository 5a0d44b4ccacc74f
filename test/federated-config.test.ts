// `auth.providers` as a person writes it: what the schema refuses (every problem at once), the
// defaults filled in (GitHub Enterprise API base, button names), and `config check` saying that a
// provider without allow rules admits nobody.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveProviders } from '../src/auth/providers/index.js';
import { ConfigError, configJsonSchema, resolveConfig } from '../src/config/index.js';
import { runCli, tempRoot } from './helpers/cli.js';

const root = tempRoot('gh-fedcfg-');
afterAll(() => root.remove());

function load(auth: Record<string, unknown>, env: Record<string, string> = {}, rest: Record<string, unknown> = {}) {
  return resolveConfig({ format: 'native', location: 'test', baseDir: root.root, doc: { ...rest, auth } }, env);
}

function issuesOf(auth: Record<string, unknown>, rest: Record<string, unknown> = {}): string[] {
  try {
    load(auth, {}, rest);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('auth.providers config', () => {
  it('fills in defaults: ids, button names, GitHub and GitHub Enterprise URLs, scopes; resolves secret references', () => {
    const cfg = load(
      {
        providers: [
          { type: 'github', clientId: 'a', clientSecret: 'env:GH_SECRET', allow: { orgs: ['acme'] } },
          { type: 'github', id: 'ghe', name: 'Acme GitHub', clientId: 'b', clientSecret: 's', baseUrl: 'https://ghe.acme.test/', allow: { users: ['x'] } },
          { type: 'google', clientId: 'c', clientSecret: 's', allow: { domains: ['acme.test'] } },
          { type: 'oidc', issuer: 'https://sso.acme.test/realms/main', clientId: 'd', allow: { claims: { groups: 'mcp' } } },
        ],
      },
      { GH_SECRET: 'from-the-environment' },
    );
    const [gh, ghe, google, oidc] = resolveProviders(cfg.auth.providers);
    expect(gh).toMatchObject({ id: 'github', name: 'GitHub', issuer: 'https://github.com', apiUrl: 'https://api.github.com', clientSecret: 'from-the-environment' });
    expect(gh!.scope.split(' ')).toEqual(['read:user', 'read:org']);
    expect(ghe).toMatchObject({ id: 'ghe', name: 'Acme GitHub', issuer: 'https://ghe.acme.test', apiUrl: 'https://ghe.acme.test/api/v3', scope: 'read:user' });
    expect(google).toMatchObject({ id: 'google', name: 'Google', issuer: 'https://accounts.google.com', scope: 'openid email profile' });
    expect(oidc).toMatchObject({ id: 'oidc', name: 'sso.acme.test', issuer: 'https://sso.acme.test/realms/main', clientSecret: undefined });
  });

  it('reports every malformed provider at once', () => {
    const text = issuesOf({
      providers: [
        { type: 'oidc', issuer: 'http://idp.example.com', clientId: 'a' },
        { type: 'github', clientId: 'c', clientSecret: 's', allow: { teams: ['no-slash'], domains: ['@acme.test'] } },
        { type: 'google', id: 'Bad Id', clientId: 'd', clientSecret: 's' },
        { type: 'github', clientId: 'e' },
      ],
    }).join('\n');
    expect(text).toContain('auth.providers[0].issuer: must be an https URL');
    expect(text).toContain('auth.providers[1].allow.teams[0]: must be ORG/TEAM-SLUG');
    expect(text).toContain('auth.providers[1].allow.domains[0]: must be a domain');
    expect(text).toContain('auth.providers[2].id: an id holds');
    expect(text).toContain('auth.providers[3].clientSecret');
  });

  it('refuses rules a provider type cannot check, shared ids, and local names that look like identities', () => {
    const text = issuesOf({
      users: { 'github|1': { passwordHash: 'scrypt$x' } },
      providers: [
        { type: 'oidc', issuer: 'https://idp.example.com', clientId: 'a', allow: { orgs: ['acme'] } },
        { type: 'oidc', issuer: 'https://idp.example.com', clientId: 'b', allow: { teams: ['acme/x'] } },
        { type: 'github', clientId: 'c', clientSecret: 's', allow: { claims: { a: 'b' } } },
      ],
    }).join('\n');
    expect(text).toContain('auth.providers[0].allow.orgs: orgs are GitHub organisations');
    expect(text).toMatch(/auth\.providers\[1\]\.id: providers 0 and 1 both have the id "oidc"/);
    expect(text).toContain('auth.providers[1].allow.teams: teams are GitHub teams');
    expect(text).toContain('auth.providers[2].allow.claims: GitHub gives no ID token claims');
    expect(text).toContain('a local user name may not contain "|"');
  });

  it('takes a callbackPath per provider, and keeps /oauth/callback/{id} without one', () => {
    const cfg = load({
      providers: [
        { type: 'github', clientId: 'a', clientSecret: 's', callbackPath: '/auth/callback', allow: { users: ['x'] } },
        { type: 'github', id: 'ghe', clientId: 'b', clientSecret: 's', allow: { users: ['x'] } },
        { type: 'oidc', issuer: 'https://sso.acme.test', clientId: 'c', callbackPath: '/oauth/callback/oidc', allow: { users: ['x'] } },
      ],
    });
    expect(resolveProviders(cfg.auth.providers).map((p) => p.callbackPath)).toEqual(['/auth/callback', '/oauth/callback/ghe', '/oauth/callback/oidc']);
  });

  it('refuses callback paths that are no plain path, that Gatehouse serves itself, or that two providers share', () => {
    const provider = (callbackPath: string, id: string) => ({ type: 'oidc', id, issuer: 'https://sso.acme.test', clientId: id, callbackPath, allow: { users: ['x'] } });
    const issues = (callbackPath: string) => issuesOf({ providers: [provider(callbackPath, 'a')] }, { servers: { files: { command: 'true' } } }).join('\n');
    expect(issues('auth/callback')).toContain('auth.providers[0].callbackPath: must start with /');
    expect(issues('https://gw.example/auth/callback')).toContain('auth.providers[0].callbackPath: a path, not a URL');
    expect(issues('/auth/callback?x=1')).toContain('auth.providers[0].callbackPath: no query (?) or fragment (#)');
    expect(issues('/auth/callback#x')).toContain('auth.providers[0].callbackPath: no query (?) or fragment (#)');
    expect(issues('/auth/../callback')).toContain('auth.providers[0].callbackPath: no ".."');
    for (const route of ['/mcp', '/oauth/token', '/oauth/callback/b', '/.well-known/x', '/healthz', '/readyz', '/metrics', '/api/cb', '/login/cb', '/consent']) {
      expect(issues(route), route).toMatch(/^auth\.providers\[0\]\.callbackPath: \/[^ ]+ is Gatehouse's own/);
    }
    expect(issues('/files/callback')).toContain('auth.providers[0].callbackPath: /files/... holds the routes of server "files"');
    expect(issues('/auth/mcp')).toContain("auth.providers[0].callbackPath: has the shape of a server's route");
    // Its own default, written out, is no collision.
    expect(issues('/oauth/callback/a')).toBe('');

    const shared = issuesOf({ providers: [provider('/auth/callback', 'a'), provider('/auth/callback', 'b'), provider('/Auth/Callback/', 'c')] });
    expect(shared).toEqual([
      'auth.providers[1].callbackPath: providers 0 and 1 both have the callback path /auth/callback: give each its own',
      'auth.providers[2].callbackPath: providers 0 and 2 both have the callback path /Auth/Callback/: give each its own',
    ]);
  });

  it('describes callbackPath in the JSON Schema (`gatehouse config schema`)', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).toMatch(/"callbackPath":\{"description":"The path the provider sends the browser back to: the redirect_uri is publicUrl \+ this path/);
  });

  it('accepts http only towards a loopback host (local stand-ins)', () => {
    expect(issuesOf({ providers: [{ type: 'oidc', issuer: 'http://127.0.0.2:8080', clientId: 'a', allow: { users: ['x'] } }] })).toEqual([]);
    expect(issuesOf({ providers: [{ type: 'github', clientId: 'a', clientSecret: 's', baseUrl: 'http://localhost:9000', allow: { users: ['x'] } }] })).toEqual([]);
    expect(issuesOf({ providers: [{ type: 'github', clientId: 'a', clientSecret: 's', apiUrl: 'http://10.0.0.1/api', allow: { users: ['x'] } }] }).join()).toContain('must be an https URL');
  });

  it('config check says that a provider without allow rules admits nobody (and stays valid)', async () => {
    const dir = root.freshDir();
    const file = join(dir, 'gatehouse.yaml');
    writeFileSync(
      file,
      [
        'auth:',
        '  providers:',
        '    - { type: github, clientId: abc, clientSecret: def }',
        '    - { type: google, clientId: abc, clientSecret: def, allow: {} }',
        '    - { type: oidc, id: corp, issuer: "https://sso.example.com", clientId: x, allow: { domains: [example.com] } }',
        'servers: { demo: { command: "true" } }',
      ].join('\n'),
    );
    const run = await runCli(['config', 'check', file], { cwd: dir });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('valid');
    expect(run.stderr).toContain('auth.providers[0] (github): no allow rules, so this provider admits nobody');
    expect(run.stderr).toContain('auth.providers[1] (google): no allow rules, so this provider admits nobody');
    expect(run.stderr).not.toContain('(corp)');
  });
});

// `auth.providers` as a person writes it: what the schema refuses (every problem at once), the
// defaults filled in (GitHub Enterprise API base, button names), and `config check` saying that a
// provider without allow rules admits nobody.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveProviders } from '../src/auth/providers/index.js';
import { ConfigError, resolveConfig } from '../src/config/index.js';
import { runCli, tempRoot } from './helpers/cli.js';

const root = tempRoot('gh-fedcfg-');
afterAll(() => root.remove());

function load(auth: Record<string, unknown>, env: Record<string, string> = {}) {
  return resolveConfig({ format: 'native', location: 'test', baseDir: root.root, doc: { auth } }, env);
}

function issuesOf(auth: Record<string, unknown>): string[] {
  try {
    load(auth);
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

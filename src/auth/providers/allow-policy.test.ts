import { describe, expect, it } from 'vitest';
import { decideAllowed, hasAnyRule } from './allow-policy.js';
import type { UpstreamProfile } from './types.js';

const person = (over: Partial<UpstreamProfile> = {}): UpstreamProfile => ({
  subject: '1',
  username: 'OctoCat',
  displayName: 'OctoCat',
  emails: [
    { address: 'Octo@Acme.test', verified: true },
    { address: 'octo@unverified.test', verified: false },
  ],
  orgs: ['Acme'],
  teams: ['Acme/MCP-Users'],
  claims: { groups: ['mcp-users', 'staff'], level: 3, admin: true, nested: { groups: ['x'] } },
  ...over,
});

describe('decideAllowed', () => {
  it('admits nobody without rules, with an empty block, or with only empty lists', () => {
    expect(decideAllowed('github', undefined, person()).allowed).toBe(false);
    expect(decideAllowed('github', {}, person()).allowed).toBe(false);
    expect(decideAllowed('github', { users: [], orgs: [], claims: { groups: [] } }, person()).allowed).toBe(false);
    expect(hasAnyRule({ users: [] })).toBe(false);
    expect(hasAnyRule({ claims: { groups: 'a' } })).toBe(true);
  });

  it('compares GitHub logins, emails, domains, orgs and teams case-insensitively', () => {
    expect(decideAllowed('github', { users: ['octocat'] }, person())).toEqual({ allowed: true, rule: 'users:octocat' });
    expect(decideAllowed('github', { emails: ['octo@acme.TEST'] }, person()).allowed).toBe(true);
    expect(decideAllowed('github', { domains: ['ACME.test'] }, person()).allowed).toBe(true);
    expect(decideAllowed('github', { orgs: ['acme'] }, person()).allowed).toBe(true);
    expect(decideAllowed('github', { teams: ['acme/mcp-users'] }, person()).allowed).toBe(true);
  });

  it('compares OIDC preferred_username exactly', () => {
    expect(decideAllowed('oidc', { users: ['octocat'] }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { users: ['OctoCat'] }, person()).allowed).toBe(true);
  });

  it('counts only verified addresses, and a domain only as the whole part after @', () => {
    expect(decideAllowed('oidc', { emails: ['octo@unverified.test'] }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { domains: ['unverified.test'] }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { domains: ['acme.test.evil'] }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { domains: ['cme.test'] }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { domains: ['test'] }, person()).allowed).toBe(false);
  });

  it('takes a Google domain only from the hd claim, never from the address', () => {
    const google = (claims: Record<string, unknown>) => person({ emails: [{ address: 'octo@acme.test', verified: true }], claims });
    // A consumer Google account made on a company address: verified, but no hd.
    expect(decideAllowed('google', { domains: ['acme.test'] }, google({})).allowed).toBe(false);
    expect(decideAllowed('google', { domains: ['acme.test'] }, google({ hd: 'other.test' })).allowed).toBe(false);
    expect(decideAllowed('google', { domains: ['acme.test'] }, google({ hd: 'ACME.test' }))).toEqual({ allowed: true, rule: 'domains:acme.test' });
    expect(decideAllowed('google', { domains: ['acme.test'] }, person({ emails: [], claims: { hd: 'acme.test' } })).allowed).toBe(true);
    expect(decideAllowed('google', { domains: ['acme.test'] }, google({ hd: ['acme.test'] })).allowed).toBe(false);
    // Generic OIDC keeps the address's domain (docs: the same caveat applies).
    expect(decideAllowed('oidc', { domains: ['acme.test'] }, google({})).allowed).toBe(true);
    // Google `emails` rules still look at verified addresses.
    expect(decideAllowed('google', { emails: ['octo@acme.test'] }, google({})).allowed).toBe(true);
  });

  it('matches claims held as strings, lists, numbers and booleans, never inside objects', () => {
    expect(decideAllowed('oidc', { claims: { groups: 'staff' } }, person())).toEqual({ allowed: true, rule: 'claims:groups=staff' });
    expect(decideAllowed('oidc', { claims: { level: ['3'] } }, person()).allowed).toBe(true);
    expect(decideAllowed('oidc', { claims: { admin: 'true' } }, person()).allowed).toBe(true);
    expect(decideAllowed('oidc', { claims: { nested: 'x' } }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { claims: { groups: ['MCP-USERS'] } }, person()).allowed).toBe(false);
    expect(decideAllowed('oidc', { claims: { missing: 'a' } }, person()).allowed).toBe(false);
  });

  it('needs membership data to match orgs or teams (not fetched: no match)', () => {
    expect(decideAllowed('github', { orgs: ['acme'] }, person({ orgs: undefined })).allowed).toBe(false);
    expect(decideAllowed('github', { teams: ['acme/mcp-users'] }, person({ teams: undefined })).allowed).toBe(false);
  });
});

// The allow/deny matrix, through real sign-ins: one gateway with one provider per rule kind
// (all pointing at the same stand-ins), and for each a person the rule admits and one it refuses.
// The stand-in GitHub and the stand-in OpenID Provider (a second oidc-provider) each know two people.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerAtGitHub,
  answerAtStandInIdp,
  authorizationUrlFor,
  openLoginPage,
  pressProviderButton,
  returnToGateway,
  sharedRegistration,
  SiteBrowser,
} from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startStandInGitHub, type StandInGitHub } from './helpers/stand-in-github.js';
import { startStandInOidc, type StandInOidc } from './helpers/stand-in-oidc.js';

const GITHUB_PEOPLE = [
  { id: 11, login: 'octocat', emails: [{ email: 'octocat@acme.test', verified: true, primary: true }], orgs: ['acme'], teams: ['acme/mcp-users'] },
  // Claims acme.test only through an unverified address; same team slug in another org.
  {
    id: 12,
    login: 'hubot',
    emails: [
      { email: 'hubot@acme.test', verified: false },
      { email: 'hubot@other.test', verified: true, primary: true },
    ],
    orgs: ['other'],
    teams: ['other/mcp-users', 'acme/design'],
  },
];
const OIDC_PEOPLE = [
  { sub: 'alice-sub', claims: { email: 'alice@acme.test', email_verified: true, preferred_username: 'alice', groups: ['mcp-users'] } },
  // An acme.test address the provider has not verified.
  { sub: 'mallory-sub', claims: { email: 'mallory@acme.test', email_verified: false, preferred_username: 'mallory', groups: ['staff'] } },
];
const SECRET = 'matrix-client-secret-0123456789';

const GITHUB_RULES: Record<string, Record<string, unknown> | undefined> = {
  'gh-users': { users: ['octocat'] },
  'gh-emails': { emails: ['octocat@acme.test', 'hubot@acme.test'] },
  'gh-domains': { domains: ['acme.test'] },
  'gh-orgs': { orgs: ['acme'] },
  'gh-teams': { teams: ['acme/mcp-users'] },
  'gh-none': undefined,
  'gh-empty': {},
};
const OIDC_RULES: Record<string, Record<string, unknown> | undefined> = {
  'oidc-users': { users: ['alice'] },
  'oidc-emails': { emails: ['alice@acme.test', 'mallory@acme.test'] },
  'oidc-domains': { domains: ['acme.test'] },
  'oidc-claims': { claims: { groups: ['mcp-users'] } },
  'oidc-none': undefined,
};

// One registration for the whole matrix.
const newClient = sharedRegistration();
let github: StandInGitHub;
let idp: StandInOidc;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  github = await startStandInGitHub(GITHUB_PEOPLE);
  idp = await startStandInOidc(OIDC_PEOPLE);
  const common = (allow: Record<string, unknown> | undefined) => (allow ? { allow } : {});
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      providers: [
        ...Object.entries(GITHUB_RULES).map(([id, allow]) => ({
          type: 'github',
          id,
          clientId: github.clientId,
          clientSecret: github.clientSecret,
          baseUrl: github.url,
          apiUrl: github.apiUrl,
          ...common(allow),
        })),
        ...Object.entries(OIDC_RULES).map(([id, allow]) => ({ type: 'oidc', id, issuer: idp.issuer, clientId: id, clientSecret: SECRET, ...common(allow) })),
      ],
    },
    servers: { raw: rawStdio() },
  });
  idp.configure(Object.keys(OIDC_RULES).map((id) => ({ clientId: id, clientSecret: SECRET, redirectUri: `${gw.base}/oauth/callback/${id}` })));
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await github?.close();
});

/** Signs in through `providerId` as `person`; true when the client got a code, false on the "Not allowed" page. */
async function admitted(providerId: string, person: string): Promise<boolean> {
  const browser = new SiteBrowser();
  const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, newClient()));
  const upstream = await pressProviderButton(browser, login, providerId);
  const callback = providerId.startsWith('gh-') ? await answerAtGitHub(browser, upstream, person) : await answerAtStandInIdp(browser, upstream, person);
  const outcome = await returnToGateway(browser, callback);
  if (outcome.redirect?.searchParams.get('code')) return true;
  expect(outcome.page?.status, outcome.page?.html).toBe(403);
  expect(outcome.page?.html).toContain('Not allowed');
  return false;
}

describe('allow rules: each kind admits the right person and refuses the wrong one', () => {
  const matrix: [provider: string, person: string, expected: boolean, why: string][] = [
    ['gh-users', 'octocat', true, 'listed login'],
    ['gh-users', 'hubot', false, 'login not listed'],
    ['gh-emails', 'octocat', true, 'verified listed address'],
    ['gh-emails', 'hubot', false, 'listed address is unverified'],
    ['gh-domains', 'octocat', true, 'verified address in the domain'],
    ['gh-domains', 'hubot', false, 'only an unverified address in the domain'],
    ['gh-orgs', 'octocat', true, 'member of the org'],
    ['gh-orgs', 'hubot', false, 'not a member'],
    ['gh-teams', 'octocat', true, 'member of acme/mcp-users'],
    ['gh-teams', 'hubot', false, 'same team slug in another org'],
    ['gh-none', 'octocat', false, 'no allow block admits nobody'],
    ['gh-empty', 'octocat', false, 'an empty allow block admits nobody'],
    ['oidc-users', 'alice-sub', true, 'listed preferred_username'],
    ['oidc-users', 'mallory-sub', false, 'preferred_username not listed'],
    ['oidc-emails', 'alice-sub', true, 'verified listed address'],
    ['oidc-emails', 'mallory-sub', false, 'listed address is unverified'],
    ['oidc-domains', 'alice-sub', true, 'verified address in the domain'],
    ['oidc-domains', 'mallory-sub', false, 'unverified address in the domain'],
    ['oidc-claims', 'alice-sub', true, 'groups holds mcp-users'],
    ['oidc-claims', 'mallory-sub', false, 'groups lacks mcp-users'],
    ['oidc-none', 'alice-sub', false, 'no allow block admits nobody'],
  ];
  for (const [provider, person, expected, why] of matrix) {
    it(`${provider}: ${person} ${expected ? 'admitted' : 'refused'} (${why})`, async () => {
      expect(await admitted(provider, person)).toBe(expected);
    });
  }

  it('asks GitHub only for the scopes its rules need (user:email for addresses, read:org for memberships)', () => {
    const scopeOf = (id: string) => github.authorizeRequests.find((q) => q.get('redirect_uri')?.endsWith(`/oauth/callback/${id}`))?.get('scope');
    expect(scopeOf('gh-users')).toBe('read:user');
    expect(scopeOf('gh-emails')).toBe('read:user user:email');
    expect(scopeOf('gh-domains')).toBe('read:user user:email');
    expect(scopeOf('gh-orgs')).toBe('read:user read:org');
    expect(scopeOf('gh-teams')).toBe('read:user read:org');
  });
});

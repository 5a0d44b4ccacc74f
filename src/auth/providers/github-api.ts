// The parts of GitHub's REST API that say who signed in (docs.github.com/rest/users,
// /rest/orgs/orgs#list-organizations-for-the-authenticated-user, /rest/teams/teams#list-teams-for-the-authenticated-user).
// The same paths serve GitHub Enterprise Server under {host}/api/v3.
import { z } from 'zod';
import { FederationError, type UpstreamProfile } from './types.js';

const UserSchema = z.looseObject({ id: z.number().int(), login: z.string().min(1), name: z.string().nullish() });
const EmailsSchema = z.array(z.looseObject({ email: z.string(), verified: z.boolean(), primary: z.boolean().optional() }));
const OrgsSchema = z.array(z.looseObject({ login: z.string() }));
const TeamsSchema = z.array(z.looseObject({ slug: z.string(), organization: z.looseObject({ login: z.string() }) }));

/** GitHub pages lists; more than this many pages of memberships is not a person. */
const MAX_PAGES = 10;
const TIMEOUT_MS = 15_000;

export interface GitHubApiOptions {
  readonly apiUrl: string;
  readonly accessToken: string;
  /** Fetch addresses, memberships only when a rule looks at them (fewer scopes, less personal data). */
  readonly emails: boolean;
  readonly orgs: boolean;
  readonly teams: boolean;
  readonly fetch?: typeof globalThis.fetch | undefined;
}

export async function fetchGitHubProfile(options: GitHubApiOptions): Promise<UpstreamProfile> {
  const get = (path: string) => getJson(options, `${options.apiUrl}${path}`);
  const user = parse(UserSchema, await get('/user'), '/user');
  const emails = options.emails ? parse(EmailsSchema, await get('/user/emails?per_page=100'), '/user/emails') : [];
  const orgs = options.orgs ? parse(OrgsSchema, await getAllPages(options, '/user/orgs'), '/user/orgs').map((o) => o.login) : undefined;
  const teams = options.teams
    ? parse(TeamsSchema, await getAllPages(options, '/user/teams'), '/user/teams').map((t) => `${t.organization.login}/${t.slug}`)
    : undefined;
  return {
    subject: String(user.id),
    username: user.login,
    displayName: user.login,
    emails: emails.map((e) => ({ address: e.email, verified: e.verified })),
    orgs,
    teams,
    claims: {},
  };
}

async function getAllPages(options: GitHubApiOptions, path: string): Promise<unknown[]> {
  const items: unknown[] = [];
  let url: string | undefined = `${options.apiUrl}${path}?per_page=100`;
  for (let page = 0; url && page < MAX_PAGES; page++) {
    const res = await request(options, url);
    const body: unknown = await res.json().catch(() => undefined);
    if (!Array.isArray(body)) throw new FederationError({ kind: 'bad_response' }, `GitHub ${path}: not a list`);
    items.push(...(body as unknown[]));
    url = nextLink(res.headers.get('link'), options.apiUrl);
  }
  return items;
}

async function getJson(options: GitHubApiOptions, url: string): Promise<unknown> {
  const res = await request(options, url);
  return res.json().catch(() => undefined);
}

async function request(options: GitHubApiOptions, url: string): Promise<Response> {
  const doFetch = options.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await doFetch(url, {
      headers: {
        authorization: `Bearer ${options.accessToken}`,
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        // GitHub refuses requests without a User-Agent.
        'user-agent': 'gatehouse',
      },
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new FederationError({ kind: 'unreachable' }, `GitHub API ${new URL(url).pathname}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FederationError({ kind: 'bad_response' }, `GitHub API ${new URL(url).pathname}: HTTP ${res.status}`);
  }
  return res;
}

/** RFC 8288 `Link: <url>; rel="next"`, followed only while it stays on the API's origin. */
function nextLink(header: string | null, apiUrl: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m && URL.parse(m[1]!)?.origin === new URL(apiUrl).origin) return m[1];
  }
  return undefined;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new FederationError({ kind: 'bad_response' }, `GitHub ${what}: unexpected answer (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return parsed.data;
}

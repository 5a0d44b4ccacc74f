// What a client `gatehouse clients add` adds is, in the terms of its flags (ClientSettings): the
// rules it is held to, whether added or changed by `clients update`, and the record the store
// keeps for it, in the shape oidc-provider reads from its `Client` adapter.
import { isLoopbackHttp, isPrivateUseScheme } from '../auth/server/redirect-policy.js';
import { STORED_CLIENT_CREDENTIALS_RESOURCES, STORED_REQUIRE_PKCE, STORED_RESOURCE } from '../auth/server/stored-client-rules.js';
import { PreRegisteredClientSchema, type ResolvedConfig } from '../config/index.js';
import type { OAuthPayload } from '../store/index.js';

export const CODE_FLOW = ['authorization_code', 'refresh_token'];

const MAX_NAME = 200;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

/** Why `uri` cannot be a redirect URI, or undefined when it can. */
export function redirectUriProblem(uri: string): string | undefined {
  if (/[\s\\]/.test(uri)) return 'contains whitespace or a backslash';
  const u = URL.parse(uri);
  if (!u) return 'is not an absolute URI';
  if (u.hash || uri.includes('#')) return 'has a fragment (#...), which redirect URIs may not have';
  if (u.username || u.password) return 'carries a user name or password';
  if (FORBIDDEN_SCHEMES.has(u.protocol)) return `uses the ${u.protocol.slice(0, -1)} scheme`;
  if (u.protocol === 'http:' && !isLoopbackHttp(uri)) return 'uses http on a host other than this machine (use https, or http://127.0.0.1 / http://localhost)';
  if (u.protocol === 'https:' || isLoopbackHttp(uri)) return undefined;
  if (!isPrivateUseScheme(uri)) return 'is not https, loopback http or a private-use scheme (like cursor://...)';
  // RFC 8252 §7.1: a private-use scheme names the app, e.g. com.example.app:/callback or cursor://...
  if (!/^[a-z][a-z0-9+.-]*:$/.test(u.protocol)) return 'has an invalid scheme';
  return undefined;
}

/**
 * RFC 8252, as the authorization server decides it: loopback http and private-use schemes make
 * a native client (loopback matches on any port); anything else is a web client.
 */
function applicationType(uris: readonly string[]): 'native' | 'web' {
  const nativeOnly = uris.every((u) => !u.startsWith('http:') || isLoopbackHttp(u));
  return nativeOnly && uris.some((u) => isLoopbackHttp(u) || isPrivateUseScheme(u)) ? 'native' : 'web';
}

/** What a client added here is, in the terms of the flags: `clients add` sets it, `clients update` changes it. */
export interface ClientSettings {
  name: string | null;
  redirectUris: readonly string[];
  confidential: boolean;
  grants: readonly string[];
  /** The resource its tokens are for when it names none (--resource). */
  resource: string | undefined;
  requirePkce: boolean;
  /**
   * What its client_credentials tokens may be for, instead of `resource` alone (the config's
   * `clientCredentialsResources`; --client-credentials-resource, repeatable). undefined: not set.
   */
  clientCredentialsResources: readonly string[] | undefined;
}

/** How a message names what gave a value: the flag, or (for `update`) the stored record. */
interface ProblemLabels {
  /** `--redirect-uri U`, `--add-redirect-uri U` or `stored redirect URI U`. */
  uri: (uri: string) => string;
  /** `--grant` or `--grants`. */
  grants: string;
  /** Said after a rule that needs a secret the client does not have. */
  needsSecret: string;
  /** `--client-credentials-resource`, or (for `update`, when no flag gave it) the stored list. */
  clientCredentialsResources: string;
  /** Said after "only for a client whose grants include client_credentials". */
  needsClientCredentials: string;
}

export const CC_RESOURCE_FLAG = '--client-credentials-resource';

const RULE_FLAGS: Readonly<Record<string, string>> = { resource: '--resource', requirePkce: '--no-pkce' };

/**
 * Every reason `c` cannot be a client, each named by what gave the value; `clients add` and
 * `clients update` both end here, so a client changed is held to what a client added is.
 */
export function settingsProblems(c: ClientSettings, labels: ProblemLabels): string[] {
  const problems: string[] = [];
  const name = c.name ?? '';
  if (!name) problems.push('--name: required (the name the consent page shows)');
  else if (name.length > MAX_NAME) problems.push(`--name: longer than ${MAX_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(name)) problems.push('--name: contains control characters');
  if (c.redirectUris.length === 0) problems.push('--redirect-uri: required, at least once (where the client receives the authorization code)');
  for (const uri of c.redirectUris) {
    const problem = redirectUriProblem(uri);
    if (problem) problems.push(`${labels.uri(uri)}: ${problem}`);
  }
  if (problems.length === 0 && applicationType(c.redirectUris) === 'native') {
    // oidc-provider: a native client's https redirect must not be on a loopback host.
    for (const uri of c.redirectUris) {
      const u = new URL(uri);
      if (u.protocol === 'https:' && LOOPBACK_HOSTS.has(u.hostname)) {
        problems.push(`${labels.uri(uri)}: https on a loopback host cannot be mixed with loopback http or app-scheme redirects; use http://${u.host}${u.pathname}`);
      }
    }
  }
  problems.push(...configRuleProblems(c, labels));
  return problems;
}

/**
 * The config's rules for a client (PreRegisteredClientSchema) on what the flags ask for: a client
 * added here may be what an `auth.clients` entry may be, and no more.
 */
function configRuleProblems(c: ClientSettings, labels: ProblemLabels): string[] {
  const checked = PreRegisteredClientSchema.safeParse({
    clientId: 'new',
    // Only whether it has a secret counts; the name and redirect URIs are checked above, more strictly.
    ...(c.confidential ? { clientSecret: 'generated' } : {}),
    redirectUris: ['checked above'],
    ...(c.resource !== undefined ? { resource: c.resource } : {}),
    ...(c.clientCredentialsResources !== undefined ? { clientCredentialsResources: c.clientCredentialsResources } : {}),
    requirePkce: c.requirePkce,
    grants: c.grants,
  });
  if (checked.success) return [];
  return checked.error.issues.map((issue) => {
    const [field, index] = issue.path;
    // The schema's words for the rules that need a secret (requirePkce: false, client_credentials).
    const hint = !c.confidential && issue.message.includes('clientSecret') ? labels.needsSecret : '';
    if (field === 'grants') return `${labels.grants}${typeof index === 'number' ? ` ${c.grants[index]}` : ''}: ${issue.message}${hint}`;
    if (field === 'resource') return `--resource ${c.resource}: ${issue.message}`;
    if (field === 'clientCredentialsResources') {
      // An entry (its form), or the list (client_credentials not among the grants).
      if (typeof index === 'number') return `${CC_RESOURCE_FLAG} ${c.clientCredentialsResources?.[index]}: ${issue.message}`;
      const hint = issue.message.includes('client_credentials') ? labels.needsClientCredentials : '';
      return `${labels.clientCredentialsResources}: ${issue.message}${hint}`;
    }
    return `${RULE_FLAGS[String(field)] ?? String(field)}: ${issue.message}${hint}`;
  });
}

/**
 * `--resource` as the store keeps it: the path of a protected resource of the gateway this config
 * describes, or why it is none (`serve` makes the same check at each sign-in). A URL is kept as
 * its path, which `serve` resolves against its issuer (client-policy.ts), as it does /api: the
 * issuer may come from `serve --public-url`, which this command does not see, and a URL kept
 * whole would stop matching it (invalid_target at every sign-in) once it differs, or once
 * publicUrl is set or changed. A URL of another origin than the config's publicUrl is refused.
 */
export async function storedResource(resource: string, config: ResolvedConfig): Promise<{ path: string } | { problem: string }> {
  const { protectedResources } = await import('../app.js');
  const paths = protectedResources(config).map((r) => r.path);
  let path = resource;
  if (!resource.startsWith('/')) {
    const u = URL.parse(resource);
    const origin = config.publicUrl === undefined ? undefined : new URL(config.publicUrl).origin;
    if (!u || u.search || u.hash || u.username || u.password || (origin !== undefined && u.origin !== origin)) {
      return { problem: `not a URL of this gateway${origin === undefined ? '' : ` (${origin})`}; give its path, such as /api` };
    }
    path = u.pathname;
  }
  if (paths.includes(path)) return { path };
  return { problem: `not a protected resource of this gateway (its config has ${paths.join(', ')})` };
}

/**
 * `--client-credentials-resource` values as the store keeps them: each checked and kept as a
 * path like `--resource` (storedResource), duplicates dropped. Problems name the value.
 */
export async function storedResources(
  resources: readonly string[],
  config: ResolvedConfig,
): Promise<{ paths: string[]; problems: string[] }> {
  const paths: string[] = [];
  const problems: string[] = [];
  for (const resource of resources) {
    const checked = await storedResource(resource, config);
    if ('problem' in checked) problems.push(`${CC_RESOURCE_FLAG} ${resource}: ${checked.problem}`);
    else paths.push(checked.path);
  }
  return { paths: [...new Set(paths)], problems };
}

/** `--grants a,b` as a list. */
export const grantList = (flag: string): string[] => [...new Set(flag.split(',').map((g) => g.trim()).filter(Boolean))];

/**
 * The keys of the Client record written here (clientRecord). oidc-provider writes a registered
 * (DCR) client with every default of its metadata as well (subject_type,
 * id_token_signed_response_alg, ...), so a record with no other key is one of ours.
 */
export const RECORD_FIELDS: ReadonlySet<string> = new Set([
  'client_id',
  'client_id_issued_at',
  'client_name',
  'redirect_uris',
  'response_types',
  'grant_types',
  'token_endpoint_auth_method',
  'application_type',
  STORED_RESOURCE,
  STORED_REQUIRE_PKCE,
  STORED_CLIENT_CREDENTIALS_RESOURCES,
  'client_secret',
  'client_secret_expires_at',
]);

/** The Client record, in the shape oidc-provider reads from its `Client` adapter. */
export function clientRecord(clientId: string, issuedAt: number, c: ClientSettings, secret: OAuthPayload): OAuthPayload {
  return {
    client_id: clientId,
    client_id_issued_at: issuedAt,
    client_name: c.name ?? '',
    redirect_uris: [...c.redirectUris],
    response_types: c.grants.includes('authorization_code') ? ['code'] : [],
    grant_types: [...c.grants],
    token_endpoint_auth_method: c.confidential ? 'client_secret_basic' : 'none',
    application_type: applicationType(c.redirectUris),
    // Only when set, so that a record without them reads as the defaults (as older records do).
    ...(c.resource !== undefined ? { [STORED_RESOURCE]: c.resource } : {}),
    ...(c.requirePkce ? {} : { [STORED_REQUIRE_PKCE]: false }),
    ...(c.clientCredentialsResources !== undefined ? { [STORED_CLIENT_CREDENTIALS_RESOURCES]: [...c.clientCredentialsResources] } : {}),
    // A new secret is replaced by sha256$... before it is written; a stored hash stays as it is.
    ...(c.confidential ? secret : {}),
  };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

/** A stored Client record (ours, registered or older) in the terms of the flags. */
export function settingsOf(c: OAuthPayload): ClientSettings {
  return {
    name: typeof c.client_name === 'string' ? c.client_name : null,
    redirectUris: strings(c.redirect_uris),
    confidential: typeof c.token_endpoint_auth_method === 'string' && c.token_endpoint_auth_method !== 'none',
    grants: Array.isArray(c.grant_types) ? strings(c.grant_types) : CODE_FLOW,
    resource: typeof c[STORED_RESOURCE] === 'string' ? c[STORED_RESOURCE] : undefined,
    requirePkce: c[STORED_REQUIRE_PKCE] !== false,
    clientCredentialsResources: Array.isArray(c[STORED_CLIENT_CREDENTIALS_RESOURCES]) ? strings(c[STORED_CLIENT_CREDENTIALS_RESOURCES]) : undefined,
  };
}

/** What `clients add --json` and `clients update --json` print. */
export function jsonView(clientId: string, c: ClientSettings, secret: string | undefined): Record<string, unknown> {
  return {
    clientId,
    ...(secret ? { clientSecret: secret } : {}),
    name: c.name,
    redirectUris: c.redirectUris,
    confidential: c.confidential,
    grants: c.grants,
    resource: c.resource ?? null,
    requirePkce: c.requirePkce,
    clientCredentialsResources: c.clientCredentialsResources ?? null,
    applicationType: applicationType(c.redirectUris),
  };
}

// `gatehouse clients add|list|remove`: pre-registered OAuth clients kept in the store `serve`
// would use with the same --config / --data-dir. They are written in the shape oidc-provider
// reads from its `Client` adapter, like the ones dynamic registration creates, plus what a
// config client says in `resource` and `requirePkce` (stored-client-rules.ts); a secret is
// printed once and the store keeps only its hash.
import { randomBytes } from 'node:crypto';
import { isLoopbackHttp, isPrivateUseScheme } from '../auth/server/redirect-policy.js';
import { STORED_REQUIRE_PKCE, STORED_RESOURCE } from '../auth/server/stored-client-rules.js';
import { PreRegisteredClientSchema, type ResolvedConfig } from '../config/index.js';
import type { OAuthPayload } from '../store/index.js';
import { CliExit, ExitCode } from './exit.js';
import { TOKEN_MODELS, withStore, type StoreFlags } from './tokens.js';

export interface ClientsAddFlags extends StoreFlags {
  name?: string | undefined;
  redirectUri?: string[] | undefined;
  confidential?: boolean | undefined;
  /** Grants on top of the code flow (repeatable): `client_credentials`. */
  grant?: string[] | undefined;
  /** The client's grants exactly, comma separated (the config's `grants`). */
  grants?: string | undefined;
  /** The config's `resource`: a protected path such as /api, or its absolute URL. */
  resource?: string | undefined;
  /** `--no-pkce` sets it false (the config's `requirePkce: false`). */
  pkce?: boolean | undefined;
}

const CODE_FLOW = ['authorization_code', 'refresh_token'];

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

const RULE_FLAGS: Readonly<Record<string, string>> = { resource: '--resource', requirePkce: '--no-pkce' };
const RULE_HINTS: Readonly<Record<string, string>> = { requirePkce: ' (add --confidential)' };

/**
 * The config's rules for a client (PreRegisteredClientSchema) on what the flags ask for: a client
 * added here may be what an `auth.clients` entry may be, and no more.
 */
function configRuleProblems(
  c: { confidential: boolean; grants: readonly string[]; resource: string | undefined; requirePkce: boolean },
  grantFlag: string,
): string[] {
  const checked = PreRegisteredClientSchema.safeParse({
    clientId: 'new',
    // Only whether it has a secret counts; --name and --redirect-uri are checked above, more strictly.
    ...(c.confidential ? { clientSecret: 'generated' } : {}),
    redirectUris: ['checked above'],
    ...(c.resource !== undefined ? { resource: c.resource } : {}),
    requirePkce: c.requirePkce,
    grants: c.grants,
  });
  if (checked.success) return [];
  return checked.error.issues.map((issue) => {
    const [field, index] = issue.path;
    if (field === 'grants') return `${grantFlag}${typeof index === 'number' ? ` ${c.grants[index]}` : ''}: ${issue.message}`;
    if (field === 'resource') return `--resource ${c.resource}: ${issue.message}`;
    return `${RULE_FLAGS[String(field)] ?? String(field)}: ${issue.message}${RULE_HINTS[String(field)] ?? ''}`;
  });
}

/**
 * Why `resource` is not a protected resource of the gateway this config describes (`serve`
 * makes the same check at each sign-in), or undefined. By path: the issuer may come from
 * `serve --public-url`, which this command does not see.
 */
async function unprotectedResource(resource: string, config: ResolvedConfig): Promise<string | undefined> {
  const { protectedResources } = await import('../app.js');
  const paths = protectedResources(config).map((r) => r.path);
  let path = resource;
  if (!resource.startsWith('/')) {
    const u = URL.parse(resource);
    const origin = config.publicUrl === undefined ? undefined : new URL(config.publicUrl).origin;
    if (!u || u.search || u.hash || (origin !== undefined && u.origin !== origin)) {
      return `not a URL of this gateway${origin === undefined ? '' : ` (${origin})`}; give its path, such as /api`;
    }
    path = u.pathname;
  }
  if (paths.includes(path)) return undefined;
  return `not a protected resource of this gateway (its config has ${paths.join(', ')})`;
}

export async function clientsAdd(flags: ClientsAddFlags): Promise<void> {
  const problems: string[] = [];
  const name = flags.name?.trim() ?? '';
  if (!name) problems.push('--name: required (the name the consent page shows)');
  else if (name.length > MAX_NAME) problems.push(`--name: longer than ${MAX_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(name)) problems.push('--name: contains control characters');
  const uris = [...new Set(flags.redirectUri ?? [])];
  if (uris.length === 0) problems.push('--redirect-uri: required, at least once (where the client receives the authorization code)');
  for (const uri of uris) {
    const problem = redirectUriProblem(uri);
    if (problem) problems.push(`--redirect-uri ${uri}: ${problem}`);
  }
  const type = applicationType(uris);
  if (problems.length === 0 && type === 'native') {
    // oidc-provider: a native client's https redirect must not be on a loopback host.
    for (const uri of uris) {
      const u = new URL(uri);
      if (u.protocol === 'https:' && LOOPBACK_HOSTS.has(u.hostname)) {
        problems.push(`--redirect-uri ${uri}: https on a loopback host cannot be mixed with loopback http or app-scheme redirects; use http://${u.host}${u.pathname}`);
      }
    }
  }
  if (flags.grant !== undefined && flags.grants !== undefined) problems.push('--grant and --grants: give one (--grants lists every grant, --grant adds to the code flow)');
  const grants = [...new Set(flags.grants !== undefined ? flags.grants.split(',').map((g) => g.trim()).filter(Boolean) : [...CODE_FLOW, ...(flags.grant ?? [])])];
  // client_credentials mints tokens with no user behind them: only when asked for by name, and
  // always with a secret (so it implies --confidential).
  const machine = grants.includes('client_credentials');
  const confidential = flags.confidential === true || machine;
  const requirePkce = flags.pkce !== false;
  const resource = flags.resource;
  problems.push(...configRuleProblems({ confidential, grants, resource, requirePkce }, flags.grants !== undefined ? '--grants' : '--grant'));
  if (problems.length) throw new CliExit(ExitCode.Usage, problems.join('\n'));

  // Hex: an id must never start with "-", or `gatehouse clients remove ID` would read it as a flag.
  const clientId = randomBytes(16).toString('hex');
  const secret = confidential ? randomBytes(32).toString('base64url') : undefined;
  const payload: OAuthPayload = {
    client_id: clientId,
    client_id_issued_at: Math.floor(Date.now() / 1000),
    client_name: name,
    redirect_uris: uris,
    response_types: grants.includes('authorization_code') ? ['code'] : [],
    grant_types: grants,
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    application_type: type,
    // Only when set, so that a record without them reads as the defaults (as older records do).
    ...(resource !== undefined ? { [STORED_RESOURCE]: resource } : {}),
    ...(requirePkce ? {} : { [STORED_REQUIRE_PKCE]: false }),
    // The store replaces it with sha256$... before writing.
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
  };
  await withStore(flags, 'clients', async (store, config) => {
    if (resource !== undefined) {
      const problem = await unprotectedResource(resource, config);
      if (problem) throw new CliExit(ExitCode.Usage, `--resource ${resource}: ${problem}`);
    }
    await store.oauthAdapter('Client').upsert(clientId, payload);
    if (flags.json) {
      const view = { clientId, ...(secret ? { clientSecret: secret } : {}), name, redirectUris: uris, confidential, grants, resource: resource ?? null, requirePkce, applicationType: type };
      console.log(JSON.stringify(view, null, 2));
    } else {
      console.log(`client_id: ${clientId}`);
      if (secret) console.log(`client_secret: ${secret}`);
    }
    const rules = `${resource !== undefined ? `; resource: ${resource}` : ''}${requirePkce ? '' : '; PKCE not required'}`;
    console.error(`added ${confidential ? 'confidential' : 'public'} client ${JSON.stringify(name)} to ${store.location}; grants: ${grants.join(', ')}${rules}`);
    if (machine) console.error('client_credentials: anyone holding the secret gets tokens with no sign-in and no consent. Keep it on a machine you control.');
    if (secret) console.error('The secret is shown only this once: the store keeps its hash. Lost it? Remove the client and add it again.');
  });
}

interface ClientView {
  clientId: string;
  name: string | null;
  redirectUris: string[];
  confidential: boolean;
  grants: string[];
  /** The resource its tokens are for when it names none (--resource); null: none. */
  resource: string | null;
  requirePkce: boolean;
  createdAt: string;
}

export async function clientsList(flags: StoreFlags): Promise<void> {
  await withStore(flags, 'clients', async (store, config) => {
    const adapter = store.oauthAdapter('Client');
    const out: ClientView[] = [];
    for (const record of await store.listOAuth({ models: ['Client'] })) {
      const c = await adapter.find(record.key);
      if (!c) continue;
      // Only these fields: the stored client_secret (a hash) is never printed.
      out.push({
        clientId: record.key,
        name: typeof c.client_name === 'string' ? c.client_name : null,
        redirectUris: Array.isArray(c.redirect_uris) ? c.redirect_uris.filter((u): u is string => typeof u === 'string') : [],
        confidential: typeof c.token_endpoint_auth_method === 'string' && c.token_endpoint_auth_method !== 'none',
        grants: Array.isArray(c.grant_types) ? c.grant_types.filter((g): g is string => typeof g === 'string') : CODE_FLOW,
        resource: typeof c[STORED_RESOURCE] === 'string' ? c[STORED_RESOURCE] : null,
        requirePkce: c[STORED_REQUIRE_PKCE] !== false,
        createdAt: new Date(typeof c.client_id_issued_at === 'number' ? c.client_id_issued_at * 1000 : record.createdAt).toISOString(),
      });
    }
    out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.clientId.localeCompare(b.clientId));
    if (flags.json) {
      console.log(JSON.stringify(out, null, 2));
    } else {
      for (const c of out) {
        const extra = c.grants.filter((g) => !CODE_FLOW.includes(g));
        const codeFlow = CODE_FLOW.every((g) => c.grants.includes(g));
        // The usual grants say nothing; the code flow plus more says what more; anything else, all of them.
        const grants = codeFlow ? extra.map((g) => ` +${g}`).join('') : `  grants ${c.grants.join(',')}`;
        const rules = `${c.resource === null ? '' : `  resource ${c.resource}`}${c.requirePkce ? '' : '  no PKCE'}`;
        console.log(`${c.clientId}  ${c.name ?? '(no name)'}  ${c.confidential ? 'confidential' : 'public'}${grants}${rules}  created ${c.createdAt}`);
        for (const uri of c.redirectUris) console.log(`    ${uri}`);
      }
      if (out.length === 0) console.error(`no clients in ${store.location}`);
    }
    const fromConfig = config.auth.clients.map((c) => c.clientId);
    if (fromConfig.length) console.error(`also defined in the config file (auth.clients): ${fromConfig.join(', ')}`);
  });
}

export async function clientsRemove(id: string, flags: StoreFlags): Promise<void> {
  if (!id) throw new CliExit(ExitCode.Usage, 'say which client to remove: gatehouse clients remove ID (see gatehouse clients list)');
  await withStore(flags, 'clients', async (store, config) => {
    const adapter = store.oauthAdapter('Client');
    if (!(await adapter.find(id))) {
      const inConfig = config.auth.clients.some((c) => c.clientId === id);
      throw new CliExit(
        ExitCode.Failure,
        inConfig
          ? `client ${id} is defined in the config file (auth.clients): remove it there`
          : `no client with id ${id} in ${store.location} (see gatehouse clients list)`,
      );
    }
    // Its grants and tokens go first, then the client: a removed client must not keep access.
    const revoked = await store.deleteOAuth({ models: TOKEN_MODELS, clientId: id });
    // Then whatever else names it (the Client record, pending interactions and requests).
    await store.deleteOAuth({ clientId: id });
    await adapter.destroy(id);
    console.error(`removed client ${id}${revoked ? ` and ${revoked} of its grants and tokens` : ''}`);
  });
}

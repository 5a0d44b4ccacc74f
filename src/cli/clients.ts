// `gatehouse clients add|list|update|remove`: pre-registered OAuth clients kept in the store
// `serve` would use with the same --config / --data-dir. They are written in the shape oidc-provider
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

/** What a client added here is, in the terms of the flags: `clients add` sets it, `clients update` changes it. */
interface ClientSettings {
  name: string | null;
  redirectUris: readonly string[];
  confidential: boolean;
  grants: readonly string[];
  /** The resource its tokens are for when it names none (--resource). */
  resource: string | undefined;
  requirePkce: boolean;
}

/** How a message names what gave a value: the flag, or (for `update`) the stored record. */
interface ProblemLabels {
  /** `--redirect-uri U`, `--add-redirect-uri U` or `stored redirect URI U`. */
  uri: (uri: string) => string;
  /** `--grant` or `--grants`. */
  grants: string;
  /** Said after a rule that needs a secret the client does not have. */
  needsSecret: string;
}

const RULE_FLAGS: Readonly<Record<string, string>> = { resource: '--resource', requirePkce: '--no-pkce' };

/**
 * Every reason `c` cannot be a client, each named by what gave the value; `clients add` and
 * `clients update` both end here, so a client changed is held to what a client added is.
 */
function settingsProblems(c: ClientSettings, labels: ProblemLabels): string[] {
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
    return `${RULE_FLAGS[String(field)] ?? String(field)}: ${issue.message}${hint}`;
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

/** `--grants a,b` as a list. */
const grantList = (flag: string): string[] => [...new Set(flag.split(',').map((g) => g.trim()).filter(Boolean))];

/**
 * The keys of the Client record written here (clientRecord). oidc-provider writes a registered
 * (DCR) client with every default of its metadata as well (subject_type,
 * id_token_signed_response_alg, ...), so a record with no other key is one of ours.
 */
const RECORD_FIELDS: ReadonlySet<string> = new Set([
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
  'client_secret',
  'client_secret_expires_at',
]);

/** The Client record, in the shape oidc-provider reads from its `Client` adapter. */
function clientRecord(clientId: string, issuedAt: number, c: ClientSettings, secret: OAuthPayload): OAuthPayload {
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
    // A new secret is replaced by sha256$... before it is written; a stored hash stays as it is.
    ...(c.confidential ? secret : {}),
  };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

/** A stored Client record (ours, registered or older) in the terms of the flags. */
function settingsOf(c: OAuthPayload): ClientSettings {
  return {
    name: typeof c.client_name === 'string' ? c.client_name : null,
    redirectUris: strings(c.redirect_uris),
    confidential: typeof c.token_endpoint_auth_method === 'string' && c.token_endpoint_auth_method !== 'none',
    grants: Array.isArray(c.grant_types) ? strings(c.grant_types) : CODE_FLOW,
    resource: typeof c[STORED_RESOURCE] === 'string' ? c[STORED_RESOURCE] : undefined,
    requirePkce: c[STORED_REQUIRE_PKCE] !== false,
  };
}

/** What `clients add --json` and `clients update --json` print. */
function jsonView(clientId: string, c: ClientSettings, secret: string | undefined): Record<string, unknown> {
  return {
    clientId,
    ...(secret ? { clientSecret: secret } : {}),
    name: c.name,
    redirectUris: c.redirectUris,
    confidential: c.confidential,
    grants: c.grants,
    resource: c.resource ?? null,
    requirePkce: c.requirePkce,
    applicationType: applicationType(c.redirectUris),
  };
}

export async function clientsAdd(flags: ClientsAddFlags): Promise<void> {
  const problems: string[] = [];
  if (flags.grant !== undefined && flags.grants !== undefined) problems.push('--grant and --grants: give one (--grants lists every grant, --grant adds to the code flow)');
  const grants = flags.grants !== undefined ? grantList(flags.grants) : [...new Set([...CODE_FLOW, ...(flags.grant ?? [])])];
  // client_credentials mints tokens with no user behind them: only when asked for by name, and
  // always with a secret (so it implies --confidential).
  const machine = grants.includes('client_credentials');
  const settings: ClientSettings = {
    name: flags.name?.trim() ?? '',
    redirectUris: [...new Set(flags.redirectUri ?? [])],
    confidential: flags.confidential === true || machine,
    grants,
    resource: flags.resource,
    requirePkce: flags.pkce !== false,
  };
  problems.push(
    ...settingsProblems(settings, {
      uri: (uri) => `--redirect-uri ${uri}`,
      grants: flags.grants !== undefined ? '--grants' : '--grant',
      needsSecret: ' (add --confidential)',
    }),
  );
  if (problems.length) throw new CliExit(ExitCode.Usage, problems.join('\n'));

  // Hex: an id must never start with "-", or `gatehouse clients remove ID` would read it as a flag.
  const clientId = randomBytes(16).toString('hex');
  const secret = settings.confidential ? randomBytes(32).toString('base64url') : undefined;
  const payload = clientRecord(clientId, Math.floor(Date.now() / 1000), settings, { client_secret: secret, client_secret_expires_at: 0 });
  const { name, confidential, resource, requirePkce } = settings;
  await withStore(flags, 'clients', async (store, config) => {
    if (resource !== undefined) {
      const problem = await unprotectedResource(resource, config);
      if (problem) throw new CliExit(ExitCode.Usage, `--resource ${resource}: ${problem}`);
    }
    await store.oauthAdapter('Client').upsert(clientId, payload);
    if (flags.json) {
      console.log(JSON.stringify(jsonView(clientId, settings, secret), null, 2));
    } else {
      console.log(`client_id: ${clientId}`);
      if (secret) console.log(`client_secret: ${secret}`);
    }
    const rules = `${resource !== undefined ? `; resource: ${resource}` : ''}${requirePkce ? '' : '; PKCE not required'}`;
    console.error(`added ${confidential ? 'confidential' : 'public'} client ${JSON.stringify(name)} to ${store.location}; grants: ${grants.join(', ')}${rules}`);
    if (machine) console.error('client_credentials: anyone holding the secret gets tokens with no sign-in and no consent. Keep it on a machine you control.');
    if (secret) console.error(`The secret is shown only this once: the store keeps its hash. Lost it? gatehouse clients update ${clientId} --rotate-secret gives the client a new one.`);
  });
}

export interface ClientsUpdateFlags extends StoreFlags {
  name?: string | undefined;
  /** Replaces the redirect URIs (repeatable). */
  redirectUri?: string[] | undefined;
  /** Adds to the redirect URIs (repeatable). */
  addRedirectUri?: string[] | undefined;
  /** A path or URL; false: `--no-resource`. */
  resource?: string | false | undefined;
  /** `--pkce` true, `--no-pkce` false. */
  pkce?: boolean | undefined;
  grants?: string | undefined;
  rotateSecret?: boolean | undefined;
  /** Opposite flags given together (`--pkce and --no-pkce`), which the parser would settle by their order. */
  contradicting?: readonly string[] | undefined;
}

const UPDATE_FLAGS = '--name, --redirect-uri, --add-redirect-uri, --resource, --no-resource, --pkce, --no-pkce, --grants, --rotate-secret';

/**
 * Why client `id` cannot be updated here, or undefined when `stored` is a client this command
 * added. Only those: a config client is the config file's; a registered (DCR) client's metadata
 * is whoever registered it's (an operator changing its redirect URIs would send its codes
 * elsewhere); a metadata-document client is its document.
 */
function notUpdatable(id: string, stored: OAuthPayload | undefined, config: ResolvedConfig, location: string): string | undefined {
  if (config.auth.clients.some((c) => c.clientId === id)) {
    return `client ${id} is defined in the config file (auth.clients): edit it there and restart gatehouse serve`;
  }
  if (!stored) {
    if (/^https:\/\//i.test(id)) return `client ${id} is a client ID metadata document: the document at that URL says what the client is, and only its publisher changes it`;
    return `no client with id ${id} in ${location} (see gatehouse clients list)`;
  }
  if (Object.keys(stored).some((k) => !RECORD_FIELDS.has(k))) {
    return `client ${id} registered itself (dynamic client registration): its metadata is its own, not the operator's to change. Remove it (gatehouse clients remove ${id}; it can register again), or add a client of your own with gatehouse clients add`;
  }
  return undefined;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * `gatehouse clients update ID`: changes a client `clients add` added, keeping its id and (unless
 * --rotate-secret) its secret, under the same rules as `add`. `serve` reads clients from the store
 * at each request, so the change holds from the next one; grants and tokens already issued stay.
 */
export async function clientsUpdate(id: string, flags: ClientsUpdateFlags): Promise<void> {
  if (!id) throw new CliExit(ExitCode.Usage, 'say which client to update: gatehouse clients update ID (see gatehouse clients list)');
  const asked = [flags.name, flags.redirectUri, flags.addRedirectUri, flags.resource, flags.pkce, flags.grants, flags.rotateSecret];
  if (asked.every((v) => v === undefined)) throw new CliExit(ExitCode.Usage, `say what to change in client ${id}: one or more of ${UPDATE_FLAGS}`);
  const usage = (flags.contradicting ?? []).map((pair) => `${pair}: give one`);
  if (flags.redirectUri !== undefined && flags.addRedirectUri !== undefined) {
    usage.push('--redirect-uri and --add-redirect-uri: give one (--redirect-uri replaces the list, --add-redirect-uri adds to it)');
  }
  await withStore(flags, 'clients', async (store, config) => {
    const adapter = store.oauthAdapter('Client');
    const stored = await adapter.find(id);
    const refused = notUpdatable(id, stored, config, store.location);
    if (refused !== undefined || !stored) throw new CliExit(ExitCode.Usage, [refused ?? '', ...usage].join('\n'));

    const before = settingsOf(stored);
    const uris = flags.redirectUri ?? [...before.redirectUris, ...(flags.addRedirectUri ?? [])];
    const after: ClientSettings = {
      ...before,
      name: flags.name !== undefined ? flags.name.trim() : before.name,
      redirectUris: [...new Set(uris)],
      grants: flags.grants !== undefined ? grantList(flags.grants) : before.grants,
      resource: flags.resource === false ? undefined : (flags.resource ?? before.resource),
      requirePkce: flags.pkce ?? before.requirePkce,
    };
    const problems = [...usage];
    if (flags.rotateSecret && !before.confidential) problems.push(`--rotate-secret: client ${id} is public: it has no secret`);
    problems.push(
      ...settingsProblems(after, {
        uri: (uri) =>
          flags.redirectUri?.includes(uri) ? `--redirect-uri ${uri}` : flags.addRedirectUri?.includes(uri) ? `--add-redirect-uri ${uri}` : `stored redirect URI ${uri}`,
        grants: '--grants',
        needsSecret: ` (client ${id} is public, and stays so: a client with a secret is added with gatehouse clients add --confidential)`,
      }),
    );
    if (typeof flags.resource === 'string' && !problems.some((p) => p.startsWith('--resource '))) {
      const problem = await unprotectedResource(flags.resource, config);
      if (problem) problems.push(`--resource ${flags.resource}: ${problem}`);
    }
    if (problems.length) throw new CliExit(ExitCode.Usage, problems.join('\n'));

    const secret = flags.rotateSecret ? randomBytes(32).toString('base64url') : undefined;
    const changed: string[] = [];
    if (after.name !== before.name) changed.push(`name ${JSON.stringify(after.name)}`);
    if (!sameList(after.redirectUris, before.redirectUris)) changed.push(`redirect URIs ${after.redirectUris.join(', ')}`);
    if (!sameList(after.grants, before.grants)) changed.push(`grants ${after.grants.join(', ')}`);
    if (after.resource !== before.resource) changed.push(after.resource === undefined ? 'no resource' : `resource ${after.resource}`);
    if (after.requirePkce !== before.requirePkce) changed.push(after.requirePkce ? 'PKCE required' : 'PKCE not required');
    if (secret) changed.push('a new secret');
    if (changed.length) {
      const issuedAt = typeof stored.client_id_issued_at === 'number' ? stored.client_id_issued_at : Math.floor(Date.now() / 1000);
      const keep = { client_secret: stored.client_secret, client_secret_expires_at: stored.client_secret_expires_at ?? 0 };
      await adapter.upsert(id, clientRecord(id, issuedAt, after, secret ? { client_secret: secret, client_secret_expires_at: 0 } : keep));
    }
    if (flags.json) {
      console.log(JSON.stringify({ ...jsonView(id, after, secret), changed }, null, 2));
    } else if (secret) {
      console.log(`client_id: ${id}`);
      console.log(`client_secret: ${secret}`);
    }
    const name = JSON.stringify(after.name ?? '');
    if (!changed.length) {
      console.error(`client ${name} (${id}) already is so: nothing changed`);
      return;
    }
    console.error(`updated client ${name} (${id}) in ${store.location}: ${changed.join('; ')}`);
    console.error('A running gatehouse serve uses it from the next request; its grants and tokens stay valid.');
    if (secret) {
      console.error(
        `The old secret no longer works. The new one is shown only this once (the store keeps its hash): paste it where the client keeps it. ` +
          `Tokens issued before stay valid until they expire (refreshing them needs the new secret); to end them now: gatehouse tokens revoke --client ${id}`,
      );
    }
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
      const stored = await adapter.find(record.key);
      if (!stored) continue;
      const c = settingsOf(stored);
      // Only these fields: the stored client_secret (a hash) is never printed.
      out.push({
        clientId: record.key,
        name: c.name,
        redirectUris: [...c.redirectUris],
        confidential: c.confidential,
        grants: [...c.grants],
        resource: c.resource ?? null,
        requirePkce: c.requirePkce,
        createdAt: new Date(typeof stored.client_id_issued_at === 'number' ? stored.client_id_issued_at * 1000 : record.createdAt).toISOString(),
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

// What clients may be: config clients as oidc-provider metadata, and the rules every client
// (registered, stored, CIMD, config) passes through in the provider's client schema.
import { errors } from './oidc-provider-module.js';
import type { ClientMetadata, KoaContextWithOIDC } from 'oidc-provider';
import { PreRegisteredClientSchema, type ResolvedConfig } from '../../config/index.js';
import { isLoopbackHttp, isPrivateUseScheme, type RedirectPolicy } from './redirect-policy.js';
import type { ResolvedResource } from './resources.js';
import { clientResourceUrl, STORED_CLIENT_CREDENTIALS_RESOURCES, STORED_REQUIRE_PKCE, STORED_RESOURCE, STORED_RULES } from './stored-client-rules.js';

export { STORED_RULES } from './stored-client-rules.js';

const SELF_REGISTERED_GRANTS = new Set(['authorization_code', 'refresh_token']);

type ConfigClient = ResolvedConfig['auth']['clients'][number];

/** A live client (oidc-provider's Client) as the rules below read it. */
export interface PolicyClient {
  readonly clientId: string;
  readonly clientAuthMethod?: string | undefined;
}

interface StoredRules {
  resource: string | undefined;
  requirePkce: boolean;
  clientCredentialsResources: readonly string[] | undefined;
}

/** The rules a stored client carries; never a metadata document's (it is anyone's). */
function storedRules(client: PolicyClient): StoredRules {
  const c = client as PolicyClient & Record<string, unknown>;
  if (c.clientIdMetadataDocument === true) return { resource: undefined, requirePkce: true, clientCredentialsResources: undefined };
  const resource = c[STORED_RESOURCE];
  const listed = c[STORED_CLIENT_CREDENTIALS_RESOURCES];
  return {
    resource: typeof resource === 'string' ? resource : undefined,
    requirePkce: c[STORED_REQUIRE_PKCE] !== false,
    // Judged as the config's list when the client is loaded (applyClientPolicy): strings, at least one.
    clientCredentialsResources: Array.isArray(listed) ? listed.filter((r): r is string => typeof r === 'string') : undefined,
  };
}

/**
 * A stored client's metadata in the shape of a config client, so that the config's rules
 * (PreRegisteredClientSchema) judge its `resource`, `requirePkce` and
 * `clientCredentialsResources` the same way.
 */
function asConfigClient(metadata: Record<string, unknown>): Record<string, unknown> {
  const defined = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  return defined({
    clientId: metadata.client_id,
    clientSecret: metadata.client_secret,
    redirectUris: metadata.redirect_uris,
    resource: metadata[STORED_RESOURCE],
    requirePkce: metadata[STORED_REQUIRE_PKCE],
    clientCredentialsResources: metadata[STORED_CLIENT_CREDENTIALS_RESOURCES],
    grants: metadata.grant_types,
  });
}

/**
 * A config client as oidc-provider metadata. Its grants are the ones it lists (`grants`, default
 * the code flow and refresh): client_credentials mints tokens with no user behind them, so a
 * secret alone never grants it (a ChatGPT Actions secret sits in the GPT editor).
 */
export function staticClient(c: ConfigClient): ClientMetadata {
  const confidential = c.clientSecret !== undefined && c.clientSecret !== '';
  // The schema refuses client_credentials without a secret; checked again so a public client never gets it.
  const grants = [...new Set(c.grants)].filter((g) => confidential || g !== 'client_credentials');
  return {
    client_id: c.clientId,
    ...(confidential ? { client_secret: c.clientSecret } : {}),
    ...(c.name ? { client_name: c.name } : {}),
    redirect_uris: [...c.redirectUris],
    response_types: grants.includes('authorization_code') ? ['code'] : [],
    grant_types: grants,
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
  };
}

/**
 * The resource a pre-registered client's client_credentials tokens are held to: its `resource`,
 * when it has one. Such a client may get no client_credentials token for any other resource
 * (RFC 8707 invalid_target), so one secret opens one resource, not every route of the gateway.
 */
export function clientCredentialsTarget(
  defaultResource: (client: PolicyClient | undefined) => string | undefined,
  listed: (client: PolicyClient | undefined) => readonly string[] | undefined = () => undefined,
): (grantType: unknown, client: PolicyClient | undefined, indicator: string) => void {
  return (grantType, client, indicator) => {
    if (grantType !== 'client_credentials') return;
    // A config client's `clientCredentialsResources` replace its `resource` here.
    const some = listed(client);
    if (some !== undefined) {
      if (!some.includes(indicator)) throw new errors.InvalidTarget(`this client's client_credentials tokens are only for ${some.join(', ')}`);
      return;
    }
    const only = defaultResource(client);
    if (only !== undefined && indicator !== only) {
      throw new errors.InvalidTarget(`this client's client_credentials tokens are only for ${only}`);
    }
  };
}

/**
 * Runs inside oidc-provider's client schema for every client (registered, stored, CIMD, config).
 * RFC 8252: clients whose redirects are loopback http or a private-use scheme are native, so
 * loopback matches on any port. Self-registration (DCR) is held to the code flow and to the
 * redirect policy, and may not set the rules of a stored client (STORED_RULES); a stored client's
 * rules are held to the config's (`requirePkce: false` only with a secret).
 */
export function applyClientPolicy(ctx: KoaContextWithOIDC | undefined, metadata: ClientMetadata, policy: RedirectPolicy): void {
  const declared: unknown = metadata.redirect_uris;
  const uris = Array.isArray(declared) ? declared.filter((u): u is string => typeof u === 'string') : [];
  const nativeOnly = uris.every((u) => !u.startsWith('http:') || isLoopbackHttp(u));
  if (uris.length && nativeOnly && uris.some((u) => isLoopbackHttp(u) || isPrivateUseScheme(u))) metadata.application_type = 'native';
  const rules = STORED_RULES.filter((p) => metadata[p] !== undefined);
  if (rules.length && ctx?.oidc?.route === 'registration') {
    throw new errors.InvalidClientMetadata(`${rules.join(', ')} may not be registered: only an operator sets them (gatehouse clients add)`);
  }
  if (rules.length) {
    const checked = PreRegisteredClientSchema.safeParse(asConfigClient(metadata));
    if (!checked.success) {
      throw new errors.InvalidClientMetadata(checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
  }
  if (ctx?.oidc?.route !== 'registration') return;
  // Checked here before their values are read: this runs ahead of oidc-provider's own type
  // checks, and a string or a number must be invalid_client_metadata (RFC 7591 §3.2.2), not a 500.
  const grants = stringList(metadata.grant_types, 'grant_types');
  const refused = grants.filter((g) => !SELF_REGISTERED_GRANTS.has(g));
  if (refused.length) throw new errors.InvalidClientMetadata(`self-registered clients may only use authorization_code and refresh_token, not ${refused.join(', ')}`);
  if (stringList(metadata.response_types, 'response_types').some((t) => t !== 'code')) throw new errors.InvalidClientMetadata('self-registered clients may only use response_type code');
  const bad = uris.find((u) => !policy.allows(u));
  if (bad !== undefined) {
    // InvalidRedirectUri takes no description (its constructor keeps a fixed one); set it after.
    const refused = new errors.InvalidRedirectUri();
    refused.error_description = `redirect_uri ${bad} is not allowed here (see auth.registration.redirectPresets and allowedRedirectUris)`;
    throw refused;
  }
}

/** A registration's list field (RFC 7591 §2: arrays of strings), absent = empty; else invalid_client_metadata. */
function stringList(value: unknown, field: string): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) throw new errors.InvalidClientMetadata(`${field} must be an array of strings`);
  return value;
}

/**
 * Whether a self-declared client (a client ID metadata document) keeps to what self-registration
 * may have: the code flow and refresh, and none of the rules only an operator sets (STORED_RULES).
 * A document is anyone's https URL, so a client_credentials one would mint tokens with no user
 * for whoever published it (it authenticates with its own private_key_jwt keys, which it also
 * publishes), and one saying `gatehouse_require_pkce: false` would drop PKCE for itself.
 */
export function keepsToSelfRegisteredGrants(client: { grantTypes?: readonly string[] | undefined; responseTypes?: readonly string[] | undefined }): boolean {
  const declared = client as Record<string, unknown>;
  return (
    (client.grantTypes ?? []).every((g) => SELF_REGISTERED_GRANTS.has(g)) &&
    (client.responseTypes ?? []).every((t) => t === 'code') &&
    STORED_RULES.every((p) => declared[p] === undefined)
  );
}

/**
 * Whether a client must use PKCE. Always, except a pre-registered client with a secret that says
 * `requirePkce: false` (config) or was added with `--no-pkce` (stored): RFC 9700 §2.1.1 allows it
 * for confidential clients; ChatGPT Actions send no code_challenge. Checked against the live
 * client, so a public client never escapes it.
 */
export function pkceRequirement(clients: readonly ConfigClient[]): (client: PolicyClient) => boolean {
  const exempt = new Set(clients.filter((c) => !c.requirePkce && c.clientSecret).map((c) => c.clientId));
  return (client) => client.clientAuthMethod === 'none' || !(exempt.has(client.clientId) || !storedRules(client).requirePkce);
}

/**
 * The RFC 8707 resource of a pre-registered client that sends none (config `resource: /api`,
 * or `clients add --resource /api`), as an absolute URL under the issuer. Both secret methods work for config clients: oidc-provider 9 accepts
 * client_secret_basic and client_secret_post for a client registered with either
 * (lib/shared/client_auth.js), which is what ChatGPT Actions' two "token exchange methods" need.
 */
export function defaultResourceOf(
  clients: readonly ConfigClient[],
  issuer: string,
  protectedUrls: ReadonlySet<string>,
): (client: PolicyClient | undefined) => string | undefined {
  const byClient = new Map<string, string>();
  for (const c of clients) {
    if (c.resource === undefined) continue;
    const url = clientResourceUrl(c.resource, issuer);
    // Said at start, not at the first sign-in (RFC 8707 invalid_target): a typo, or /api with openapi.enabled false.
    if (!protectedUrls.has(url)) throw new Error(`auth.clients (${c.clientId}): resource ${c.resource} is not a protected resource of this gateway`);
    byClient.set(c.clientId, url);
  }
  return (client) => {
    if (client === undefined) return undefined;
    const configured = byClient.get(client.clientId);
    if (configured !== undefined) return configured;
    const stored = storedRules(client).resource;
    if (stored === undefined) return undefined;
    const url = clientResourceUrl(stored, issuer);
    // A stored client is read at each request (the CLI checked it against the config of its day).
    if (!protectedUrls.has(url)) throw new errors.InvalidTarget(`this client's resource ${stored} is not a protected resource of this gateway`);
    return url;
  };
}

/**
 * A client's `clientCredentialsResources` (config) or `--client-credentials-resource` list
 * (`clients add|update`, stored) as absolute URLs under the issuer, each with the resources
 * that open the same server and surface (a token for `/a/mcp` opens `/a/sse` too, decision
 * 0007; `/mcp` likewise `/sse` and `/mcp/sse`), so a client may name any of them. An
 * environment-only setup lists every route of its one server: the older proxy's machine token
 * opened them all. A config client's list is checked at start like `resource`; a stored
 * client's is read at each request (the CLI checked it against the config of its day), and
 * one that names a resource this gateway no longer protects gives nothing (invalid_target at
 * the token endpoint; its tokens open nothing), as a stored `resource` does.
 */
export function clientCredentialsResourcesOf(
  clients: readonly ConfigClient[],
  issuer: string,
  resources: readonly ResolvedResource[],
): (client: PolicyClient | undefined) => readonly string[] | undefined {
  const same = (a: ResolvedResource, b: ResolvedResource) => a.server === b.server && a.surface === b.surface;
  const resolve = (names: readonly string[]): { urls: string[]; unknown: string[] } => {
    const listed = names.map((r) => ({ name: r, resource: resources.find((p) => p.url === clientResourceUrl(r, issuer)) }));
    const unknown = listed.filter((l) => l.resource === undefined).map((l) => l.name);
    const urls = listed.flatMap((l) => (l.resource ? [l.resource.url, ...resources.filter((r) => same(r, l.resource!)).map((r) => r.url)] : []));
    return { urls: [...new Set(urls)], unknown };
  };
  const byClient = new Map<string, readonly string[]>();
  for (const c of clients) {
    if (c.clientCredentialsResources === undefined) continue;
    const { urls, unknown } = resolve(c.clientCredentialsResources);
    if (unknown.length) throw new Error(`auth.clients (${c.clientId}): clientCredentialsResources ${unknown.join(', ')}: not a protected resource of this gateway`);
    byClient.set(c.clientId, urls);
  }
  return (client) => {
    if (client === undefined) return undefined;
    const configured = byClient.get(client.clientId);
    if (configured !== undefined) return configured;
    const stored = storedRules(client).clientCredentialsResources;
    if (stored === undefined || stored.length === 0) return undefined;
    const { urls, unknown } = resolve(stored);
    if (unknown.length) {
      throw new errors.InvalidTarget(`this client's client_credentials resources ${unknown.join(', ')}: not a protected resource of this gateway`);
    }
    return urls;
  };
}

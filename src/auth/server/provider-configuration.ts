// The oidc-provider instance: its configuration (clients, scopes, lifetimes, interaction policy,
// resource indicators, registration) and the middleware we put around its own handlers.
import { randomBytes } from 'node:crypto';
import type { Configuration } from 'oidc-provider';
import type { ResolvedConfig } from '../../config/index.js';
import type { Logger } from '../../observability/index.js';
import type { Federation } from '../providers/index.js';
import { renderErrorPage, PAGE_HEADERS } from '../../web/index.js';
import { applyClientPolicy, clientCredentialsResourcesOf, clientCredentialsTarget, defaultResourceOf, keepsToSelfRegisteredGrants, pkceRequirement, staticClient, STORED_RULES } from './client-policy.js';
import type { ConsentMemory } from './interactions.js';
import type { ServerKeys } from './keys.js';
import type { AdapterFactory } from './memory-adapter.js';
import { errors, interactionPolicy, Provider } from './oidc-provider-module.js';
import { ROUTES } from './provider-routes.js';
import { createRedirectPolicy, type RedirectPolicy } from './redirect-policy.js';
import { sameSuccessorDuringGrace, SUCCESSOR_MODEL } from './refresh-grace.js';
import { inDescription, listResources, RESOURCE_SCOPE, type ResolvedResource } from './resources.js';
import type { UserDirectory } from './users.js';

const GRANT_TTL_MIN = 14 * 86_400;
// Self-registered clients get the code flow and nothing else (LIBRARY-NOTES: open DCR accepts any grant).
const POLICY_PROPERTY = 'gatehouse_policy';

/** Lifetimes in seconds, as oidc-provider counts them. */
export interface TokenLifetimes {
  readonly accessTtl: number;
  readonly refreshTtl: number;
  /** A grant outlives its refresh tokens, and lasts at least two weeks (remembered consent). */
  readonly grantTtl: number;
}

export function tokenLifetimes(auth: Pick<ResolvedConfig['auth'], 'accessTokenTtl' | 'refreshTokenTtl'>): TokenLifetimes {
  const accessTtl = Math.max(1, Math.round(auth.accessTokenTtl / 1000));
  const refreshTtl = Math.max(1, Math.round(auth.refreshTokenTtl / 1000));
  return { accessTtl, refreshTtl, grantTtl: Math.max(refreshTtl, GRANT_TTL_MIN) };
}

/** What the provider checks clients against, from the config (made first: a bad `resource` stops the start here). */
export interface ClientRules {
  readonly redirectPolicy: RedirectPolicy;
  readonly pkceRequired: ReturnType<typeof pkceRequirement>;
  readonly clientResource: ReturnType<typeof defaultResourceOf>;
  readonly clientCredentialsResources: ReturnType<typeof clientCredentialsResourcesOf>;
}

/**
 * Where a client_credentials token that named no resource keeps the other resources of its
 * client's `clientCredentialsResources` (its `aud` is the first: oidc-provider allows one). The
 * bearer check reads them as audiences too.
 */
export const EXTRA_AUDIENCES = 'gatehouse_audiences';

export function clientRules(auth: ResolvedConfig['auth'], issuer: string, resources: readonly ResolvedResource[]): ClientRules {
  return {
    redirectPolicy: createRedirectPolicy(auth.registration.redirectPresets, auth.registration.allowedRedirectUris),
    pkceRequired: pkceRequirement(auth.clients),
    clientResource: defaultResourceOf(auth.clients, issuer, new Set(resources.map((r) => r.url))),
    clientCredentialsResources: clientCredentialsResourcesOf(auth.clients, issuer, resources),
  };
}

export interface ProviderSetup {
  readonly issuer: string;
  readonly auth: ResolvedConfig['auth'];
  readonly resources: readonly ResolvedResource[];
  /** Already wrapped for the refresh grace (withRefreshGrace). */
  readonly adapterFactory: AdapterFactory;
  readonly refreshGrace: number;
  readonly keys: ServerKeys;
  readonly users: UserDirectory;
  readonly federation: Federation | undefined;
  readonly consentStore: ConsentMemory | undefined;
  readonly lifetimes: TokenLifetimes;
  readonly rules: ClientRules;
  readonly logger: Logger;
  readonly fetch?: typeof globalThis.fetch | undefined;
  readonly clientSecretMatches?: ((stored: string | undefined, presented: string) => boolean) | undefined;
  /** What to add to an `invalid_redirect_uri` page for this client (an environment-only setup names its variable). */
  readonly redirectAdvice?: ((clientId: string | undefined, redirectUri: unknown) => string | undefined) | undefined;
}

export function createProvider(options: ProviderSetup): Provider {
  const { issuer, auth, resources, adapterFactory, refreshGrace, keys, users, federation, consentStore, logger } = options;
  const { accessTtl, refreshTtl, grantTtl } = options.lifetimes;
  const { redirectPolicy, pkceRequired, clientResource, clientCredentialsResources } = options.rules;
  const byUrl = new Map(resources.map((r) => [r.url, r]));
  // The issuer's path (`/proxy` for https://h/proxy, else ''): the provider is served under it
  // (http/base-path.ts), so its pages, redirects and cookies name it.
  const mount = new URL(issuer).pathname.replace(/\/+$/, '');
  const checkClientCredentialsTarget = clientCredentialsTarget(clientResource, clientCredentialsResources);
  // A client_credentials request that names no resource, from a client with
  // `clientCredentialsResources`, is for all of them: said when the default resource is chosen
  // (the token endpoint then sets params.resource to it), read when the token is minted.
  const forAllListed = new WeakMap<object, readonly string[]>();
  const untargetedMachineToken = (ctx: { oidc?: { params?: Record<string, unknown> } }, client: Parameters<typeof clientCredentialsResources>[0]) => {
    const all = ctx.oidc?.params?.grant_type === 'client_credentials' && ctx.oidc.params.resource === undefined ? clientCredentialsResources(client) : undefined;
    if (all !== undefined) forAllListed.set(ctx, all);
    return all?.[0];
  };

  const policy = interactionPolicy.base();
  // Without this, a request whose scopes are all granted (or empty) would skip the consent page
  // the first time a user meets a client.
  policy.get('consent')!.checks.add(
    new interactionPolicy.Check('gatehouse_first_consent', 'the user has not approved this client yet', (ctx) => {
      const grant = ctx.oidc.entities.Grant as { jti?: string } | undefined;
      return !ctx.oidc.result?.consent && !grant?.jti;
    }),
  );
  // A federated session does not carry over to a new authorization request: the person signs in
  // at the provider again, so the allow rules in force decide every new grant (0008).
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('gatehouse_federated_reauth', 'federated sign-ins are checked against the allow rules each time', (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      // A resumed interaction (after this request's own sign-in or consent) carries its Interaction.
      return accountId !== undefined && federation?.knows(accountId) === true && !ctx.oidc.entities.Interaction;
    }),
  );

  const configuration: Configuration = {
    adapter: adapterFactory,
    clients: auth.clients.map((c) => staticClient(c)),
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    },
    responseTypes: ['code'],
    jwks: keys.jwks,
    // The session cookie is the issuer's (its path); the interaction cookies get their pages' paths.
    cookies: { keys: [...keys.cookieKeys], ...(mount ? { long: { path: mount } } : {}) },
    scopes: ['openid', 'offline_access', RESOURCE_SCOPE],
    claims: { openid: ['sub'] },
    routes: ROUTES,
    pkce: { required: (_ctx, client) => pkceRequired(client) },
    // Federated identities (github|12345) are accounts while their provider is configured.
    findAccount: async (_ctx, sub) => (federation?.knows(sub) || (await users.exists(sub)) ? { accountId: sub, claims: () => ({ sub }) } : undefined),
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    expiresWithSession: () => false,
    loadExistingGrant: async (ctx) => {
      const { Grant } = ctx.oidc.provider;
      const fromResult = ctx.oidc.result?.consent?.grantId;
      if (fromResult) return Grant.find(fromResult);
      if (auth.consent === 'always' || !ctx.oidc.client || !ctx.oidc.session?.accountId) return undefined;
      const clientId = ctx.oidc.client.clientId;
      const accountId = ctx.oidc.session.accountId;
      const candidates = [ctx.oidc.session.grantIdFor(clientId), await consentStore?.recall(accountId, clientId)];
      for (const id of candidates) {
        if (!id) continue;
        const grant = await Grant.find(id);
        if (grant && grant.accountId === accountId && grant.clientId === clientId) return grant;
      }
      return undefined;
    },
    // The rest of such a token's resources (EXTRA_AUDIENCES), stored with the opaque token.
    extraTokenClaims: (ctx, token) => {
      const all = token.kind === 'ClientCredentials' ? forAllListed.get(ctx) : undefined;
      return all && all.length > 1 ? { [EXTRA_AUDIENCES]: all.slice(1) } : undefined;
    },
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      AuthorizationCode: 60,
      IdToken: accessTtl,
      RefreshToken: refreshTtl,
      Grant: grantTtl,
      Interaction: 30 * 60,
      Session: 14 * 86_400,
    },
    interactions: {
      policy,
      url: (_ctx, interaction) => `${mount}/${interaction.prompt.name === 'login' ? 'login' : 'consent'}/${interaction.uid}`,
    },
    extraClientMetadata: {
      // STORED_RULES: what `gatehouse clients add` stores for `resource` and `requirePkce`; checked in applyClientPolicy.
      properties: [POLICY_PROPERTY, ...STORED_RULES],
      validator: (ctx, key, _value, metadata) => {
        if (key !== POLICY_PROPERTY) return;
        applyClientPolicy(ctx, metadata, redirectPolicy);
      },
    },
    clientBasedCORS: (_ctx, _origin, client) => client.clientAuthMethod === 'none',
    renderError: (ctx, out, error) => {
      ctx.set(PAGE_HEADERS);
      ctx.type = 'html';
      const description = typeof out.error_description === 'string' ? out.error_description : 'the request could not be completed';
      const advice = out.error === 'invalid_redirect_uri' ? options.redirectAdvice?.(ctx.oidc?.client?.clientId, ctx.oidc?.params?.redirect_uri) : undefined;
      ctx.body = renderErrorPage({ title: 'Sign-in failed', message: `${String(out.error)}: ${description}${advice ? `. ${advice}` : ''}` });
      if (ctx.status >= 500) logger.error({ err: error.message }, 'authorization server error');
    },
    features: {
      devInteractions: { enabled: false },
      dPoP: { enabled: false },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      // oidc-provider enables PAR by default. MCP clients do not use it, it would bypass the
      // authorize-time defaults (withDefaultScope) and it has no rate limit here: off, not
      // advertised (providerPaths would answer 404 to it anyway).
      pushedAuthorizationRequests: { enabled: false },
      clientCredentials: { enabled: true },
      // Hex ids: one that starts with "-" could not be named on the command line (gatehouse clients remove ID).
      registration: { enabled: auth.registration.dynamic, initialAccessToken: false, idFactory: () => randomBytes(16).toString('hex') },
      // RFC 7662 §2.1/§4: a client learns about its own tokens only. There is no separate resource
      // server here (the gateway checks tokens itself), so no client needs anyone else's; a self-registered
      // confidential client must not be able to probe tokens it found (active, user, resource, expiry).
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf ?? untargetedMachineToken(ctx, client) ?? clientResource(client) ?? refuseUntargetedClientCredentials(ctx, resources),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => {
          const resource = byUrl.get(indicator);
          // RFC 8707 §2: a resource we do not protect is an invalid target; the description names those we do.
          if (!resource) throw new errors.InvalidTarget(`unknown resource ${inDescription(indicator)}; this gateway protects ${listResources(resources, indicator)}`);
          checkClientCredentialsTarget(ctx.oidc.params?.grant_type, client, indicator);
          // RFC 6749 §3.3: a request without scope gets the default one, as the code flow does
          // (withDefaultScope). Runs before the client_credentials handler reads the scope; without it
          // the token would carry no scope and every route would refuse it (403 insufficient_scope).
          const params = ctx.oidc.params;
          if (params?.grant_type === 'client_credentials' && (typeof params.scope !== 'string' || params.scope.trim() === '')) params.scope = RESOURCE_SCOPE;
          return { scope: RESOURCE_SCOPE, audience: resource.url, accessTokenFormat: 'opaque', accessTokenTTL: accessTtl };
        },
      },
      clientIdMetadataDocument: auth.registration.clientMetadataDocuments
        ? {
            enabled: true,
            ack: 'draft-02',
            // Held to what DCR allows: the code flow only (no client_credentials for whoever publishes a document).
            allowClient: (_ctx, client) => keepsToSelfRegisteredGrants(client) && (client.redirectUris ?? []).every((uri) => redirectPolicy.allows(uri)),
          }
        : { enabled: false },
    },
  };
  if (options.fetch) (configuration as Record<string, unknown>).fetch = options.fetch;

  const provider = new Provider(issuer, configuration);
  // Our listener overwrites the forwarding headers with the issuer's, so URLs always name the issuer.
  provider.proxy = true;
  // Its requests reach it with the issuer's path taken off (`/oauth/token`); oidc-provider builds
  // its endpoint URLs (metadata, the resume after login) from the host and ctx.mountPath.
  if (mount) {
    provider.use(async (ctx, next) => {
      (ctx as { mountPath?: string }).mountPath = mount;
      await next();
    });
  }
  // RFC 6749 §5.2: a grant type the client may not use is unauthorized_client (oidc-provider answers invalid_request).
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
    if (route === 'token' && body?.error === 'invalid_request' && body.error_description === 'requested grant type is not allowed for this client') {
      body.error = 'unauthorized_client';
    }
  });
  // A refresh token used twice inside its grace window gets the first use's successor, kept in the store (refresh-grace.ts).
  provider.use(sameSuccessorDuringGrace(provider, refreshGrace, adapterFactory(SUCCESSOR_MODEL)));
  const matches = options.clientSecretMatches;
  if (matches) {
    // oidc-provider calls this for client_secret_basic / client_secret_post (lib/models/client.js).
    (provider.Client.prototype as unknown as { compareClientSecret(this: { clientSecret?: string }, s: string): boolean }).compareClientSecret =
      function compareClientSecret(this: { clientSecret?: string }, presented: string): boolean {
        return matches(this.clientSecret, presented);
      };
  }
  return provider;
}

/**
 * A client_credentials request that names no resource, from a client with none of its own.
 * RFC 8707 §2 lets an authorization server either use a predefined default resource or refuse
 * a request without one (invalid_target). A client's configured resource (auth.clients[].resource,
 * `clients add --resource`) is that default, applied before we get here. Without one there is
 * no right guess: each protected route is its own audience, and a token for none is refused by
 * every route, so a 200 would only defer the failure to the first call. The MCP authorization
 * spec has clients send `resource` on every token request; refuse at once, naming what to ask
 * for. The code flow is left alone: its resource comes from the authorization request.
 */
function refuseUntargetedClientCredentials(ctx: { oidc?: { params?: Record<string, unknown> } }, resources: readonly ResolvedResource[]): undefined {
  if (ctx.oidc?.params?.grant_type !== 'client_credentials') return undefined;
  throw new errors.InvalidTarget(`say which resource the token is for: send resource=, one of ${listResources(resources)}`);
}

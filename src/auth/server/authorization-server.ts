import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import Provider, { errors, interactionPolicy } from 'oidc-provider';
import type { Configuration } from 'oidc-provider';
import type { ResolvedConfig } from '../../config/index.js';
import type { Authenticator } from '../../http/index.js';
import { createStaticTokenAuthenticator, hasStaticTokens } from '../../http/index.js';
import type { Logger } from '../../observability/index.js';
import { renderErrorPage, PAGE_HEADERS, usePageTemplateDirectory } from '../../web/index.js';
import { createBearerAuthenticator } from './bearer.js';
import { sendJson } from './http-util.js';
import { CALLBACK_PREFIX, configuredFederation, createFederatedLogin } from './federated-login.js';
import { adapterConsentMemory, createInteractionHandler } from './interactions.js';
import { isJsonContentType, jsonTokenRequest, PROVIDER_BODY_LIMIT } from './json-token-request.js';
import { generateServerKeys, type ServerKeys } from './keys.js';
import { createMemoryAdapter, type AdapterFactory } from './memory-adapter.js';
import { sameSuccessorDuringGrace, withRefreshGrace } from './refresh-grace.js';
import { providerContextGate, type ProviderContextGate } from './provider-context.js';
import { applyClientPolicy, clientCredentialsTarget, defaultResourceOf, keepsToSelfRegisteredGrants, pkceRequirement, staticClient, STORED_RULES } from './client-policy.js';
import { createRedirectPolicy } from './redirect-policy.js';
import {
  bearerChallenge,
  protectedResourceMetadata,
  resolveResources,
  RESOURCE_SCOPE,
  type ChallengeError,
  type ProtectedResource,
  type ResolvedResource,
} from './resources.js';
import { configUserDirectory, type UserDirectory } from './users.js';

export interface AuthorizationServerOptions {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  /** Protected MCP endpoints: `{ path: '/a/mcp', server: 'a' }`, `{ path: '/mcp' }` (the aggregate), SSE routes. */
  readonly resources: readonly ProtectedResource[];
  /** oidc-provider storage: a factory `(modelName) => Adapter`. Default: in memory (lost on restart). */
  readonly adapter?: AdapterFactory | undefined;
  /** Seconds a used refresh token may be used again, for concurrent refreshes (default 10; 0: none). */
  readonly refreshGraceSeconds?: number | undefined;
  /** Signing JWKs and cookie keys. Default: generated in memory (sessions and ID tokens die on restart). */
  readonly keys?: ServerKeys | undefined;
  /** Local accounts. Default: `config.auth.users`. */
  readonly users?: UserDirectory | undefined;
  /** Static bearer tokens accepted beside OAuth. Default: `auth.tokens` and per-server tokens from config. */
  readonly staticTokens?: Authenticator | undefined;
  /** How long a verified access token is trusted without a store lookup (default 10 s). */
  readonly tokenCacheMs?: number | undefined;
  /** Replaces the fetch the provider uses for client metadata documents (tests; its SSRF guard is then yours). */
  readonly fetch?: typeof globalThis.fetch | undefined;
  /**
   * How a presented client secret is checked against the stored one: the store keeps only a
   * hash of client secrets (store/codec.ts). Default: oidc-provider's own comparison.
   */
  readonly clientSecretMatches?: ((stored: string | undefined, presented: string) => boolean) | undefined;
}

export interface AuthorizationServer {
  /** The issuer: `publicUrl`, else `http://{listen}`. */
  readonly issuer: string;
  readonly resources: readonly ResolvedResource[];
  /** Handles the AS's routes on raw Node req/res; false for any other path. */
  listener(req: IncomingMessage, res: ServerResponse): boolean;
  /** Verifies bearer tokens for the MCP routes (static tokens, then our opaque access tokens). */
  readonly authenticator: Authenticator;
  /** The same for the OpenAPI bridge's REST calls: OAuth tokens must be for a REST resource. */
  readonly restAuthenticator: Authenticator;
  /** The WWW-Authenticate value for a protected path; pass `error` only when a token was presented. */
  challenge(resourcePath: string, error?: ChallengeError): string;
  /** The RFC 9728 metadata URL of a protected path. */
  resourceMetadataUrl(resourcePath: string): string;
  /** The oidc-provider instance (for `tokens revoke` and such). */
  readonly provider: Provider;
  close(): Promise<void>;
}

const ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  registration: '/oauth/register',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  jwks: '/oauth/jwks',
  userinfo: '/oauth/userinfo',
  end_session: '/oauth/logout',
  pushed_authorization_request: '/oauth/par',
  device_authorization: '/oauth/device/auth',
  code_verification: '/oauth/device',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
  credential: '/oauth/credential',
} as const;

const PRM_PATH = '/.well-known/oauth-protected-resource';
const OIDC_DISCOVERY = '/.well-known/openid-configuration';

/**
 * Whether a path is one of the provider's routes here, spelled exactly. oidc-provider's router
 * ignores letter case and drops one trailing slash (lib/helpers/router.js), while the guards in
 * front of it (`registration.allowedIps`, the rate limits: http/auth-routes.ts) and every other
 * check compare paths as written; so `/oauth/reGister` or `/oauth/token/` would reach the
 * handlers past them. Every other spelling is answered 404 before the provider sees it.
 */
function providerPaths(registration: boolean): (path: string) => boolean {
  const exact = new Set<string>([ROUTES.authorization, ROUTES.token, ROUTES.revocation, ROUTES.introspection, ROUTES.jwks, OIDC_DISCOVERY]);
  if (registration) exact.add(ROUTES.registration);
  // The resume route after login and consent (`/oauth/authorize/:uid`), and RFC 7592 client reads (`/oauth/register/:id`).
  const resume = new RegExp(`^${ROUTES.authorization}/[A-Za-z0-9_-]+$`);
  const clientRead = new RegExp(`^${ROUTES.registration}/[^/]+$`);
  return (path) => exact.has(path) || resume.test(path) || (registration && clientRead.test(path));
}
const GRANT_TTL_MIN = 14 * 86_400;
// Self-registered clients get the code flow and nothing else (LIBRARY-NOTES: open DCR accepts any grant).
const POLICY_PROPERTY = 'gatehouse_policy';

export function issuerFor(config: Pick<ResolvedConfig, 'publicUrl' | 'listen'>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  let host = config.listen.host;
  if (host === '0.0.0.0' || host === '::' || host === '') host = 'localhost';
  if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${config.listen.port}`;
}

export function createAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  // A promise, so that persisted keys and store-backed setup can join later without changing callers.
  return providerContextGate(options.logger).then((context) => buildAuthorizationServer(options, context));
}

function buildAuthorizationServer(options: AuthorizationServerOptions, context: ProviderContextGate): AuthorizationServer {
  const { config, logger } = options;
  // Ejected login/consent/error templates (gatehouse templates eject), re-read when they change.
  usePageTemplateDirectory(join(config.dataDir, 'templates'), logger.child({ component: 'templates' }));
  const issuer = issuerFor(config);
  const issuerUrl = new URL(issuer);
  if (issuerUrl.pathname !== '/' && issuerUrl.pathname !== '') {
    throw new Error(`publicUrl with a path (${issuerUrl.pathname}) is not supported by the authorization server yet`);
  }
  const resources = resolveResources(issuer, options.resources);
  const byUrl = new Map(resources.map((r) => [r.url, r]));
  const refreshGrace = options.refreshGraceSeconds ?? 10;
  const adapterFactory = withRefreshGrace(options.adapter ?? createMemoryAdapter(), refreshGrace);
  const keys = options.keys ?? generateServerKeys();
  const users = options.users ?? configUserDirectory(config);
  const auth = config.auth;
  const accessTtl = Math.max(1, Math.round(auth.accessTokenTtl / 1000));
  const refreshTtl = Math.max(1, Math.round(auth.refreshTokenTtl / 1000));
  const grantTtl = Math.max(refreshTtl, GRANT_TTL_MIN);
  const redirectPolicy = createRedirectPolicy(auth.registration.redirectPresets, auth.registration.allowedRedirectUris);
  const pkceRequired = pkceRequirement(auth.clients);
  const clientResource = defaultResourceOf(auth.clients, issuer, new Set(byUrl.keys()));
  const checkClientCredentialsTarget = clientCredentialsTarget(clientResource);
  const consentStore = auth.consent === 'once' ? adapterConsentMemory(adapterFactory('GatehouseConsent'), grantTtl) : undefined;
  const federation = configuredFederation(config, issuer, adapterFactory('GatehouseFederatedLogin'), logger);
  // A provider id re-pointed at another issuer would merge identities: its sign-ins are refused; say so at start.
  federation?.checkIssuers().then(
    (problems) => problems.forEach((message) => logger.error({ event: 'provider_issuer_changed' }, message)),
    (err: unknown) => logger.warn({ event: 'provider_issuer_check_failed', err: (err as Error).message }, 'could not check the providers\' recorded issuers'),
  );

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
    cookies: { keys: [...keys.cookieKeys] },
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
      url: (_ctx, interaction) => `/${interaction.prompt.name === 'login' ? 'login' : 'consent'}/${interaction.uid}`,
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
      ctx.body = renderErrorPage({ title: 'Sign-in failed', message: `${String(out.error)}: ${description}` });
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
        defaultResource: (ctx, client, oneOf) => oneOf ?? clientResource(client) ?? refuseUntargetedClientCredentials(ctx, resources),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, indicator, client) => {
          const resource = byUrl.get(indicator);
          // RFC 8707 §2: a resource we do not protect is an invalid target.
          if (!resource) throw new errors.InvalidTarget(`unknown resource ${indicator}`);
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
  // RFC 6749 §5.2: a grant type the client may not use is unauthorized_client (oidc-provider answers invalid_request).
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
    const route = (ctx as { oidc?: { route?: string } }).oidc?.route;
    if (route === 'token' && body?.error === 'invalid_request' && body.error_description === 'requested grant type is not allowed for this client') {
      body.error = 'unauthorized_client';
    }
  });
  // A refresh token used twice inside its grace window gets the first use's successor (refresh-grace.ts).
  provider.use(sameSuccessorDuringGrace(provider, refreshGrace));
  const matches = options.clientSecretMatches;
  if (matches) {
    // oidc-provider calls this for client_secret_basic / client_secret_post (lib/models/client.js).
    (provider.Client.prototype as unknown as { compareClientSecret(this: { clientSecret?: string }, s: string): boolean }).compareClientSecret =
      function compareClientSecret(this: { clientSecret?: string }, presented: string): boolean {
        return matches(this.clientSecret, presented);
      };
  }

  const bearerFor = (surface: 'mcp' | 'rest') => createBearerAuthenticator({
    surface,
    provider,
    resources,
    allServers: config.servers.map((s) => s.name),
    // None configured: nothing to try before the token lookup (it would refuse every request).
    staticTokens: options.staticTokens ?? (hasStaticTokens(config) ? createStaticTokenAuthenticator(config) : undefined),
    tokenInUrl: auth.tokenInUrl,
    cacheMs: options.tokenCacheMs ?? 10_000,
    logger,
  });
  const bearer = bearerFor('mcp');
  const restBearer = bearerFor('rest');
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => [bearer, restBearer].forEach((b) => b.forgetGrant(grantId)));
  provider.on('access_token.destroyed', (token: { jti: string }) => [bearer, restBearer].forEach((b) => b.forgetToken(token.jti)));
  provider.on('client_credentials.destroyed', (token: { jti: string }) => [bearer, restBearer].forEach((b) => b.forgetToken(token.jti)));
  provider.on('server_error', (_ctx: unknown, err: Error) => logger.error({ err: err.message }, 'authorization server error'));

  const federatedLogin = federation ? createFederatedLogin({ provider, federation, logger }) : undefined;
  const interact = createInteractionHandler({
    provider,
    users,
    csrfKey: createHash('sha256').update(`csrf\n${keys.cookieKeys[0] ?? ''}`).digest('base64url'),
    consentStore,
    logger,
    federatedLogin,
  });
  const callback = provider.callback();

  const toProvider = (req: IncomingMessage, res: ServerResponse): void => {
    req.headers['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1);
    req.headers['x-forwarded-host'] = issuerUrl.host;
    delete req.headers.forwarded;
    context.around(() => callback(req, res)).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'authorization server error');
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
  };

  // A JSON token request reaches the provider as the form it stands for (json-token-request.ts),
  // held to the provider's own body limit or the gateway's, whichever is smaller.
  const jsonBodyLimit = Math.min(PROVIDER_BODY_LIMIT, config.maxBodySize);
  const fromJson = (req: IncomingMessage, res: ServerResponse): void => {
    jsonTokenRequest(req, jsonBodyLimit).then(
      (read) => {
        if (read.ok) {
          toProvider(read.request, res);
          return;
        }
        // RFC 6749 §5.2, with §5.1's no-store like every token endpoint answer.
        sendJson(res, 400, { error: 'invalid_request', error_description: read.description }, {
          'cache-control': 'no-store',
          ...(read.close ? { connection: 'close' } : {}),
        });
      },
      (err: unknown) => {
        // The client went away while sending: nobody is left to answer.
        logger.debug({ err: (err as Error).message }, 'token request body not read');
        res.destroy();
      },
    );
  };

  const metadataFor = (path: string): ResolvedResource | undefined => {
    if (path === '' || path === '/') return resources.find((r) => r.server === undefined && r.path === '/mcp') ?? resources[0];
    return resources.find((r) => new URL(r.url).pathname === path);
  };

  const serveResourceMetadata = (req: IncomingMessage, res: ServerResponse, rest: string): void => {
    const cors = { 'access-control-allow-origin': '*', 'cache-control': 'max-age=300' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'mcp-protocol-version' });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
      return;
    }
    const resource = metadataFor(rest);
    if (!resource) {
      sendJson(res, 404, { error: 'not_found', error_description: 'no protected resource at this path' }, cors);
      return;
    }
    sendJson(res, 200, protectedResourceMetadata(resource, issuer), cors);
  };

  const isProviderPath = providerPaths(auth.registration.dynamic);
  const listener = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q);
    if (federatedLogin && path.startsWith(CALLBACK_PREFIX)) {
      federatedLogin.callback(req, res).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'federated sign-in failed');
        if (!res.headersSent) {
          res.writeHead(500, PAGE_HEADERS);
          res.end(renderErrorPage({ title: 'Something went wrong', message: 'Go back to your app and try again.' }));
        }
      });
      return true;
    }
    if (path.startsWith('/oauth/') || path === OIDC_DISCOVERY) {
      if (!isProviderPath(path)) {
        sendJson(res, 404, { error: 'not_found', error_description: 'no such endpoint (the authorization server\'s paths are case-sensitive, without a trailing slash)' });
        return true;
      }
      if (path === ROUTES.authorization && req.method === 'GET') req.url = withDefaultScope(path, query);
      if (path === ROUTES.token && req.method === 'POST' && isJsonContentType(req.headers['content-type'])) {
        fromJson(req, res);
        return true;
      }
      toProvider(req, res);
      return true;
    }
    if (path === '/.well-known/oauth-authorization-server') {
      // RFC 8414 metadata: the same document as OIDC discovery.
      req.url = `${OIDC_DISCOVERY}${query}`;
      toProvider(req, res);
      return true;
    }
    if (path === PRM_PATH || path.startsWith(`${PRM_PATH}/`)) {
      serveResourceMetadata(req, res, path.slice(PRM_PATH.length));
      return true;
    }
    const page = /^\/(login|consent)(?:\/([A-Za-z0-9_-]{1,64}))?\/?$/.exec(path);
    if (page) {
      const kind = page[1] as 'login' | 'consent';
      const uid = page[2];
      if (!uid) {
        res.writeHead(400, PAGE_HEADERS);
        res.end(renderErrorPage({ title: 'Nothing to do here', message: 'Sign-in starts from your app: connect it to this server and it will bring you here.' }));
        return true;
      }
      interact(req, res, kind, uid).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'interaction failed');
        if (!res.headersSent) {
          res.writeHead(500, PAGE_HEADERS);
          res.end(renderErrorPage({ title: 'Something went wrong', message: 'Go back to your app and try again.' }));
        }
      });
      return true;
    }
    return false;
  };

  const resourceMetadataUrl = (resourcePath: string): string =>
    resources.find((r) => r.path === resourcePath)?.metadataUrl ?? `${issuerUrl.origin}${PRM_PATH}${resourcePath}`;

  return {
    issuer,
    resources,
    listener,
    authenticator: bearer,
    restAuthenticator: restBearer,
    challenge: (resourcePath, error) => bearerChallenge(resourceMetadataUrl(resourcePath), error),
    resourceMetadataUrl,
    provider,
    close: () => Promise.resolve(),
  };
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
  const urls = resources.map((r) => r.url);
  const shown = urls.length > 5 ? `${urls.slice(0, 5).join(', ')}, ... (${urls.length} in all)` : urls.join(', ');
  throw new errors.InvalidTarget(`say which resource the token is for: send resource=, one of ${shown}`);
}

/**
 * Most MCP clients send no scope; the resource's scope is what they need (and what consent shows).
 * An empty `scope=` counts as none: ChatGPT Actions send that when the Scope field is left blank.
 */
function withDefaultScope(path: string, query: string): string {
  const params = new URLSearchParams(query);
  if ((params.get('scope') ?? '').trim() !== '' || params.has('request_uri') || params.has('request')) return `${path}${query}`;
  params.set('scope', RESOURCE_SCOPE);
  return `${path}?${params.toString()}`;
}

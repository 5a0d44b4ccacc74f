// The authorization server as the gateway sees it: it builds the oidc-provider instance
// (provider-configuration.ts) and the Node listener in front of it (authorization-listener.ts)
// from the config, and the bearer authenticators that check its tokens on the MCP and REST routes.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type Provider from 'oidc-provider';
import { environmentRedirectAdvice, issuerFor, type ResolvedConfig } from '../../config/index.js';
import type { Authenticator } from '../../http/index.js';
import { createStaticTokenAuthenticator, hasStaticTokens } from '../../http/index.js';
import type { Logger } from '../../observability/index.js';
import { usePageTemplateDirectory } from '../../web/index.js';
import { createAuthorizationListener } from './authorization-listener.js';
import { createBearerAuthenticator } from './bearer.js';
import { configuredFederation, createFederatedLogin } from './federated-login.js';
import { adapterConsentMemory, createInteractionHandler } from './interactions.js';
import { generateServerKeys, type ServerKeys } from './keys.js';
import { createMemoryAdapter, type AdapterFactory } from './memory-adapter.js';
import { takeRuntimeNotice } from './oidc-provider-module.js';
import { providerContextGate, type ProviderContextGate } from './provider-context.js';
import { clientRules, createProvider, tokenLifetimes } from './provider-configuration.js';
import { PRM_PATH } from './provider-routes.js';
import { unreachableIssuerWarning } from './public-url-warnings.js';
import { withRefreshGrace } from './refresh-grace.js';
import { bearerChallenge, resolveResources, type ChallengeError, type ProtectedResource, type ResolvedResource } from './resources.js';
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
  /** Epoch milliseconds by which the refresh grace window is judged (tests move it with the store's clock). */
  readonly now?: (() => number) | undefined;
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

export function createAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
  // A promise, so that persisted keys and store-backed setup can join later without changing callers.
  return providerContextGate(options.logger).then((context) => buildAuthorizationServer(options, context));
}

function buildAuthorizationServer(options: AuthorizationServerOptions, context: ProviderContextGate): AuthorizationServer {
  const { config, logger } = options;
  // Once per process, in our log format (runtime-notice.ts); it runs on Node 20 all the same.
  const notice = takeRuntimeNotice();
  if (notice !== undefined) logger.warn({ event: 'unsupported_runtime', node: process.version }, `oidc-provider: ${notice}`);
  // Ejected login/consent/error templates (gatehouse templates eject), re-read when they change.
  // Logged through the server's own logger: serve's already carries `component: 'oauth'`, and a
  // pino child adds a key it binds again rather than replacing it (two `component` members in one
  // line, which JSON leaves undefined: RFC 8259 §4). Its lines say "page template" and name the file.
  usePageTemplateDirectory(join(config.dataDir, 'templates'), logger);
  const issuer = issuerFor(config);
  // A wildcard bind without publicUrl: clients elsewhere are given a localhost issuer; say what to set.
  const unreachable = unreachableIssuerWarning(config, issuer);
  if (unreachable !== undefined) logger.warn({ event: 'issuer_not_public', issuer }, unreachable);
  // A publicUrl with a path (`https://h/proxy`) is the issuer as it is: every route is served under
  // that path too (http/base-path.ts), and every URL and cookie path the server gives names it.
  const issuerUrl = new URL(issuer);
  const resources = resolveResources(issuer, options.resources);
  const refreshGrace = options.refreshGraceSeconds ?? 10;
  const now = options.now ?? Date.now;
  const adapterFactory = withRefreshGrace(options.adapter ?? createMemoryAdapter(now), refreshGrace, () => now() / 1000);
  const keys = options.keys ?? generateServerKeys();
  const users = options.users ?? configUserDirectory(config);
  const auth = config.auth;
  const lifetimes = tokenLifetimes(auth);
  const rules = clientRules(auth, issuer, resources);
  const consentStore = auth.consent === 'once' ? adapterConsentMemory(adapterFactory('GatehouseConsent'), lifetimes.grantTtl) : undefined;
  const federation = configuredFederation(config, issuer, adapterFactory('GatehouseFederatedLogin'), logger);
  // A provider id re-pointed at another issuer would merge identities: its sign-ins are refused; say so at start.
  federation?.checkIssuers().then(
    (problems) => problems.forEach((message) => logger.error({ event: 'provider_issuer_changed' }, message)),
    (err: unknown) => logger.warn({ event: 'provider_issuer_check_failed', err: (err as Error).message }, 'could not check the providers\' recorded issuers'),
  );

  const provider = createProvider({
    issuer,
    auth,
    resources,
    adapterFactory,
    refreshGrace,
    keys,
    users,
    federation,
    consentStore,
    lifetimes,
    rules,
    logger,
    fetch: options.fetch,
    clientSecretMatches: options.clientSecretMatches,
    redirectAdvice: config.source.format === 'environment' ? environmentRedirectAdvice(config.auth.clients.map((c) => c.clientId)) : undefined,
  });

  const bearerFor = (surface: 'mcp' | 'rest') => createBearerAuthenticator({
    surface,
    provider,
    resources,
    allServers: config.servers.map((s) => s.name),
    // None configured: nothing to try before the token lookup (it would refuse every request).
    staticTokens: options.staticTokens ?? (hasStaticTokens(config) ? createStaticTokenAuthenticator(config) : undefined),
    tokenInUrl: auth.tokenInUrl,
    cacheMs: options.tokenCacheMs ?? 10_000,
    clientRules: rules,
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
  const listener = createAuthorizationListener({
    issuer,
    provider,
    context,
    resources,
    registration: auth.registration.dynamic,
    maxBodySize: config.maxBodySize,
    interact,
    federatedLogin,
    logger,
  });

  const resourceMetadataUrl = (resourcePath: string): string =>
    resources.find((r) => r.path === resourcePath)?.metadataUrl ?? `${issuerUrl.origin}${PRM_PATH}${issuerUrl.pathname.replace(/\/+$/, '')}${resourcePath}`;

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

import {
  auth,
  AuthorizationServerMismatchError,
  ClientCredentialsProvider,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  PrivateKeyJwtProvider,
  type AuthProvider,
  type FetchLike,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';

type UnauthorizedContext = Parameters<NonNullable<AuthProvider['onUnauthorized']>>[0];

import type { Logger } from '../../observability/index.js';
import { authMethodOf, labelledFetch, secretClientAuthentication, withAudience, type AuthStyle } from './token-request.js';
import { noTracer, traceStep, type Tracer } from './trace.js';

export interface MachineSessionOptions {
  /** The MCP server (the protected resource). */
  readonly serverUrl: string;
  readonly clientId: string;
  /** client_secret_basic / client_secret_post (the authorization server's metadata decides, else `authStyle`). */
  readonly clientSecret?: string | undefined;
  /** How the secret is sent when the metadata names no method, or names this one among others (token-request.ts). */
  readonly authStyle?: AuthStyle | undefined;
  /** An `audience` parameter on each token request (token-request.ts withAudience). */
  readonly audience?: string | undefined;
  /** private_key_jwt (RFC 7523 §2.2) instead of a secret. */
  readonly privateKey?: { readonly key: string | Record<string, unknown>; readonly algorithm: string } | undefined;
  readonly scope?: string | undefined;
  /** RFC 8707 resource indicator instead of the discovered one. */
  readonly resource?: string | undefined;
  /** Only send the credentials to this authorization server; unset, the one discovery finds first (for this object's life). */
  readonly expectedIssuer?: string | undefined;
  /** How the user names the expected issuer (`--expected-issuer`, `servers.NAME.oauth.issuer`), for the warning when none was. */
  readonly expectedIssuerSetting?: string | undefined;
  /**
   * How to move on from the SDK's refusal of another authorization server, when the expected
   * issuer is a binding kept elsewhere (connect's token store, client-binding.ts keptBinding).
   */
  readonly advise?: ((error: AuthorizationServerMismatchError) => Error) | undefined;
  /** `--token-url` / `oauth.tokenUrl`: skip discovery (static-discovery.ts). */
  readonly discovery?: OAuthDiscoveryState | undefined;
  /** For discovery and the token endpoint (already traced, if traces are on). */
  readonly fetchFn?: FetchLike | undefined;
  /** Records one OAuth span per renewal. */
  readonly tracer?: Tracer | undefined;
  readonly logger: Logger;
  readonly clientName?: string;
}

/** A token within this share of its lifetime of expiring (at most 60 s) is renewed ahead. */
const RENEW_SHARE = 0.25;
const RENEW_MAX_MS = 60_000;

/**
 * client_credentials (RFC 6749 §4.4) for one MCP server, as an AuthProvider for the
 * transports: the SDK's ClientCredentialsProvider / PrivateKeyJwtProvider do discovery and
 * the token request; this adds what a long-running client needs: the token is renewed ahead
 * of expiry (in the background while the old one is still good), one renewal at a time, and
 * a 401 renews it (with discovery again, unless the endpoints were given) before the
 * transport's one retry. The credentials go to one authorization server only (SEP-2352), for
 * as long as this object lives (a gateway upstream's: the whole `serve` process; connect's: its
 * run): the expected issuer, else the first one discovery finds. An MCP server that names
 * another one later is refused (AuthorizationServerMismatchError, saying how to move on: a
 * restart, or the expected issuer set), however often discovery runs again.
 */
export class MachineSession implements AuthProvider {
  readonly #o: MachineSessionOptions;
  /** Made at the first renewal, once the issuer its credentials are bound to is known. */
  #provider: OAuthClientProvider | undefined;
  readonly #fetch: FetchLike;
  readonly #tracer: Tracer;
  #discovery: OAuthDiscoveryState | undefined;
  #tokens: StoredOAuthTokens | undefined;
  #obtainedAt = 0;
  #inFlight: Promise<void> | undefined;

  constructor(options: MachineSessionOptions) {
    this.#o = options;
    this.#tracer = options.tracer ?? noTracer;
    // A request that cannot reach the token endpoint says so (token-request.ts).
    this.#fetch = labelledFetch(options.fetchFn);
    this.#discovery = options.discovery;
  }

  async token(): Promise<string | undefined> {
    const now = Date.now();
    if (this.#tokens === undefined || now >= this.#expiresAt()) {
      await this.#renew(false);
    } else if (now >= this.#renewAt()) {
      // Still valid: renew in the background, this request uses the current token.
      this.#renew(false).catch((error: unknown) =>
        this.#o.logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'renewing the access token ahead of expiry failed'),
      );
    }
    return this.#tokens?.access_token;
  }

  async onUnauthorized(ctx: UnauthorizedContext): Promise<void> {
    const { resourceMetadataUrl } = extractWWWAuthenticateParams(ctx.response);
    await this.#renew(true, resourceMetadataUrl);
  }

  /** One renewal at a time: concurrent callers share it. */
  #renew(rediscover: boolean, resourceMetadataUrl?: URL): Promise<void> {
    this.#inFlight ??= traceStep(this.#tracer, 'oauth.client_credentials', () => this.#fetchToken(rediscover, resourceMetadataUrl), { grant: 'client_credentials' }).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #fetchToken(rediscover: boolean, resourceMetadataUrl: URL | undefined): Promise<void> {
    if (rediscover && this.#o.discovery === undefined) this.#discovery = undefined;
    this.#provider ??= this.#bind(await this.#issuer(resourceMetadataUrl));
    const result = await auth(this.#provider, { serverUrl: this.#o.serverUrl, scope: this.#o.scope, resourceMetadataUrl, fetchFn: this.#fetch }).catch((error: unknown) => {
      throw this.#advised(error);
    });
    const tokens = this.#provider.tokens() as StoredOAuthTokens | undefined;
    if (result !== 'AUTHORIZED' || !tokens?.access_token) throw new Error('the authorization server issued no access token');
    this.#tokens = tokens;
    this.#obtainedAt = Date.now();
    this.#o.logger.debug({ expiresIn: tokens.expires_in }, 'client credentials: access token obtained');
  }

  /**
   * The issuer the credentials are for: the one given (or the static endpoints'), else the one
   * discovery finds now. RFC 8414 §3.3: the SDK accepts metadata only when its `issuer` is the
   * identifier it was fetched for, so this names the authorization server the token request
   * goes to. Learnt this way, the first binding is the MCP server's word; no later discovery
   * can send the credentials elsewhere.
   */
  async #issuer(resourceMetadataUrl: URL | undefined): Promise<string> {
    const known = this.#o.expectedIssuer ?? this.#discovery?.authorizationServerMetadata?.issuer;
    if (known !== undefined) return known;
    const info = await discoverOAuthServerInfo(this.#o.serverUrl, { resourceMetadataUrl, fetchFn: this.#fetch });
    this.#discovery = { ...info, resourceMetadataUrl: resourceMetadataUrl?.href };
    // What auth() takes for the issuer when the server published no metadata.
    const issuer = info.authorizationServerMetadata?.issuer ?? info.authorizationServerUrl;
    const how = this.#o.expectedIssuerSetting ?? 'the expected issuer';
    this.#o.logger.warn({ issuer }, `client credentials: no expected issuer given, so they go to the authorization server the MCP server names (${issuer}); set ${how} to choose it yourself`);
    return issuer;
  }

  /** The SDK's refusal of another authorization server, saying how to move on deliberately. */
  #advised(error: unknown): unknown {
    if (!(error instanceof AuthorizationServerMismatchError)) return error;
    if (this.#o.advise !== undefined) return this.#o.advise(error);
    error.message +=
      this.#o.expectedIssuer !== undefined
        ? `. The expected issuer (servers.NAME.oauth.issuer for gatehouse serve, --expected-issuer for connect) names ${JSON.stringify(error.recordedIssuer)}; if the MCP server moved to another authorization server on purpose, set it to that one`
        : `. Without an expected issuer the first authorization server found is kept while the process runs: if the MCP server moved on purpose, restart, or set servers.NAME.oauth.issuer (gatehouse serve) / --expected-issuer (connect) to the one to use`;
    return error;
  }

  /** The SDK's provider bound to `issuer`, plus a discovery cache (or the static endpoints) and --resource. */
  #bind(expectedIssuer: string): OAuthClientProvider {
    const o = this.#o;
    const name = o.clientName ?? 'Gatehouse';
    const inner: OAuthClientProvider = o.privateKey
      ? new PrivateKeyJwtProvider({ clientId: o.clientId, privateKey: o.privateKey.key, algorithm: o.privateKey.algorithm, scope: o.scope, clientName: name, expectedIssuer })
      : new ClientCredentialsProvider({ clientId: o.clientId, clientSecret: o.clientSecret ?? '', scope: o.scope, clientName: name, expectedIssuer });
    // An object whose prototype is the provider keeps its getters and methods working.
    const extra: Partial<OAuthClientProvider> = {
      discoveryState: () => this.#discovery,
      saveDiscoveryState: (state: OAuthDiscoveryState) => {
        if (o.discovery === undefined) this.#discovery = state;
      },
    };
    const resource = o.resource;
    if (resource !== undefined) extra.validateResourceURL = () => Promise.resolve(new URL(resource));
    const method = o.privateKey ? undefined : authMethodOf(o.authStyle);
    if (method !== undefined) {
      extra.clientInformation = async (ctx) => {
        const info = await inner.clientInformation(ctx);
        return info && { ...info, token_endpoint_auth_method: method };
      };
    }
    if (o.audience !== undefined) extra.prepareTokenRequest = async (scope) => withAudience((await inner.prepareTokenRequest!(scope))!, o.audience);
    const provider = Object.assign(Object.create(inner) as OAuthClientProvider, extra);
    // The secret goes only by a method the server lists, when it lists any (token-request.ts).
    if (!o.privateKey) provider.addClientAuthentication = secretClientAuthentication(async () => provider.clientInformation({ issuer: expectedIssuer }));
    return provider;
  }

  #expiresAt(): number {
    const lifetime = this.#tokens?.expires_in;
    return lifetime === undefined ? Number.POSITIVE_INFINITY : this.#obtainedAt + lifetime * 1000;
  }

  #renewAt(): number {
    const lifetime = this.#tokens?.expires_in;
    if (lifetime === undefined) return Number.POSITIVE_INFINITY;
    return this.#expiresAt() - Math.min(RENEW_MAX_MS, lifetime * 1000 * RENEW_SHARE);
  }
}

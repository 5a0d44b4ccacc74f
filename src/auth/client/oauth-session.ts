import {
  auth,
  type AddClientAuthentication,
  computeScopeUnion,
  prepareAuthorizationCodeRequest,
  extractWWWAuthenticateParams,
  isStrictScopeSuperset,
  type AuthProvider,
  type FetchLike,
  type OAuthClientInformationContext,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';

import { randomToken } from '../../crypto/index.js';
import { assertBrowsableUrl } from './browser.js';
import { CallbackServer } from './callback-server.js';
import { clientBinding, type ClientBinding } from './client-binding.js';
import { deviceLogin } from './device-login.js';
import { assertPkceS256 } from './pkce-required.js';
import { noTracer, traceStep } from './trace.js';
import { refreshDue, registeredCallbackPort, type IssuerRecord, type ServerRecord } from './token-store.js';

import type { OAuthSessionOptions } from './oauth-session-options.js';
import { assertSecretMethodAccepted, authMethodOf, labelledFetch, secretClientAuthentication, withAudience } from './token-request.js';

export type { OAuthSessionOptions } from './oauth-session-options.js';

interface AuthorizeOptions {
  readonly resourceMetadataUrl?: URL | undefined;
  /** The challenge's scope; `--scope` wins over it. */
  readonly scope?: string | undefined;
  /** Step-up: exactly this scope, whatever `--scope` says (it is part of it already). */
  readonly exactScope?: string | undefined;
  readonly fetchFn?: FetchLike | undefined;
  /** Skip the refresh token and the "another process logged in" shortcut. */
  readonly force?: boolean;
  /** Forget the cached discovery (protected resource and authorization server metadata) first. */
  readonly rediscover?: boolean;
}

/**
 * The outbound OAuth client of one MCP server for the authorization_code grant: an
 * OAuthClientProvider for the SDK's `auth()` (discovery, registration, PKCE, refresh), with
 * storage per (server URL, issuer), a loopback callback listener and a login lock.
 *
 * The SDK's transports stop at "REDIRECT"; `authProvider()` gives them an AuthProvider whose
 * `onUnauthorized` goes all the way (refresh, else browser login and code exchange) so that
 * the transport's one retry succeeds.
 */
export class OAuthSession implements OAuthClientProvider {
  readonly #o: OAuthSessionOptions;
  #record: ServerRecord = { issuers: {} };
  #loaded = false;
  #callback: CallbackServer | undefined;
  #redirectUrl: string | undefined;
  #codeVerifier: string | undefined;
  /** The code being exchanged, while it is (for the exchange with an audience). */
  #code: string | undefined;
  #state: string | undefined;
  #inFlight: Promise<void> | undefined;
  /** The access token the last refresh gave; refused again, it calls for a new login. */
  #refreshed: string | undefined;
  /** SEP-2352: the authorization server a --client-id client, or any with --expected-issuer, is bound to. */
  readonly #binding: ClientBinding | undefined;

  constructor(options: OAuthSessionOptions) {
    this.#o = options;
    const metadata = options.staticDiscovery?.authorizationServerMetadata;
    this.#binding = clientBinding({
      clientId: options.clientId,
      serverUrl: options.serverUrl,
      expectedIssuer: options.expectedIssuer,
      tokenUrl: metadata && { issuer: metadata.issuer, endpoint: metadata.token_endpoint, authorization: metadata.authorization_endpoint },
      logger: options.logger,
    });
    if (options.clientMetadataUrl !== undefined) this.clientMetadataUrl = options.clientMetadataUrl;
    const resource = options.resource;
    // Only with --resource: otherwise the SDK's own rule applies (the metadata's resource must
    // cover the server URL, and is sent verbatim).
    if (resource !== undefined) this.validateResourceURL = () => Promise.resolve(new URL(resource));
    // The code exchange with an audience: the SDK's own request (prepareAuthorizationCodeRequest) plus it.
    const audience = options.audience;
    if (audience !== undefined) {
      this.prepareTokenRequest = () => (this.#code === undefined ? undefined : withAudience(prepareAuthorizationCodeRequest(this.#code, this.codeVerifier(), this.redirectUrl), audience));
    }
    // A client secret goes only by a method the authorization server lists, when it lists any
    // (token-request.ts): --client-secret's (else the login fails), and a registered client's (a
    // server may give one a secret; else it goes as a public client), at the code exchange and
    // every refresh. The SDK's own choice falls back to client_secret_post whatever is listed.
    this.addClientAuthentication = secretClientAuthentication((metadata) => this.clientInformation(metadata?.issuer === undefined ? undefined : { issuer: metadata.issuer }), {
      publicFallback: options.clientId === undefined,
    });
  }

  addClientAuthentication?: AddClientAuthentication;

  clientMetadataUrl?: string;
  validateResourceURL?: (serverUrl: string | URL, resource?: string) => Promise<URL | undefined>;
  prepareTokenRequest?: (scope?: string) => URLSearchParams | undefined;

  // --- what the SDK reads ------------------------------------------------------------------

  get redirectUrl(): string {
    // auth() treats a missing redirect URL as a non-interactive grant: always give one.
    return this.#redirectUrl ?? `http://127.0.0.1:${this.#o.callbackPort ?? registeredCallbackPort(this.#record) ?? this.#o.defaultCallbackPort ?? 0}/callback`;
  }

  get clientMetadata(): OAuthClientMetadata {
    const metadata: OAuthClientMetadata & { application_type?: string } = {
      client_name: this.#o.clientName ?? 'Gatehouse',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      // RFC 8252 native app: loopback redirects on any port.
      application_type: 'native',
    };
    if (this.#o.scope) metadata.scope = this.#o.scope;
    return metadata;
  }

  state(): string {
    this.#state = randomToken(24);
    this.#callback?.expect(this.#state);
    return this.#state;
  }

  async clientInformation(ctx?: OAuthClientInformationContext): Promise<StoredOAuthClientInformation | undefined> {
    if (this.#o.clientId !== undefined) return this.#preRegistered(this.#o.clientId, ctx?.issuer);
    const client = this.#issuer(ctx)?.client;
    if (!client) return undefined;
    // A registration made for another loopback port no longer matches our redirect URI
    // (CLIENTS.md, mcp-remote): register again rather than fail at the authorization server.
    const uris = (client as { redirect_uris?: unknown }).redirect_uris;
    if (Array.isArray(uris) && this.#redirectUrl !== undefined && !uris.includes(this.#redirectUrl) && !/^https:/.test(client.client_id)) {
      this.#o.logger.info('the stored client registration is for another redirect URI; registering again');
      return undefined;
    }
    return client;
  }

  async saveClientInformation(info: StoredOAuthClientInformation, ctx?: OAuthClientInformationContext): Promise<void> {
    if (this.#o.clientId !== undefined) return; // pre-registered: nothing to keep
    const issuer = ctx?.issuer ?? info.issuer;
    if (!issuer) return;
    this.#entry(issuer).client = info;
    await this.#persist();
  }

  tokens(ctx?: OAuthClientInformationContext): StoredOAuthTokens | undefined {
    // Without ctx (the per-request read) the tokens saved last are the resource server's.
    return this.#issuer(ctx)?.tokens;
  }

  async saveTokens(tokens: StoredOAuthTokens, ctx?: OAuthClientInformationContext): Promise<void> {
    const issuer = ctx?.issuer ?? tokens.issuer;
    if (!issuer) return;
    const entry = this.#entry(issuer);
    entry.tokens = tokens;
    entry.obtainedAt = Date.now();
    this.#record.lastIssuer = issuer;
    await this.#persist();
    this.#o.logger.info({ issuer }, 'OAuth tokens stored');
  }

  async redirectToAuthorization(authorizationUrl: URL): Promise<void> {
    const metadata = this.discoveryState()?.authorizationServerMetadata;
    // A --client-secret the server accepts by no method would stop the code exchange
    // (secretClientAuthentication): said now, before the person logs in for nothing.
    if (this.#o.clientId !== undefined && this.#o.clientSecret !== undefined) assertSecretMethodAccepted(metadata?.token_endpoint_auth_methods_supported);
    const target = assertBrowsableUrl(withAudienceParam(authorizationUrl, this.#o.audience));
    assertPkceS256(metadata, target);
    await this.#o.openBrowser(target);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (this.#codeVerifier === undefined) throw new Error('no PKCE code verifier: no login is in progress');
    return this.#codeVerifier;
  }

  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    if (scope === 'verifier') {
      this.#codeVerifier = undefined;
      return;
    }
    // The --client-id binding is no credential: it stays (forgetting it is `gatehouse logout`).
    if (scope === 'all') this.#record = this.#record.clientIssuers ? { issuers: {}, clientIssuers: this.#record.clientIssuers } : { issuers: {} };
    if (scope === 'discovery') delete this.#record.discovery;
    for (const entry of Object.values(this.#record.issuers)) {
      if (scope === 'client') delete entry.client;
      if (scope === 'tokens') delete entry.tokens;
    }
    await this.#persist();
  }

  async saveDiscoveryState(state: OAuthDiscoveryState): Promise<void> {
    if (this.#o.staticDiscovery) return;
    // The SDK saves what discovery found before it asks for the client or registers one: a
    // client bound elsewhere is refused here already, so the refused server never becomes the
    // stored discovery that the next run would start from (the issuer as the SDK takes it).
    this.#binding?.check(state.authorizationServerMetadata?.issuer ?? state.authorizationServerUrl);
    this.#record.discovery = state;
    await this.#persist();
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#o.staticDiscovery ?? this.#record.discovery;
  }

  // --- ours --------------------------------------------------------------------------------

  /** Reads what the store holds for this server (tokens a previous run or another bridge saved). */
  async load(): Promise<void> {
    this.#record = (await this.#o.store.read(this.#o.serverUrl)) ?? { issuers: {} };
    this.#loaded = true;
    this.#binding?.adopt(this.#record);
  }

  /** For the transports: the current access token, and a full re-authorization on 401. */
  authProvider(): AuthProvider {
    return {
      token: async () => {
        if (!this.#loaded) await this.load();
        if (refreshDue(this.#issuer())) {
          // Refresh ahead of expiry rather than wait for the 401; a failure here is not fatal
          // (the request goes out, and its 401 runs the full path).
          await this.authorize().catch((error: unknown) =>
            this.#o.logger.warn({ reason: error instanceof Error ? error.message : String(error) }, 'refreshing the access token ahead of expiry failed'),
          );
        }
        return this.tokens()?.access_token;
      },
      onUnauthorized: async (ctx) => {
        const { resourceMetadataUrl, scope } = extractWWWAuthenticateParams(ctx.response);
        // A token we sent was refused: the server may have moved to another authorization
        // server (SEP-2352), so discovery runs again instead of trusting the cached one.
        const sent = this.tokens()?.access_token;
        const rediscover = sent !== undefined;
        // 401 -> refresh -> retry; a refreshed token refused as well -> a new login.
        const force = sent !== undefined && sent === this.#refreshed;
        await this.authorize({ resourceMetadataUrl, scope, fetchFn: ctx.fetchFn, rediscover, force });
      },
    };
  }

  /**
   * Step-up (MCP scope challenge handling): a 403 `insufficient_scope` asked for more. A new
   * authorization asks for what was granted plus what is required; when the token already
   * holds all of that, asking again cannot help, so the answer is false (give up).
   */
  async stepUp(challenge: { scope: string | undefined; resourceMetadataUrl: URL | undefined }): Promise<boolean> {
    const granted = this.tokens()?.scope;
    const union = computeScopeUnion(this.#o.scope, granted, challenge.scope);
    if (granted !== undefined && !isStrictScopeSuperset(union, granted)) {
      this.#o.logger.warn({ scope: challenge.scope }, 'the server asks for scope the token already has; not authorizing again');
      return false;
    }
    await this.authorize({ resourceMetadataUrl: challenge.resourceMetadataUrl, exactScope: union, force: true });
    return true;
  }

  /**
   * Makes sure a usable token is stored: another process's fresh token, a refresh, or a
   * browser login. One at a time per server, across processes (the store's lock).
   */
  authorize(options: AuthorizeOptions = {}): Promise<void> {
    // Requests that fail together share one login.
    const grant = this.#o.grant ?? 'authorization_code';
    this.#inFlight ??= traceStep(this.#o.tracer ?? noTracer, 'oauth.authorize', () => this.#authorizeLocked(options), { grant }).finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #authorizeLocked(options: AuthorizeOptions): Promise<void> {
    const failed = this.tokens()?.access_token;
    const release = await this.#o.store.lock(this.#o.serverUrl);
    try {
      await this.load();
      const now = this.tokens()?.access_token;
      if (!options.force && now !== undefined && now !== failed) {
        this.#o.logger.info('using tokens another gatehouse process obtained meanwhile');
        return;
      }
      await this.#authorizeNow(options);
    } finally {
      await release();
    }
  }

  async #authorizeNow(options: AuthorizeOptions): Promise<void> {
    if (this.#o.grant === 'device_code') return this.#authorizeDevice(options);
    const port = this.#o.callbackPort ?? registeredCallbackPort(this.#record) ?? this.#o.defaultCallbackPort ?? 0;
    this.#callback = await CallbackServer.start(port).catch((error: NodeJS.ErrnoException) => {
      if (this.#o.callbackPort === undefined && port !== 0 && error.code === 'EADDRINUSE') {
        if (registeredCallbackPort(this.#record) === undefined) this.#o.logger.warn({ port }, 'the login callback port is taken: listening on another one (an authorization server that registered the exact redirect URI will refuse it; set --callback-port)');
        return CallbackServer.start(0);
      }
      throw new Error(`cannot listen for the login callback on 127.0.0.1:${port}: ${error.code ?? error.message}`);
    });
    this.#redirectUrl = this.#callback.redirectUrl;
    if (options.rediscover) delete this.#record.discovery;
    try {
      const common = {
        serverUrl: this.#o.serverUrl,
        resourceMetadataUrl: options.resourceMetadataUrl,
        scope: options.exactScope ?? this.#o.scope ?? options.scope,
        fetchFn: labelledFetch(options.fetchFn ?? this.#o.fetchFn),
      };
      const answer = this.#callback.wait(this.#o.loginTimeoutMs ?? 5 * 60_000);
      answer.catch(() => undefined); // observed below; never unhandled
      const first = await auth(this, { ...common, forceReauthorization: options.force === true });
      if (first === 'AUTHORIZED') {
        this.#refreshed = this.tokens()?.access_token;
        return;
      }
      const { code, iss } = await answer;
      this.#code = code;
      this.#o.logger.info('authorization code received; exchanging it for tokens');
      const second = await auth(this, { ...common, authorizationCode: code, iss });
      if (second !== 'AUTHORIZED') throw new Error('the authorization server did not issue tokens');
    } finally {
      this.#codeVerifier = this.#code = undefined;
      await this.#callback.close();
      this.#callback = undefined;
      this.#redirectUrl = undefined;
    }
  }

  /** RFC 8628 (device-login.ts): the stored refresh token, else a device code approved elsewhere. */
  async #authorizeDevice(options: AuthorizeOptions): Promise<void> {
    if (options.rediscover) delete this.#record.discovery;
    const result = await deviceLogin(this, {
      serverUrl: this.#o.serverUrl,
      scope: options.exactScope ?? this.#o.scope ?? options.scope,
      resourceMetadataUrl: options.resourceMetadataUrl,
      force: options.force === true,
      fetchFn: labelledFetch(options.fetchFn ?? this.#o.fetchFn),
      clientName: this.#o.clientName ?? 'Gatehouse',
      logger: this.#o.logger,
      notify: this.#o.notify ?? ((line) => process.stderr.write(`${line}\n`)),
      preRegistered: this.#o.clientId !== undefined,
    });
    if (result === 'refreshed') this.#refreshed = this.tokens()?.access_token;
  }

  /**
   * The --client-id client, stamped with its authorization server (unstamped, the SDK warns on
   * the console). Registered at one server, it is not registered again at another: another is
   * refused before it sees the id or the secret. The binding is stored before either goes out
   * (--expected-issuer, or the server discovery found; not a --token-url's origin).
   */
  async #preRegistered(clientId: string, current: string | undefined): Promise<StoredOAuthClientInformation> {
    const { issuer, changed } = (this.#binding as ClientBinding).bind(current, this.#record);
    if (changed) await this.#persist();
    const info: StoredOAuthClientInformation & { token_endpoint_auth_method?: string } = { client_id: clientId, issuer };
    if (this.#o.clientSecret !== undefined) info.client_secret = this.#o.clientSecret;
    // --auth-style: the SDK honours it where the metadata allows it (token-request.ts authMethodOf).
    const method = this.#o.clientSecret === undefined ? undefined : authMethodOf(this.#o.authStyle);
    if (method !== undefined) info.token_endpoint_auth_method = method;
    return info;
  }

  // --- storage -----------------------------------------------------------------------------

  #issuer(ctx?: OAuthClientInformationContext): IssuerRecord | undefined {
    const issuer = ctx?.issuer ?? this.#record.lastIssuer;
    return issuer === undefined ? undefined : this.#record.issuers[issuer];
  }

  #entry(issuer: string): IssuerRecord {
    return (this.#record.issuers[issuer] ??= {});
  }

  async #persist(): Promise<void> {
    await this.#o.store.write(this.#o.serverUrl, this.#record);
  }
}

/** The authorization request with `audience` (token-request.ts withAudience), as a new URL. */
function withAudienceParam(url: URL, audience: string | undefined): URL {
  const copy = new URL(url);
  withAudience(copy.searchParams, audience);
  return copy;
}

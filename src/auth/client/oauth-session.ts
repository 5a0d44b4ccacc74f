import {
  auth,
  AuthorizationServerMismatchError,
  computeScopeUnion,
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
import { redactUrl, type Logger } from '../../observability/index.js';
import { assertBrowsableUrl } from './browser.js';
import { CallbackServer } from './callback-server.js';
import { deviceLogin } from './device-login.js';
import { assertPkceS256 } from './pkce-required.js';
import { noTracer, traceStep, type Tracer } from './trace.js';
import type { IssuerRecord, ServerRecord, TokenStore } from './token-store.js';

export interface OAuthSessionOptions {
  /** The MCP server (the protected resource). */
  readonly serverUrl: string;
  readonly store: TokenStore;
  readonly logger: Logger;
  /** `--client-id` / `--client-secret`: a pre-registered client, used as is. */
  readonly clientId?: string | undefined;
  readonly clientSecret?: string | undefined;
  /**
   * `--expected-issuer`: the authorization server a `--client-id` client is for (SEP-2352).
   * Another one is refused before it sees the id or secret. Unset, the one the store names
   * for this client, else the first one it is used with (kept in the store from then on);
   * with `staticDiscovery` and no expected issuer, its issuer for this run only.
   */
  readonly expectedIssuer?: string | undefined;
  /** `--client-metadata-url`: a Client ID Metadata Document (the URL is the client_id). */
  readonly clientMetadataUrl?: string | undefined;
  /** `--scope`: replaces the scope from the challenge or `scopes_supported`. */
  readonly scope?: string | undefined;
  /** `--resource`: the RFC 8707 resource indicator, instead of the discovered one. */
  readonly resource?: string | undefined;
  /** `--callback-port`; default any free port (or the port of the stored registration). */
  readonly callbackPort?: number | undefined;
  /** Tried when `callbackPort` is unset and no registration is stored; taken, any free port. */
  readonly defaultCallbackPort?: number | undefined;
  /** Sends a person to the authorization URL (prints it and opens a browser). */
  readonly openBrowser: (url: URL) => Promise<void>;
  /** How long a browser login may take (default 5 minutes). */
  readonly loginTimeoutMs?: number;
  readonly clientName?: string;
  /** `--grant device_code` (RFC 8628) instead of the browser login. */
  readonly grant?: 'authorization_code' | 'device_code';
  /** Shows the device flow's verification URI and user code (stderr). */
  readonly notify?: (line: string) => void;
  /** `--token-url` / `--authorization-url`: endpoints instead of discovery (static-discovery.ts). */
  readonly staticDiscovery?: OAuthDiscoveryState | undefined;
  /** For discovery, registration and the token endpoint when no transport's fetch is at hand. */
  readonly fetchFn?: FetchLike | undefined;
  /** `--trace-file`: a span per login or refresh. */
  readonly tracer?: Tracer | undefined;
}

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
  #state: string | undefined;
  #inFlight: Promise<void> | undefined;
  /** The access token the last refresh gave; refused again, it calls for a new login. */
  #refreshed: string | undefined;
  /**
   * SEP-2352: the authorization server a --client-id client is bound to: the person's choice,
   * else the one the store keeps for it, else the first one it is used with.
   */
  #clientIssuer: string | undefined;
  /** The person's choice: --expected-issuer, else the --token-url endpoints' issuer. */
  readonly #chosenIssuer: string | undefined;
  /**
   * --token-url without --expected-issuer: the chosen issuer is only the token URL's origin
   * (static-discovery.ts), which the real issuer need not be (Keycloak's has a path). It binds
   * this run but is not kept in the store, where a later run's discovery would be refused by it.
   */
  readonly #syntheticIssuer: boolean;

  constructor(options: OAuthSessionOptions) {
    this.#o = options;
    this.#chosenIssuer = options.clientId === undefined ? undefined : (options.expectedIssuer ?? options.staticDiscovery?.authorizationServerMetadata?.issuer);
    this.#clientIssuer = this.#chosenIssuer;
    this.#syntheticIssuer = options.clientId !== undefined && options.expectedIssuer === undefined && options.staticDiscovery !== undefined;
    if (options.clientMetadataUrl !== undefined) this.clientMetadataUrl = options.clientMetadataUrl;
    const resource = options.resource;
    // Only with --resource: otherwise the SDK's own rule applies (the metadata's resource must
    // cover the server URL, and is sent verbatim).
    if (resource !== undefined) this.validateResourceURL = () => Promise.resolve(new URL(resource));
  }

  clientMetadataUrl?: string;
  validateResourceURL?: (serverUrl: string | URL, resource?: string) => Promise<URL | undefined>;

  // --- what the SDK reads ------------------------------------------------------------------

  get redirectUrl(): string {
    // auth() treats a missing redirect URL as a non-interactive grant: always give one.
    return this.#redirectUrl ?? `http://127.0.0.1:${this.#o.callbackPort ?? this.#storedPort() ?? this.#o.defaultCallbackPort ?? 0}/callback`;
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
    const target = assertBrowsableUrl(authorizationUrl);
    assertPkceS256(this.discoveryState()?.authorizationServerMetadata, target);
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
    // The SDK saves what discovery found before it asks for the client: a --client-id client
    // bound elsewhere is refused here already, so the refused server never becomes the stored
    // discovery that the next run would start from (the issuer as the SDK takes it).
    const found = state.authorizationServerMetadata?.issuer ?? state.authorizationServerUrl;
    if (this.#o.clientId !== undefined && this.#clientIssuer !== undefined && !sameIssuer(found, this.#clientIssuer)) throw this.#mismatch(this.#clientIssuer, found);
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
    const id = this.#o.clientId;
    const stored = id === undefined ? undefined : this.#record.clientIssuers?.[id];
    if (this.#chosenIssuer === undefined && stored !== undefined) this.#clientIssuer = stored;
    // A stored discovery naming another authorization server than the client's (a new
    // --expected-issuer, or one saved before refusals were kept out) is not reused: discovery
    // runs again, and either finds the client's server or is refused.
    const discovery = this.#record.discovery;
    const named = discovery?.authorizationServerMetadata?.issuer ?? discovery?.authorizationServerUrl;
    if (id !== undefined && this.#clientIssuer !== undefined && named !== undefined && !sameIssuer(named, this.#clientIssuer)) delete this.#record.discovery;
  }

  /** For the transports: the current access token, and a full re-authorization on 401. */
  authProvider(): AuthProvider {
    return {
      token: async () => {
        if (!this.#loaded) await this.load();
        if (this.#expiresSoon()) {
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
    const port = this.#o.callbackPort ?? this.#storedPort() ?? this.#o.defaultCallbackPort ?? 0;
    this.#callback = await CallbackServer.start(port).catch((error: NodeJS.ErrnoException) => {
      if (this.#o.callbackPort === undefined && port !== 0 && error.code === 'EADDRINUSE') {
        if (this.#storedPort() === undefined) this.#o.logger.warn({ port }, 'the login callback port is taken: listening on another one (an authorization server that registered the exact redirect URI will refuse it; set --callback-port)');
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
        fetchFn: options.fetchFn ?? this.#o.fetchFn,
      };
      const answer = this.#callback.wait(this.#o.loginTimeoutMs ?? 5 * 60_000);
      answer.catch(() => undefined); // observed below; never unhandled
      const first = await auth(this, { ...common, forceReauthorization: options.force === true });
      if (first === 'AUTHORIZED') {
        this.#refreshed = this.tokens()?.access_token;
        return;
      }
      const { code, iss } = await answer;
      this.#o.logger.info('authorization code received; exchanging it for tokens');
      const second = await auth(this, { ...common, authorizationCode: code, iss });
      if (second !== 'AUTHORIZED') throw new Error('the authorization server did not issue tokens');
    } finally {
      this.#codeVerifier = undefined;
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
      fetchFn: options.fetchFn ?? this.#o.fetchFn,
      clientName: this.#o.clientName ?? 'Gatehouse',
      logger: this.#o.logger,
      notify: this.#o.notify ?? ((line) => process.stderr.write(`${line}\n`)),
    });
    if (result === 'refreshed') this.#refreshed = this.tokens()?.access_token;
  }

  /** The access token expires within a quarter of its lifetime (at most 60 s) and can be refreshed. */
  #expiresSoon(): boolean {
    const entry = this.#issuer();
    const lifetime = entry?.tokens?.expires_in;
    if (!entry?.tokens?.refresh_token || entry.obtainedAt === undefined || lifetime === undefined) return false;
    const lifetimeMs = lifetime * 1000;
    const margin = Math.min(60_000, lifetimeMs / 4);
    return Date.now() >= entry.obtainedAt + lifetimeMs - margin;
  }

  /**
   * The --client-id client, stamped with its authorization server (unstamped, the SDK warns on
   * the console). Registered at one server, it is not registered again at another: another is
   * refused before it sees the id or the secret. The binding is stored before either goes out
   * (--expected-issuer, or the server discovery found; not a --token-url's origin).
   */
  async #preRegistered(clientId: string, current: string | undefined): Promise<StoredOAuthClientInformation> {
    let issuer = this.#clientIssuer;
    if (issuer !== undefined && current !== undefined && !sameIssuer(current, issuer)) throw this.#mismatch(issuer, current);
    if (issuer === undefined && current !== undefined) {
      issuer = this.#clientIssuer = current;
      this.#o.logger.warn(
        { issuer },
        'the --client-id client goes to the authorization server the MCP server names, and stays bound to it (trust on first use, kept in the token store); pass --expected-issuer to choose it yourself',
      );
    }
    if (issuer !== undefined && !this.#syntheticIssuer && this.#record.clientIssuers?.[clientId] !== issuer) {
      (this.#record.clientIssuers ??= {})[clientId] = issuer;
      await this.#persist();
    }
    const info: StoredOAuthClientInformation = { client_id: clientId, issuer };
    if (this.#o.clientSecret !== undefined) info.client_secret = this.#o.clientSecret;
    return info;
  }

  /** The SDK's refusal, saying how to move on deliberately. */
  #mismatch(bound: string, found: string): AuthorizationServerMismatchError {
    const error = new AuthorizationServerMismatchError(bound, found);
    // The store is keyed by the exact URL: a redacted one would name no record, so it is
    // described rather than printed as a command that cannot work.
    const shown = redactUrl(this.#o.serverUrl);
    const logout = shown === this.#o.serverUrl ? `run 'gatehouse logout ${shown}'` : `run gatehouse logout with the server URL exactly as given here (not printed: it carries secrets)`;
    error.message +=
      this.#chosenIssuer !== undefined
        ? `. --expected-issuer names ${JSON.stringify(bound)} as this client's authorization server; if the MCP server moved to another one on purpose, pass that one instead`
        : `. This client was bound to ${JSON.stringify(bound)} when first used with this server (kept in the token store); if the MCP server moved to another authorization server on purpose, pass --expected-issuer naming the one to use, or ${logout} to forget this server's tokens and the binding`;
    return error;
  }

  // --- storage -----------------------------------------------------------------------------

  #issuer(ctx?: OAuthClientInformationContext): IssuerRecord | undefined {
    const issuer = ctx?.issuer ?? this.#record.lastIssuer;
    return issuer === undefined ? undefined : this.#record.issuers[issuer];
  }

  #entry(issuer: string): IssuerRecord {
    return (this.#record.issuers[issuer] ??= {});
  }

  /** The loopback port of the stored dynamic registration, so that it stays valid. */
  #storedPort(): number | undefined {
    for (const entry of Object.values(this.#record.issuers)) {
      const uris = (entry.client as { redirect_uris?: unknown } | undefined)?.redirect_uris;
      if (!Array.isArray(uris)) continue;
      for (const uri of uris) {
        if (typeof uri !== 'string') continue;
        const m = /^http:\/\/127\.0\.0\.1:(\d+)\/callback$/.exec(uri);
        if (m?.[1]) return Number(m[1]);
      }
    }
    return undefined;
  }

  async #persist(): Promise<void> {
    await this.#o.store.write(this.#o.serverUrl, this.#record);
  }
}

/** Issuer identifiers as the SDK compares them: exactly, or but for one trailing slash. */
function sameIssuer(a: string, b: string): boolean {
  return a === b || (a.endsWith('/') && a.slice(0, -1) === b) || (b.endsWith('/') && b.slice(0, -1) === a);
}

import {
  selectClientAuthMethod,
  type AddClientAuthentication,
  type AuthorizationServerMetadata,
  type ClientAuthMethod,
  type FetchLike,
  type OAuthClientInformationMixed,
} from '@modelcontextprotocol/client';

// What the outbound OAuth client adds to the SDK's token and authorization requests, for
// authorization servers that need more than the standard parameters (mcp-oauth2-proxy's
// `oauth2.audience` and `oauth2.authStyle`, seed 001), and the label a failed request to one
// of their endpoints carries, so that the error names that host rather than the MCP server's.

/**
 * How a client secret goes to the token endpoint (RFC 6749 §2.3.1): `header` is HTTP Basic
 * (client_secret_basic), `body` puts client_id and client_secret in the form (client_secret_post).
 */
export const AUTH_STYLES = ['header', 'body'] as const;
export type AuthStyle = (typeof AUTH_STYLES)[number];

/** RFC 8414 `token_endpoint_auth_methods_supported` names of the styles. */
const METHOD: Readonly<Record<AuthStyle, 'client_secret_basic' | 'client_secret_post'>> = { header: 'client_secret_basic', body: 'client_secret_post' };

/**
 * The client's `token_endpoint_auth_method` for a style. The SDK (selectClientAuthMethod) uses
 * it when the server's metadata names no methods (e.g. with --token-url) or names this one;
 * metadata that lists others wins, since the server would refuse it (RFC 8414 §2).
 */
export function authMethodOf(style: AuthStyle | undefined): 'client_secret_basic' | 'client_secret_post' | undefined {
  return style === undefined ? undefined : METHOD[style];
}

/**
 * The client secret has nowhere to go: the authorization server's metadata lists the client
 * authentication methods it accepts (RFC 8414 §2 `token_endpoint_auth_methods_supported`) and
 * neither secret method is among them (e.g. only private_key_jwt). The SDK's last fallback
 * would put client_id and client_secret in the form anyway (and --auth-style header would be
 * overridden without a word); the secret is not sent, the login stops with this.
 */
export class ClientAuthMethodError extends Error {
  readonly supported: readonly string[];
  constructor(supported: readonly string[]) {
    super(
      `the authorization server accepts none of the secret methods: its token_endpoint_auth_methods_supported is ${supported.join(', ')} ` +
        `(neither client_secret_basic nor client_secret_post), so the client secret was not sent; ` +
        (supported.includes('private_key_jwt')
          ? 'use --private-key (private_key_jwt, RFC 7523) with the key registered for this client instead of --client-secret'
          : 'use a client registered for a method it lists (--private-key for private_key_jwt) instead of --client-secret'),
    );
    this.name = 'ClientAuthMethodError';
    this.supported = supported;
  }
}

/** Throws ClientAuthMethodError when metadata lists methods and no secret method is among them. */
export function assertSecretMethodAccepted(supported: readonly string[] | undefined): void {
  if (!acceptsSecret(supported)) throw new ClientAuthMethodError(supported ?? []);
}

function acceptsSecret(supported: readonly string[] | undefined): boolean {
  if (supported === undefined || supported.length === 0) return true;
  return supported.includes('client_secret_basic') || supported.includes('client_secret_post');
}

export interface SecretOptions {
  /**
   * A client registered with the server (RFC 7591), which may have handed it a secret: when the
   * metadata lists no secret method, it goes as a public client (client_id only, no secret)
   * instead of failing. A secret the user gave (--client-secret) fails instead: they asked for it.
   */
  readonly publicFallback?: boolean;
}

/**
 * How a client authenticates at the token endpoint, chosen as the SDK chooses it
 * (selectClientAuthMethod): the client's own `token_endpoint_auth_method` (`--auth-style`,
 * authMethodOf, or what registration gave) when the metadata lists it or lists none, else
 * client_secret_basic, client_secret_post, none, in that order, of those it lists. A client
 * without a secret is public (none); one with a secret gets it sent only by a method listed
 * (assertSecretMethodAccepted). Every flow goes through this one rule: the SDK's token
 * requests (secretClientAuthentication) and the device flow's own (device-flow.ts).
 */
export function clientAuthMethod(info: OAuthClientInformationMixed, supported: readonly string[] | undefined, options: SecretOptions = {}): ClientAuthMethod {
  if (info.client_secret === undefined) return 'none';
  if (options.publicFallback && !acceptsSecret(supported)) return 'none';
  assertSecretMethodAccepted(supported);
  return selectClientAuthMethod(info, [...(supported ?? [])]);
}

/**
 * The SDK's client authentication (selectClientAuthMethod, applyClientAuthentication) for a
 * client with a secret, except that a server accepting no secret method gets no secret
 * (assertSecretMethodAccepted). As a provider's `addClientAuthentication`, it replaces the
 * SDK's own on every token request (code exchange, refresh, client_credentials).
 */
export function secretClientAuthentication(
  client: (metadata: AuthorizationServerMetadata | undefined) => Promise<OAuthClientInformationMixed | undefined>,
  options: SecretOptions = {},
): AddClientAuthentication {
  return async (headers, params, _url, metadata) => {
    const info = await client(metadata);
    if (info === undefined) return;
    const method = clientAuthMethod(info, metadata?.token_endpoint_auth_methods_supported, options);
    // As the SDK's applyClientAuthentication (not exported) does.
    if (method === 'client_secret_basic') {
      if (!info.client_secret) throw new Error('client_secret_basic authentication requires a client_secret');
      headers.set('Authorization', `Basic ${btoa(`${info.client_id}:${info.client_secret}`)}`);
    } else if (method === 'client_secret_post') {
      params.set('client_id', info.client_id);
      if (info.client_secret) params.set('client_secret', info.client_secret);
    } else if (method === 'none') params.set('client_id', info.client_id);
    else throw new Error(`unsupported client authentication method: ${String(method)}`);
  };
}

/**
 * The SDK's rule for where credentials may go in clear (assertSecureTokenEndpoint): https, or
 * a host on this machine (localhost, *.localhost, 127.0.0.1, ::1). `--allow-http` does not
 * widen it: it is about the MCP server, and the SDK's token requests (client_credentials, the
 * code exchange, every refresh) refuse plain http elsewhere whatever it says.
 */
export function isSecureOAuthEndpoint(url: string): boolean {
  if (!URL.canParse(url)) return false;
  const { protocol, hostname } = new URL(url);
  if (protocol === 'https:') return true;
  if (protocol !== 'http:') return false;
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '127.0.0.1' || hostname === '[::1]' || hostname === '::1';
}

/**
 * `audience`: not an RFC 6749 parameter but the one Auth0 (and IdPs like it) read to choose the
 * API a token is for; RFC 6749 §3.1 / §3.2 let a server define extra request parameters.
 */
export function withAudience<T extends URLSearchParams>(params: T, audience: string | undefined): T {
  if (audience !== undefined) params.set('audience', audience);
  return params;
}

/** A request the OAuth client sent that failed before any answer: which endpoint, and its URL. */
export interface FailedOAuthRequest {
  /** "the token endpoint", "the authorization server" (metadata, registration, ...). */
  readonly what: string;
  readonly url: string;
}

const failed = new WeakMap<object, FailedOAuthRequest>();

/**
 * `fetchFn` whose network failures (refused, DNS, TLS, timeout) remember the OAuth endpoint
 * they were for. The error is the one fetch threw, unchanged: the SDK tells a discovery
 * document it could not fetch (a TypeError) from other errors, and must still.
 */
export function labelledFetch(fetchFn: FetchLike | undefined): FetchLike {
  const inner = fetchFn ?? fetch;
  return async (input, init) => {
    try {
      return await inner(input, init);
    } catch (error) {
      if (error !== null && typeof error === 'object') {
        const url = input instanceof Request ? input.url : String(input);
        failed.set(error, { what: endpointOf(url, init), url });
      }
      throw error;
    }
  };
}

function endpointOf(url: string, init: RequestInit | undefined): string {
  const body = init?.body;
  const form = body instanceof URLSearchParams ? body : typeof body === 'string' && /(^|&)grant_type=/.test(body) ? new URLSearchParams(body) : undefined;
  if (form?.has('grant_type')) return 'the token endpoint';
  if (url.includes('/.well-known/oauth-protected-resource')) return 'the host of the resource metadata';
  return 'the authorization server';
}

/** The OAuth request behind a failure (the error or one of its causes), if one is. */
export function failedOAuthRequest(error: unknown): FailedOAuthRequest | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current !== null && typeof current === 'object'; depth++) {
    const found = failed.get(current);
    if (found !== undefined) return found;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

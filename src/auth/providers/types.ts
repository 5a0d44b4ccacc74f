// Federated identity: the shapes every provider shares. One file per provider type beside it
// (github.ts, oidc.ts); the flow that binds them to an authorization request is federation.ts.

export type ProviderType = 'github' | 'google' | 'oidc';

/** Who may sign in (config `allow`). Any one matching rule admits; none given admits nobody. */
export interface AllowRules {
  readonly users?: readonly string[] | undefined;
  readonly emails?: readonly string[] | undefined;
  readonly domains?: readonly string[] | undefined;
  readonly orgs?: readonly string[] | undefined;
  readonly teams?: readonly string[] | undefined;
  readonly claims?: Readonly<Record<string, string | readonly string[]>> | undefined;
}

/** One configured provider after defaults (resolve.ts). */
export interface ResolvedProvider {
  readonly type: ProviderType;
  /** Prefix of identities (`{id}|subject`), and the last segment of the default callback path. */
  readonly id: string;
  /** Where the provider sends the browser back (the redirect_uri's path): config `callbackPath`, else `/oauth/callback/{id}`. */
  readonly callbackPath: string;
  /** The login button's text. */
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly allow: AllowRules | undefined;
  /** OIDC issuer (google, oidc); for github the web base (https://github.com or a GitHub Enterprise host). */
  readonly issuer: string;
  /** GitHub's REST API base; undefined for OIDC types. */
  readonly apiUrl: string | undefined;
  readonly scope: string;
}

export interface VerifiedEmail {
  readonly address: string;
  /** Only verified addresses count for `emails` and `domains`. */
  readonly verified: boolean;
}

/** Who the upstream provider says signed in: what the allow rules look at. Never holds the upstream's tokens. */
export interface UpstreamProfile {
  /** The provider's stable id for the person: GitHub's numeric user id, the ID token's `sub`. */
  readonly subject: string;
  /** GitHub login or OIDC `preferred_username`. */
  readonly username: string | undefined;
  /** What to show a person about themselves (a login, a name, an address). */
  readonly displayName: string;
  readonly emails: readonly VerifiedEmail[];
  /** GitHub organisation logins; undefined when not asked for. */
  readonly orgs?: readonly string[] | undefined;
  /** GitHub teams as `org/slug`; undefined when not asked for. */
  readonly teams?: readonly string[] | undefined;
  /** ID token and userinfo claims (OIDC types). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** What the browser is sent to the provider with. */
export interface UpstreamAuthorizationRequest {
  readonly redirectUri: string;
  readonly state: string;
  /** RFC 7636 S256 challenge. */
  readonly codeChallenge: string;
  /** OIDC Core §3.1.2.1; GitHub ignores it. */
  readonly nonce: string;
}

/** What the callback is checked against: the values the request was sent with. */
export interface UpstreamChecks {
  readonly state: string;
  readonly codeVerifier: string;
  readonly nonce: string;
}

/** One provider type's side of the flow. Implementations: github.ts, oidc.ts. */
export interface UpstreamLogin {
  readonly provider: ResolvedProvider;
  authorizationUrl(request: UpstreamAuthorizationRequest): Promise<URL>;
  /**
   * Validates the authorization response in `callbackUrl`, redeems the code, and returns who
   * signed in. The upstream tokens live only inside this call. Throws FederationError.
   */
  identify(callbackUrl: URL, checks: UpstreamChecks): Promise<UpstreamProfile>;
}

/** Why a federated sign-in did not finish. One page per kind (failure-pages.ts). */
export type FederationFailure =
  | { readonly kind: 'unknown_provider' }
  /** `state` missing, unknown, expired or already used (a replayed callback). */
  | { readonly kind: 'bad_state' }
  /** The callback reached a browser other than the one that started the sign-in. */
  | { readonly kind: 'other_browser' }
  /** The authorization request the sign-in belonged to is gone (expired). */
  | { readonly kind: 'interaction_expired' }
  /** The person said no at the provider (`error=access_denied`). */
  | { readonly kind: 'denied_upstream' }
  /** Another `error` from the provider's authorization endpoint. */
  | { readonly kind: 'upstream_error'; readonly code: string }
  /** The provider did not answer (network, timeout). */
  | { readonly kind: 'unreachable' }
  /** The ID token failed validation (signature, issuer, audience, expiry, nonce). */
  | { readonly kind: 'bad_id_token' }
  /** The token endpoint or the user API answered something unusable (e.g. a spent code). */
  | { readonly kind: 'bad_response' }
  /** Signed in upstream, but no allow rule admits the person. */
  | { readonly kind: 'not_allowed'; readonly identity: string }
  /** The provider id was first used with another issuer (issuer-binding.ts): its sign-ins are off. */
  | { readonly kind: 'issuer_changed' };

/** A failure with its internal detail (for logs only; never shown). */
export class FederationError extends Error {
  constructor(
    readonly failure: FederationFailure,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = 'FederationError';
  }
}

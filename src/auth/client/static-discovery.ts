import type { OAuthDiscoveryState } from '@modelcontextprotocol/client';

export interface StaticEndpoints {
  /** `--token-url`. */
  readonly tokenUrl: string;
  /** `--authorization-url`: needed for the browser login only. */
  readonly authorizationUrl?: string | undefined;
  /** `--expected-issuer`, else the token endpoint's origin. */
  readonly issuer?: string | undefined;
}

/**
 * For servers without discovery (no RFC 9728 / RFC 8414 documents): the endpoints the
 * person named, as the discovery state the SDK's `auth()` reuses instead of fetching
 * metadata. PKCE S256 is assumed: it is always sent, and an authorization server that
 * ignores it still works.
 */
export function staticDiscoveryState(endpoints: StaticEndpoints): OAuthDiscoveryState {
  const issuer = endpoints.issuer ?? new URL(endpoints.tokenUrl).origin;
  return {
    authorizationServerUrl: issuer,
    authorizationServerMetadata: {
      issuer,
      token_endpoint: endpoints.tokenUrl,
      // The SDK's metadata type asks for one; without --authorization-url only machine grants work.
      authorization_endpoint: endpoints.authorizationUrl ?? endpoints.tokenUrl,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    },
  };
}

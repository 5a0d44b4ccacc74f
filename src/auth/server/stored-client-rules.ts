// How a client added by `gatehouse clients add` carries what a config client says in `resource`,
// `requirePkce` and `clientCredentialsResources` (CLI and authorization server both read this
// file; it loads no oidc-provider).

/**
 * Extension properties of a stored Client record, kept by oidc-provider under these names:
 * `gatehouse_resource` (a protected path such as /api, or its absolute URL),
 * `gatehouse_require_pkce: false` and `gatehouse_client_credentials_resources` (a list of
 * protected paths, or their absolute URLs). A record without them has the defaults: no default
 * resource, PKCE required, client_credentials tokens held to `gatehouse_resource` alone. Only an
 * operator sets them: registration refuses them, and so does a client ID metadata document
 * (client-policy.ts).
 */
export const STORED_RESOURCE = 'gatehouse_resource';
export const STORED_REQUIRE_PKCE = 'gatehouse_require_pkce';
export const STORED_CLIENT_CREDENTIALS_RESOURCES = 'gatehouse_client_credentials_resources';
export const STORED_RULES: readonly string[] = [STORED_RESOURCE, STORED_REQUIRE_PKCE, STORED_CLIENT_CREDENTIALS_RESOURCES];

/** A client's `resource` (a protected path such as /api, or its absolute URL) as an absolute URL under the issuer. */
export function clientResourceUrl(resource: string, issuer: string): string {
  return resource.startsWith('/') ? `${issuer.replace(/\/+$/, '')}${resource}` : resource;
}

// How a client added by `gatehouse clients add` carries what a config client says in `resource`
// and `requirePkce` (CLI and authorization server both read this file; it loads no oidc-provider).

/**
 * Extension properties of a stored Client record, kept by oidc-provider under these names:
 * `gatehouse_resource` (a protected path such as /api, or its absolute URL) and
 * `gatehouse_require_pkce: false`. A record without them has the defaults: no default
 * resource, PKCE required. Only an operator sets them: registration refuses them, and so does
 * a client ID metadata document (client-policy.ts).
 */
export const STORED_RESOURCE = 'gatehouse_resource';
export const STORED_REQUIRE_PKCE = 'gatehouse_require_pkce';
export const STORED_RULES: readonly string[] = [STORED_RESOURCE, STORED_REQUIRE_PKCE];

/** A client's `resource` (a protected path such as /api, or its absolute URL) as an absolute URL under the issuer. */
export function clientResourceUrl(resource: string, issuer: string): string {
  return resource.startsWith('/') ? `${issuer.replace(/\/+$/, '')}${resource}` : resource;
}

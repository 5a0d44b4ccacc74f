// The headers of a refusal made in front of the authorization server (http/auth-routes.ts: the
// edge's 403 for an address outside auth.allowedIps or a Host the gateway does not answer to,
// registration.allowedIps' 403, the rate limit's 429). Like json-token-request.ts this imports
// nothing that imports http/, so http/ can take it without a cycle.
import { tokenEndpointCors } from './json-token-request.js';
import { OIDC_DISCOVERY, PRM_PATH, ROUTES } from './provider-routes.js';

/**
 * Each browser-reachable route's CORS, as its own answers carry it (decision 0015), for an Origin:
 * - token, revocation, introspection: oidc-provider's `clientWithDPoP` and `client` policies
 *   (lib/helpers/initialize_app.js) before any client is known. With DPoP and client attestation
 *   off (provider-configuration.ts) both expose WWW-Authenticate only: tokenEndpointCors.
 * - discovery (both well-known names) and JWKS: its `open` policy, the Origin as sent, `*`
 *   without one, `Vary: Origin`, nothing exposed.
 * - RFC 9728 resource metadata: ours (authorization-listener.ts), `*` whatever the Origin.
 * Registration, login and consent: none, as the provider's and our pages' own answers have none
 * (a refusal a page could read would tell it nothing it can act on there).
 */
function routeCors(path: string, origin: string | undefined): Record<string, string> | undefined {
  if (path === ROUTES.token || path === ROUTES.revocation || path === ROUTES.introspection) return tokenEndpointCors(origin);
  if (path === OIDC_DISCOVERY || path === '/.well-known/oauth-authorization-server' || path === ROUTES.jwks) {
    return { 'access-control-allow-origin': origin || '*', vary: 'Origin' };
  }
  if (path === PRM_PATH || path.startsWith(`${PRM_PATH}/`)) return { 'access-control-allow-origin': '*' };
  return undefined;
}

/**
 * What a guard's refusal of `path` (as oidc-provider's router matches it: lower case, no
 * trailing slash) carries besides its body: the route's CORS headers, so a browser page reads
 * why it was refused instead of a CORS failure, with `expose` added to the exposed headers
 * (Retry-After on a 429: a page reads only the headers it is allowed to, Fetch "CORS-safelisted
 * response-header name"); and `Cache-Control: no-store`, on every refusal: it is about this
 * client now, and no cache may hand it to the next one in place of a discovery document or JWKS
 * (RFC 9111 §5.2.2.5; RFC 6749 §5.1 asks it of every token endpoint answer).
 */
export function guardRefusalHeaders(path: string, origin: string | undefined, expose?: string): Record<string, string> {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  const cors = routeCors(path, origin);
  if (!cors) return headers;
  Object.assign(headers, cors);
  if (expose) {
    const exposed = headers['access-control-expose-headers'];
    headers['access-control-expose-headers'] = exposed ? `${exposed}, ${expose}` : expose;
  }
  return headers;
}

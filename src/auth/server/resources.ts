/**
 * What a protected resource serves: the MCP endpoints, or the OpenAPI bridge's REST calls.
 * A token is bound to one surface: an MCP token does not open the REST API, nor the reverse.
 */
export type ResourceSurface = 'mcp' | 'rest';

/** A protected endpoint: its path under the issuer, and the server it opens (none: the aggregate). */
export interface ProtectedResource {
  readonly path: string;
  readonly server?: string | undefined;
  /** Default `mcp`. */
  readonly surface?: ResourceSurface | undefined;
}

/** A protected resource with its absolute identifiers. */
export interface ResolvedResource {
  readonly path: string;
  readonly server: string | undefined;
  readonly surface: ResourceSurface;
  /** RFC 8707 resource indicator and token audience: the issuer's base + path. */
  readonly url: string;
  /** RFC 9728 §3.1: the well-known path inserted between the host and the resource's path. */
  readonly metadataUrl: string;
}

export const RESOURCE_SCOPE = 'mcp';

export function resolveResources(issuer: string, resources: readonly ProtectedResource[]): ResolvedResource[] {
  const base = new URL(issuer);
  const seen = new Set<string>();
  const out: ResolvedResource[] = [];
  for (const r of resources) {
    if (!r.path.startsWith('/') || r.path.includes('#') || r.path.includes('?')) {
      throw new Error(`protected resource path "${r.path}" must start with / and hold no query or fragment`);
    }
    const url = `${issuer.replace(/\/+$/, '')}${r.path}`;
    if (seen.has(url)) continue;
    seen.add(url);
    const pathname = new URL(url).pathname;
    out.push({ path: r.path, server: r.server, surface: r.surface ?? 'mcp', url, metadataUrl: `${base.origin}/.well-known/oauth-protected-resource${pathname}` });
  }
  return out;
}

/** RFC 9728 §2 metadata of one resource. */
export function protectedResourceMetadata(resource: ResolvedResource, issuer: string): Record<string, unknown> {
  return {
    resource: resource.url,
    authorization_servers: [issuer],
    scopes_supported: [RESOURCE_SCOPE],
    bearer_methods_supported: ['header'],
    resource_name: `${resource.server === undefined ? 'Gatehouse (all servers)' : `Gatehouse: ${resource.server}`}${resource.surface === 'rest' ? ', REST API' : ''}`,
  };
}

/** At most this many URLs in an invalid_target description. */
const LISTED = 5;

/**
 * The protected resource URLs, for an `invalid_target` error_description (RFC 8707 §2: the
 * requested resource is invalid, unknown or malformed; saying which are valid is what lets the
 * client fix it). Exact URLs, at most five, then how many there are in all. When the refused
 * indicator has a protected path, that resource comes first: a client that sends its URL by
 * another origin (https where the issuer is http://{listen}, another host) sees the right one
 * however many servers the gateway has.
 */
export function listResources(resources: readonly ResolvedResource[], refused?: string): string {
  let path: string | undefined;
  try {
    if (refused !== undefined) path = new URL(refused).pathname.replace(/(.)\/+$/, '$1');
  } catch {
    path = undefined;
  }
  const first = resources.filter((r) => new URL(r.url).pathname === path);
  const urls = [...first, ...resources.filter((r) => !first.includes(r))].map((r) => r.url);
  return urls.length > LISTED ? `${urls.slice(0, LISTED).join(', ')}, ... (${urls.length} in all)` : urls.join(', ');
}

/**
 * A client's value as it may stand in an error_description: RFC 6749 §5.2 allows only
 * %x20-21 / %x23-5B / %x5D-7E there, so other characters are percent-encoded, and a long value
 * is cut (it is the client's own, shown only so it can tell which one was refused).
 */
export function inDescription(value: string, max = 200): string {
  // Each character as its UTF-8 bytes (a lone surrogate as U+FFFD's).
  const safe = value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
  return safe.length > max ? `${safe.slice(0, max)}...` : safe;
}

export interface ChallengeError {
  readonly error: string;
  readonly description?: string | undefined;
  /** RFC 6750 §3: the scope needed (insufficient_scope). */
  readonly scope?: string | undefined;
}

/** RFC 6750 §3 / RFC 9728 §5.1 challenge; without `error` when no credentials were presented. */
export function bearerChallenge(metadataUrl: string, error?: ChallengeError): string {
  const parts = [`resource_metadata="${quote(metadataUrl)}"`, `scope="${quote(error?.scope ?? RESOURCE_SCOPE)}"`];
  if (error) {
    parts.push(`error="${quote(error.error)}"`);
    if (error.description) parts.push(`error_description="${quote(error.description)}"`);
  }
  return `Bearer ${parts.join(', ')}`;
}

// RFC 9110 quoted-string: no controls; escape backslash and quote.
function quote(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? ' ' : ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return out;
}

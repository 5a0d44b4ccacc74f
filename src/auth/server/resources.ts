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

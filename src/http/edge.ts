import type { ResolvedConfig } from '../config/index.js';
import { resolveClientIp } from './client-ip.js';
import { createCorsPolicy } from './cors.js';
import { allowedHostnames, checkHostAndOrigin, checkWithoutCredential, openBindHostnames } from './guards.js';
import { IpSet } from './ip.js';

/** A refusal at the edge, before any route runs. */
export interface EdgeRefusal {
  readonly ok: false;
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

export interface EdgeAdmission {
  readonly ok: true;
  readonly ip: string | undefined;
  /** The direct peer is a trusted proxy, so its forwarding headers count. */
  readonly trustedHop: boolean;
}

/**
 * Who is calling, and may they knock at all: client IP through trusted proxies only,
 * the IP allowlist, and the DNS-rebinding guard. One function for every entry path.
 */
export function createEdge(config: Pick<ResolvedConfig, 'trustProxy' | 'clientIpHeader' | 'auth' | 'listen' | 'publicUrl'> & { readonly cors?: ResolvedConfig['cors'] }) {
  const trusted = new IpSet(config.trustProxy);
  const allowedIps = config.auth.allowedIps.length ? new IpSet(config.auth.allowedIps) : undefined;
  const hostnames = allowedHostnames(config.listen.host, config.publicUrl);
  // The origins whose pages may call (cors.ts): the MCP and REST listeners answer their
  // preflights and let them read answers; a loopback bind admits them past the rebinding guard.
  // (With auth.mode none the default list is empty: config load.ts.)
  const cors = createCorsPolicy(config.cors?.origins ?? [], config.publicUrl);
  // With auth.mode none nothing but these headers stands between a page and the tools, on any
  // bind (a container published on the host's loopback binds 0.0.0.0): the MCP and REST routes
  // refuse every foreign Origin, and check Host wherever the gateway knows its names.
  const open = config.auth.mode === 'none';
  const openHosts = open ? (hostnames ?? openBindHostnames(config.listen.host, config.publicUrl)) : undefined;
  const edge = (
    remoteAddress: string | undefined,
    headers: { get(name: string): string | null },
    /** cors: the route is one of those that CORS opens (MCP, REST), so cors.origins pass the rebinding guard. */
    options: { checkOrigin?: boolean; cors?: boolean } = {},
  ): EdgeAdmission | EdgeRefusal => {
    const ip = resolveClientIp(remoteAddress, headers, trusted, config.clientIpHeader);
    if (allowedIps && !allowedIps.has(ip)) {
      return { ok: false, status: 403, error: 'access_denied', description: 'your address may not use this gateway' };
    }
    // Browser-based MCP clients call the OAuth endpoints from their own origin (CORS); those
    // endpoints need a code verifier or a token anyway, so only the Host is checked there.
    const rebinding =
      open && options.cors
        ? checkWithoutCredential(headers, openHosts, !hostnames, cors.allows)
        : checkHostAndOrigin(options.checkOrigin === false ? withoutOrigin(headers) : headers, hostnames, options.cors ? cors.allows : undefined);
    if (rebinding) return { ok: false, status: 403, error: 'access_denied', description: rebinding };
    return { ok: true, ip, trustedHop: trusted.has(remoteAddress) };
  };
  return Object.assign(edge, { cors });
}

export type Edge = ReturnType<typeof createEdge>;

/** The edge option of the routes CORS opens (the MCP listener, the REST bridge). */
export const CORS_ROUTE = { cors: true } as const;

export function problemBody(error: string, description: string): string {
  return JSON.stringify({ error, error_description: description });
}

function withoutOrigin(headers: { get(name: string): string | null }): { get(name: string): string | null } {
  return { get: (name) => (name.toLowerCase() === 'origin' ? null : headers.get(name)) };
}

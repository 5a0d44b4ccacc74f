import type { ResolvedConfig } from '../config/index.js';
import { resolveClientIp } from './client-ip.js';
import { allowedHostnames, checkHostAndOrigin } from './guards.js';
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
export function createEdge(config: Pick<ResolvedConfig, 'trustProxy' | 'auth' | 'listen' | 'publicUrl'>) {
  const trusted = new IpSet(config.trustProxy);
  const allowedIps = config.auth.allowedIps.length ? new IpSet(config.auth.allowedIps) : undefined;
  const hostnames = allowedHostnames(config.listen.host, config.publicUrl);
  return (remoteAddress: string | undefined, headers: { get(name: string): string | null }): EdgeAdmission | EdgeRefusal => {
    const ip = resolveClientIp(remoteAddress, headers, trusted);
    if (allowedIps && !allowedIps.has(ip)) {
      return { ok: false, status: 403, error: 'access_denied', description: 'your address may not use this gateway' };
    }
    const rebinding = checkHostAndOrigin(headers, hostnames);
    if (rebinding) return { ok: false, status: 403, error: 'access_denied', description: rebinding };
    return { ok: true, ip, trustedHop: trusted.has(remoteAddress) };
  };
}

export type Edge = ReturnType<typeof createEdge>;

export function problemBody(error: string, description: string): string {
  return JSON.stringify({ error, error_description: description });
}

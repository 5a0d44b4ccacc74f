import { isIP } from 'node:net';
import { type IpSet, unmapV4 } from './ip.js';

/** Anything with `get(name)`: web Headers, or a view of Node's request headers. */
export interface HeaderSource {
  get(name: string): string | null;
}

/**
 * The caller's address. Forwarding headers are believed only when the hop that sent them
 * is in `trustProxy`; then the address is the nearest one, walking back through
 * X-Forwarded-For, that is not itself a trusted proxy.
 *
 * Only the header the trusted proxies maintain may be read: nginx, HAProxy, Caddy, Traefik and
 * cloud balancers append to X-Forwarded-For and pass a client's own `Forwarded`, X-Real-IP or
 * CF-Connecting-IP through untouched, so believing those would let anyone choose their address
 * for `auth.allowedIps`, `registration.allowedIps` and the rate limits (RFC 7239 section 8.1).
 * `clientIpHeader` names another one when every trusted proxy sets it: `Forwarded` (RFC 7239
 * `for=`, walked back like X-Forwarded-For), or a single-value header such as CF-Connecting-IP.
 */
export function resolveClientIp(remoteAddress: string | undefined, headers: HeaderSource, trusted: IpSet, clientIpHeader?: string): string | undefined {
  const remote = remoteAddress ? unmapV4(remoteAddress) : undefined;
  if (!remote || !trusted.has(remote)) return remote;

  const named = clientIpHeader?.toLowerCase();
  if (named !== undefined && named !== 'forwarded' && named !== 'x-forwarded-for') {
    const v = headers.get(named)?.trim();
    if (v && isIP(unmapV4(v))) return unmapV4(v);
  }
  const chain = [...(named === 'forwarded' ? forwardedFor(headers) : xForwardedFor(headers)), remote];
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = chain[i]!;
    if (!trusted.has(hop)) return hop;
  }
  return chain[0];
}

/** Addresses from `Forwarded: for=` (RFC 7239), client first. */
function forwardedFor(headers: HeaderSource): string[] {
  const forwarded = headers.get('forwarded');
  if (!forwarded) return [];
  const out: string[] = [];
  for (const m of forwarded.matchAll(/for=("?)\[?([^\]";,]+)\]?(?::\d+)?\1/gi)) {
    const ip = unmapV4(m[2]!.trim());
    if (isIP(ip)) out.push(ip);
  }
  return out;
}

/** Addresses from `X-Forwarded-For`, client first. */
function xForwardedFor(headers: HeaderSource): string[] {
  const xff = headers.get('x-forwarded-for');
  if (!xff) return [];
  return xff
    .split(',')
    .map((s) => unmapV4(s.trim()))
    .filter((s) => isIP(s));
}

/**
 * The base URL clients see: `publicUrl` when configured; else the scheme and host a trusted
 * proxy reports (Forwarded / X-Forwarded-Proto / X-Forwarded-Host); else the Host header.
 */
export function resolveBaseUrl(publicUrl: string | undefined, requestUrl: string, headers: HeaderSource, fromTrustedProxy: boolean): string {
  if (publicUrl) return publicUrl;
  const url = new URL(requestUrl);
  let proto = url.protocol.replace(':', '');
  let host = headers.get('host') ?? url.host;
  let prefix = '';
  if (fromTrustedProxy) {
    const fwd = headers.get('forwarded');
    const fProto = fwd ? /proto=("?)(https?)\1/i.exec(fwd)?.[2] : undefined;
    const fHost = fwd ? /host=("?)([^";,]+)\1/i.exec(fwd)?.[2] : undefined;
    proto = fProto ?? headers.get('x-forwarded-proto')?.split(',')[0]?.trim() ?? proto;
    host = fHost ?? headers.get('x-forwarded-host')?.split(',')[0]?.trim() ?? host;
    prefix = (headers.get('x-forwarded-prefix') ?? '').replace(/\/+$/, '');
    if (!/^https?$/i.test(proto)) proto = 'http';
  }
  // A Host value is only trusted to be a host[:port]; anything else falls back to the socket's view.
  if (!/^[A-Za-z0-9.\-[\]:]+$/.test(host)) host = url.host;
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(prefix)) prefix = '';
  return `${proto.toLowerCase()}://${host}${prefix}`;
}

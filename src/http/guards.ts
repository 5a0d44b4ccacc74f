import { isIP } from 'node:net';
import { isLoopback } from './ip.js';

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Host names that a loopback-bound gateway answers to (DNS rebinding defence). */
export function allowedHostnames(listenHost: string, publicUrl: string | undefined): Set<string> | undefined {
  const loopbackBound = listenHost === 'localhost' || isLoopback(listenHost);
  if (!loopbackBound) return undefined;
  const names = new Set(LOOPBACK_HOSTS);
  if (publicUrl) names.add(new URL(publicUrl).hostname.toLowerCase());
  return names;
}

/**
 * Host names a gateway without credentials (`auth.mode: none`) answers to on a non-loopback
 * bind: loopback, publicUrl's host and the listen host, besides any IP literal (checked by
 * `checkWithoutCredential`). Undefined when Host cannot be checked: on a wildcard bind
 * (`0.0.0.0`, `::`) without publicUrl, clients name the gateway by any name that reaches it
 * (a compose service, a LAN name), and the gateway cannot know them.
 */
export function openBindHostnames(listenHost: string, publicUrl: string | undefined): Set<string> | undefined {
  const wildcard = isWildcard(listenHost);
  if (wildcard && !publicUrl) return undefined;
  const names = new Set(LOOPBACK_HOSTS);
  if (publicUrl) names.add(new URL(publicUrl).hostname.toLowerCase());
  if (!wildcard) names.add(isIP(listenHost) === 6 ? `[${listenHost.toLowerCase()}]` : listenHost.toLowerCase());
  return names;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || (isIP(host) === 6 && /^[0:]+$/.test(host));
}

/** 10.0.0.5 or [fe80::1], as a Host header's name: no DNS answer can rebind it. */
function isIpLiteral(name: string): boolean {
  return name.startsWith('[') ? isIP(name.slice(1, -1)) === 6 : isIP(name) === 4;
}

function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  return h.split(':')[0]!;
}

/**
 * When the gateway listens on loopback, a browser page on another site could reach it by
 * rebinding a DNS name to 127.0.0.1. Refuse requests whose Host or Origin names another host,
 * unless `originAllowed` (the CORS policy: `cors.origins`, cors.ts) lets that Origin in.
 */
export function checkHostAndOrigin(
  headers: { get(name: string): string | null },
  allowed: Set<string> | undefined,
  originAllowed?: (origin: string) => boolean,
): string | undefined {
  if (!allowed) return undefined;
  const host = headers.get('host');
  if (host && !allowed.has(hostnameOf(host))) return `Host "${host}" is not allowed`;
  const origin = headers.get('origin');
  if (origin && origin !== 'null') {
    let name: string;
    try {
      name = new URL(origin).hostname.toLowerCase();
    } catch {
      return 'malformed Origin';
    }
    if (!allowed.has(name) && !allowed.has(`[${name}]`) && !originAllowed?.(origin)) return `Origin "${origin}" is not allowed`;
  }
  return undefined;
}

/**
 * The guard of the MCP and REST routes when no credential guards them (`auth.mode: none`),
 * on every bind (docs/decisions/0015-cors.md, "auth.mode none on any bind"):
 *
 * - Origin, when sent, must be one `originAllowed` takes (the CORS policy: loopback origins,
 *   publicUrl's, `cors.origins`); `null` is foreign too. A browser sends Origin with every
 *   POST, same-origin ones included, so no page of another site can call a tool.
 * - Host, when `hosts` is given, must be in it, or be an IP literal if `ipLiterals` (a
 *   non-loopback bind: a client may name any interface address, and rebinding needs a DNS
 *   name). This also refuses the same-origin GETs of a rebound page, which carry no Origin.
 *
 * A request without Origin is not from a page (curl, server-side clients) and passes the
 * Origin rule.
 */
export function checkWithoutCredential(
  headers: { get(name: string): string | null },
  hosts: Set<string> | undefined,
  ipLiterals: boolean,
  originAllowed: (origin: string) => boolean,
): string | undefined {
  const host = headers.get('host');
  if (hosts && host) {
    const name = hostnameOf(host);
    if (!hosts.has(name) && !(ipLiterals && isIpLiteral(name))) {
      return `Host "${host}" is not allowed: with auth.mode none, name this gateway by an IP address, localhost, its listen host or publicUrl's host (DNS rebinding guard)`;
    }
  }
  const origin = headers.get('origin');
  if (origin !== null && !originAllowed(origin)) {
    return `Origin "${origin}" is not allowed: with auth.mode none, only loopback pages, publicUrl's origin and cors.origins may call (DNS rebinding guard)`;
  }
  return undefined;
}

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

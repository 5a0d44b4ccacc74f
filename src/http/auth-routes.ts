import type { IncomingMessage, ServerResponse } from 'node:http';
// refusal-headers.ts imports nothing that imports http/, so http/ can take the routes' CORS from
// it without a cycle (auth/server's index imports http/).
import { guardRefusalHeaders } from '../auth/server/refusal-headers.js';
import type { ResolvedConfig } from '../config/index.js';
import { problemBody, type Edge } from './edge.js';
import { IpSet } from './ip.js';
import { headerView } from './node-request.js';
import { RateLimiter } from './rate-limit.js';

const AUTH_PATH = /^\/(?:oauth\/|\.well-known\/|login(?:\/|$)|consent(?:\/|$))/;
/** The character after the leading slash in every AUTH_PATH: o(auth), .(well-known), l(ogin), c(onsent). */
const AUTH_SECOND_CHAR = new Set(['o', '.', 'l', 'c'].map((c) => c.charCodeAt(0)));
const API_PATH = /^\/(?:oauth\/|\.well-known\/)/;

/**
 * Puts the edge checks (IP allowlist, DNS-rebinding guard) and `registration.allowedIps`
 * in front of the authorization server's own listener, which runs on raw Node req/res. Its
 * paths are AUTH_PATH's and the providers' own callback paths (`auth.providers[].callbackPath`).
 */
export function guardAuthRoutes(
  config: Pick<ResolvedConfig, 'auth'>,
  edge: Edge,
  listener: (req: IncomingMessage, res: ServerResponse) => boolean,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const registrants = config.auth.registration.allowedIps.length ? new IpSet(config.auth.registration.allowedIps) : undefined;
  // Exact paths, as the provider sends the browser back to exactly the redirect_uri it was given;
  // one under /oauth/ (a provider's own default, written out) is an AUTH_PATH already.
  const callbacks = new Set(config.auth.providers.flatMap((p) => (p.callbackPath === undefined || AUTH_PATH.test(p.callbackPath) ? [] : [p.callbackPath])));
  // Brute-force guards per client address: password attempts, token and registration calls.
  const limits: [RegExp, RateLimiter][] = [
    [/^\/login(?:\/|$)/, new RateLimiter(10, 60_000)],
    [/^\/oauth\/token$/, new RateLimiter(120, 60_000)],
    [/^\/oauth\/register$/, new RateLimiter(20, 60_000)],
  ];
  const refuse = (res: ServerResponse, status: number, error: string, description: string, headers: Record<string, string>): true => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...headers }).end(problemBody(error, description));
    return true;
  };
  return (req, res) => {
    const url = req.url ?? '/';
    // Every request passes here first (the MCP routes too): AUTH_PATH's second characters are
    // enough to let the others go without splitting the URL, unless a provider has its own callback path.
    const maybeAuth = AUTH_SECOND_CHAR.has(url.charCodeAt(1));
    if (!maybeAuth && callbacks.size === 0) return false;
    const path = url.split('?', 1)[0]!;
    const callback = callbacks.has(path);
    if (!callback && !(maybeAuth && AUTH_PATH.test(path))) return false;
    // oidc-provider's router ignores case and one trailing slash; the authorization server answers
    // 404 to any spelling of its paths but the exact one, and the guards below compare this
    // canonical form as well, so no spelling of a guarded path gets past them.
    const guarded = canonicalPath(path);
    const headers = headerView(req);
    // A provider's redirect back is a cross-site navigation, like a callback under /oauth/.
    const admitted = edge(req.socket.remoteAddress, headers, { checkOrigin: !callback && !API_PATH.test(path) });
    // Each refusal carries its route's CORS headers and no-store (guardRefusalHeaders, decision 0015).
    if (!admitted.ok) return refuse(res, admitted.status, admitted.error, admitted.description, guardRefusalHeaders(guarded, req.headers.origin));
    if (registrants && guarded === '/oauth/register' && req.method === 'POST' && !registrants.has(admitted.ip)) {
      return refuse(res, 403, 'access_denied', 'your address may not register clients', guardRefusalHeaders(guarded, req.headers.origin));
    }
    if (req.method === 'POST') {
      for (const [pattern, limiter] of limits) {
        if (!pattern.test(guarded)) continue;
        const wait = limiter.hit(admitted.ip ?? 'unknown');
        if (wait > 0) {
          const headers = { 'retry-after': String(wait), ...guardRefusalHeaders(guarded, req.headers.origin, 'Retry-After') };
          return refuse(res, 429, 'slow_down', `too many attempts from your address; try again in ${wait} s`, headers);
        }
      }
    }
    return listener(req, res);
  };
}

/** A path as oidc-provider's router matches it: letter case folded, one trailing slash dropped. */
function canonicalPath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}

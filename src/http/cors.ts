import { isIP } from 'node:net';
import type { Reply } from '../gateway/index.js';
import { isLoopback } from './ip.js';

// CORS for the MCP routes and the REST bridge (docs/decisions/0015-cors.md).
//
// Browser-based MCP clients (ChatGPT connectors, claude.ai, the MCP Inspector) call these
// routes from a page of their own origin. They carry a bearer token in a header, never a
// cookie, so letting a listed origin read the answers gives that page nothing its token does
// not already give it; no answer ever says Access-Control-Allow-Credentials. Every other
// origin gets no CORS headers, its preflight is refused, and on a loopback bind the edge
// refuses its requests outright (guards.ts), as the MCP transport spec's security warning asks:
// servers MUST validate the Origin header on all incoming connections to prevent DNS
// rebinding, and answer 403 Forbidden to a present and invalid Origin (2025-11-25
// basic/transports, "Security Warning"). The SDK's server examples answer `origin: '*'` with
// `exposedHeaders: ['Mcp-Session-Id']` and leave "configure appropriately for production" to the
// reader; we expose the same header (and the 401 challenge), and reflect listed origins only.

/** What a preflight may ask to send: the MCP transport's headers and a bearer token. */
const ALLOW_HEADERS = ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id', 'accept'];
/** What a page may read beyond the safelisted headers: the session id, and the 401 challenge it must follow. */
export const CORS_EXPOSE_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate, Retry-After';
/** Seconds a browser may keep a preflight's answer (Chromium caps it at 7200). */
const MAX_AGE = '7200';
/** An HTTP header name (RFC 9110 token). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

export interface CorsPolicy {
  /** A page of this origin (the Origin header as sent) may call the routes and read their answers. */
  readonly allows: (origin: string) => boolean;
  /** Headers an answer gets for a request with this Origin; undefined for none (no Origin, or one not allowed). */
  answerHeaders(origin: string | null): Record<string, string> | undefined;
  /** The answer to OPTIONS on a route that takes `methods` (a CORS preflight, or a plain OPTIONS). */
  preflight(headers: { get(name: string): string | null }, methods: string): Reply;
}

/**
 * Allowed: the configured origins (`cors.origins`), publicUrl's origin (its own pages), and
 * loopback origins of any port (the MCP Inspector; a page served from this machine is run by
 * a program that could make the same calls itself).
 */
export function createCorsPolicy(origins: readonly string[], publicUrl: string | undefined): CorsPolicy {
  const listed = new Set(origins);
  if (publicUrl) listed.add(new URL(publicUrl).origin);
  const allows = (origin: string): boolean => listed.has(origin) || isLoopbackOrigin(origin);
  return {
    allows,
    answerHeaders(origin) {
      if (origin === null || !allows(origin)) return undefined;
      return { 'access-control-allow-origin': origin, 'access-control-expose-headers': CORS_EXPOSE_HEADERS, vary: 'origin' };
    },
    preflight(headers, methods) {
      const origin = headers.get('origin');
      if (origin === null) return { status: 204, headers: { allow: methods }, body: null };
      if (!allows(origin)) {
        return {
          status: 403,
          headers: { 'content-type': 'application/json', vary: 'origin' },
          body: JSON.stringify({ error: 'access_denied', error_description: `Origin "${origin}" may not call this gateway from a browser (cors.origins)` }),
        };
      }
      const asked = (headers.get('access-control-request-headers') ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== '' && TOKEN.test(h));
      const answer: Record<string, string> = {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': methods,
        // The MCP headers, and whatever else this allowed page asked to send: the gateway reads
        // only what it knows, and no header carries ambient authority here.
        'access-control-allow-headers': [...new Set([...ALLOW_HEADERS, ...asked])].join(', '),
        'access-control-max-age': MAX_AGE,
        vary: 'origin, access-control-request-headers, access-control-request-private-network',
      };
      // Chromium's Private Network Access: a public page (https://chatgpt.com) reaching a
      // loopback or private address asks first; only allowed origins are told yes.
      if (headers.get('access-control-request-private-network') === 'true') answer['access-control-allow-private-network'] = 'true';
      return { status: 204, headers: answer, body: null };
    },
  };
}

/** http(s)://localhost, 127.x.x.x or [::1], any port. */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.hostname === 'localhost') return true;
  const ip = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(ip) !== 0 && isLoopback(ip);
}

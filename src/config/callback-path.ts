import { RESERVED_SERVER_NAMES } from './server-name.js';

// `auth.providers[].callbackPath` (docs/decisions/0008-federated-login.md): where an upstream
// provider sends the browser back. It is the path of the redirect_uri, which providers compare
// exactly, and a route served ahead of the MCP and REST routes (app.ts asks the authorization
// server first), so it must be a plain path that no route of Gatehouse's own answers.

/** Where a provider's callback is without `callbackPath`: `/oauth/callback/{id}`. */
export const CALLBACK_PREFIX = '/oauth/callback/';

export function defaultCallbackPath(id: string): string {
  return `${CALLBACK_PREFIX}${id}`;
}

/** Last segments of the MCP and OpenAPI routes (`/{server}/mcp`, `/{server}/openapi.json`; mcp-listener.ts, openapi/routes.ts). */
const ROUTE_ENDINGS = new Set(['mcp', 'sse', 'message', 'messages', 'openapi.json']);

/** Why `path` cannot be a callback path as written; undefined when it can. */
export function callbackPathSyntaxProblem(path: string): string | undefined {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return 'a path, not a URL: write /auth/callback (the scheme and host are publicUrl\'s)';
  if (!path.startsWith('/')) return 'must start with /, e.g. /auth/callback';
  // Providers compare the redirect_uri exactly and append their own query (RFC 6749 §3.1.2).
  if (/[?#]/.test(path)) return 'no query (?) or fragment (#): the provider adds its own query';
  // A browser resolves dot segments (RFC 3986 §5.2.4): it would ask for another path than the one sent.
  if (path.includes('..') || /\/\.(?:\/|$)/.test(path)) return 'no ".." and no "." segment';
  if (path === '/') return 'must name a path below /, e.g. /auth/callback';
  if (path.includes('//')) return 'no empty segment (//)';
  if (!/^(?:\/[A-Za-z0-9._~-]+)+\/?$/.test(path)) return 'only letters, digits and - . _ ~ between the slashes';
  if (path.length > 200) return 'at most 200 characters';
  return undefined;
}

/**
 * Which of Gatehouse's own routes `path` would take over; undefined for none. `serverNames`:
 * the configured servers, whose names are the first segment of their routes. Compared without
 * regard to case, as some routes are matched (the authorization server's) and as people read them.
 */
export function callbackPathCollision(path: string, serverNames: readonly string[]): string | undefined {
  const segments = path.toLowerCase().slice(1).replace(/\/$/, '').split('/');
  const first = segments[0]!;
  if (RESERVED_SERVER_NAMES.has(first)) {
    return `/${first} is Gatehouse's own (/mcp, /oauth/..., /.well-known/..., /login, /consent, /api/..., /healthz, /readyz, /metrics, ...): pick a path outside it, e.g. /auth/callback`;
  }
  const server = serverNames.find((name) => name.toLowerCase() === first);
  if (server !== undefined) return `/${first}/... holds the routes of server "${server}" (/${server}/mcp, /${server}/api/...): pick a path outside it`;
  const last = segments[segments.length - 1]!;
  if (ROUTE_ENDINGS.has(last) || (segments[1] === 'api' && segments[2] === 'tools')) {
    return `has the shape of a server's route (/{server}/mcp, /{server}/sse, /{server}/openapi.json, /{server}/api/tools/...): pick another`;
  }
  return undefined;
}

// Serving under the path of publicUrl (docs/decisions/0019-base-path.md). With publicUrl
// `https://example.com/proxy`, clients are given `https://example.com/proxy/{name}/mcp`, the
// issuer `https://example.com/proxy`, and so on. A request for `/proxy/...` is served as `/...`
// (every route), and a request at the root as it always was (a reverse proxy that strips the
// path sends those). `/proxy/...` is always taken as under the path, never as a root route:
// one meaning per URL, the one the advertised URLs give it.
import type { Logger } from '../observability/index.js';

/**
 * One segment of a base path: RFC 3986 unreserved characters only. Not percent-encoding, which
 * clients and proxies may decode or re-case (RFC 3986 §6.2.2): what is written is what they
 * send. Not the sub-delimiters either: the path goes into cookie Path attributes, where `;`
 * would start another attribute (`/x;Domain=...`) and `,` or `=` break cookie parsers.
 */
const SEGMENT = /^[A-Za-z0-9._~-]+$/;

/**
 * The path of publicUrl that Gatehouse serves under: '' for none (no publicUrl, or one at the
 * root), else `/a` or `/a/b`, without a trailing slash. A path that clients would not send as it
 * is written (dot segments, characters a URL encodes, `//`) or that starts with `/.well-known`
 * (RFC 8615's, served at the root) is refused: the advertised URLs are built from publicUrl as
 * written, and requests must match them exactly.
 */
export function basePathOf(publicUrl: string | undefined): { path: string } | { problem: string } {
  if (publicUrl === undefined) return { path: '' };
  let url: URL;
  try {
    url = new URL(publicUrl);
  } catch {
    return { problem: 'is not a URL' };
  }
  const path = url.pathname.replace(/\/+$/, '');
  if (path === '') return { path: '' };
  // The path as written: after scheme://authority, before any query or fragment.
  const written = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/.exec(publicUrl)?.[1]?.replace(/\/+$/, '');
  if (written !== path) return { problem: `has the path ${JSON.stringify(written ?? '')}, which a URL reads as ${path}: write publicUrl with the path clients send` };
  const segments = path.slice(1).split('/');
  if (segments.some((s) => s === '')) return { problem: `has an empty segment (//) in its path ${path}` };
  if (segments.some((s) => s === '.' || s === '..' || /^(?:\.|%2e){1,2}$/i.test(s))) return { problem: `has a dot segment in its path ${path}` };
  if (!segments.every((s) => SEGMENT.test(s))) return { problem: `has characters in its path ${path} that clients or proxies may send otherwise (percent-encoding): use letters, digits and - . _ ~` };
  if (decodeSegment(segments[0]!).toLowerCase() === '.well-known') return { problem: `has a path under /.well-known (${path}), which is RFC 8615's and served at the root` };
  return { path };
}

/** The base path of a config's publicUrl; throws, naming publicUrl, when it cannot be served under. */
export function servedBasePath(publicUrl: string | undefined): string {
  const base = basePathOf(publicUrl);
  if ('problem' in base) throw new Error(`publicUrl ${publicUrl ?? ''} ${base.problem}`);
  return base.path;
}

/**
 * The request target `url` (Node's req.url) with `base` taken off, when the request is under it:
 * `base` followed by `/`, compared byte for byte (no decoding, no case folding), so `/proxyX/`,
 * `/%70roxy/`, `//proxy/` and `/PROXY/` are not under `/proxy` and are served as the root serves
 * them. `base` alone (`/proxy`, `/proxy?q`) is not under it either: it names no route there.
 * Whatever follows is handed on as it is, so `/proxy/../x` reaches what `/../x` reaches at the root.
 */
export function underBasePath(url: string, base: string): string | undefined {
  if (base === '' || url.length <= base.length || url.charCodeAt(base.length) !== SLASH || !url.startsWith(base)) return undefined;
  return url.slice(base.length);
}

const SLASH = 0x2f;

/**
 * The logger for requests served under `base`: the routes log the path they were given
 * (`/echo/mcp`, path tokens and `?token=` already redacted), and the line says the path as
 * requested (`/proxy/echo/mcp`). Only a `path` that is a request path (starts with `/`) changes.
 */
export function requestedPathLogger(logger: Logger, base: string): Logger {
  return logger.child({}, { serializers: { path: (p: unknown) => (typeof p === 'string' && p.startsWith('/') ? `${base}${p}` : p) } });
}

/** Root paths whose first segment is one of these have routes below them (`/oauth/token`, `/login/{uid}`, `/api/tools/...`). */
const ROUTES_BELOW = new Set(['oauth', 'login', 'consent', 'api']);

/**
 * What a base path takes from the root, for a warning at start; undefined when nothing. Requests
 * for `{base}/...` are always served under the base path, so a root route that begins with
 * `{base}/` (one of server "github"'s for base `/github`, `/oauth/token` for base `/oauth`) is
 * reached only as `{base}{base}/...`: behind a reverse proxy that strips the path, not at all.
 * Clients given the advertised URLs (under the base path) are not affected. Told by the first
 * segment (servers, Gatehouse's own), or exactly (callback paths).
 */
export function basePathShadows(base: string, routes: { readonly servers: readonly string[]; readonly callbackPaths?: readonly string[] }): string | undefined {
  if (base === '') return undefined;
  const first = decodeSegment(base.slice(1).split('/', 1)[0]!).toLowerCase();
  const what: string[] = [];
  if (ROUTES_BELOW.has(first)) what.push(`Gatehouse's own /${first}/... routes`);
  for (const s of routes.servers) if (s.toLowerCase() === first) what.push(`the routes of server "${s}" (/${s}/...)`);
  for (const p of routes.callbackPaths ?? []) if (p.startsWith(`${base}/`)) what.push(`the sign-in callback ${p}`);
  if (what.length === 0) return undefined;
  return (
    `publicUrl's path ${base} is also where ${what.join(' and ')} begin at the root. A request for ${base}/... is always served under ` +
    `publicUrl's path, so a root route that begins with ${base}/ is reached only as ${base}${base}/...: behind a reverse proxy that strips ` +
    `${base} it is not reachable. Clients given the advertised URLs (under ${base}) are not affected; to serve both, pick another path, or have the proxy pass the path through`
  );
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

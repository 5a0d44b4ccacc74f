import type { ResolvedConfig } from '../config/index.js';
import { matchesAny, sha256 } from '../crypto/index.js';

/** What authentication reads of a request (a web Request fits). */
export interface Credentials {
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

/** Who is calling and what they may reach; or why not. */
export type AccessDecision =
  | { readonly ok: true; readonly principal: string; readonly allowedServers: readonly string[] }
  | { readonly ok: false; readonly status: 401 | 403; readonly error: string; readonly description: string };

/** Decides access for one request to one server (or the aggregate, `server` undefined). */
export interface Authenticator {
  authenticate(request: Credentials, server: string | undefined): AccessDecision | Promise<AccessDecision>;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
/** `Bearer <token>` exactly: what BEARER matches with the token at offset 7. */
const PLAIN_BEARER = /^Bearer \S+$/;

/** Whether the config holds any static token (`auth.tokens` or a server's `tokens`). */
export function hasStaticTokens(config: Pick<ResolvedConfig, 'auth' | 'servers'>): boolean {
  return config.auth.tokens.length > 0 || config.servers.some((s) => (s.tokens?.length ?? 0) > 0);
}

/** The bearer credential: the Authorization header, or `?token=` when the config allows it. */
export function presentedToken(request: Credentials, tokenInUrl: boolean, pathToken?: string): string | undefined {
  const auth = request.headers.get('authorization');
  if (auth) {
    // The usual form is tested first without building a match (this runs on every request).
    if (PLAIN_BEARER.test(auth)) return auth.slice(7);
    const m = BEARER.exec(auth);
    return m ? m[1] : undefined;
  }
  if (!tokenInUrl) return undefined;
  if (pathToken) return pathToken;
  return queryToken(request.url);
}

/**
 * The value of the first query parameter whose key is spelled `token` exactly, decoded as a
 * query value is. A key that only decodes to `token` (`%74oken=`) is no token: a credential
 * comes in one spelling only, the one the log redaction and every proxy on the way know.
 */
export function queryToken(url: string): string | undefined {
  // The usual request carries no `token=` at all: nothing is parsed for it.
  if (!url.includes('token=')) return undefined;
  const start = url.indexOf('?');
  if (start === -1) return undefined;
  const end = url.indexOf('#', start);
  for (const pair of url.slice(start + 1, end === -1 ? undefined : end).split('&')) {
    if (pair.startsWith('token=')) return new URLSearchParams(pair).get('token') ?? undefined;
  }
  return undefined;
}

/**
 * `auth.mode: none` and `auth.mode: tokens` (and the static tokens beside OAuth). Per-server
 * `tokens` replace `auth.tokens` for that server; the aggregate shows every server the
 * presented token opens.
 *
 * Under `none`, `auth.tokens` count for nothing (CONTRACT: "accepted in every mode but none"),
 * but a server's own `tokens` still do: whoever writes tokens on a server means it protected
 * (TBXark mcp-proxy: a server with `authTokens` checks them, one without is open). Such a
 * server needs one of them on every route, with the same 401 as in `tokens` mode; the others
 * stay open, and the aggregate shows the open ones plus those the presented token opens.
 */
export function createStaticTokenAuthenticator(config: Pick<ResolvedConfig, 'auth' | 'servers'>): Authenticator & {
  decide(token: string | undefined, server: string | undefined): AccessDecision;
} {
  const all = config.servers.map((s) => s.name);
  const tokensFor = new Map(config.servers.map((s) => [s.name, s.tokens && s.tokens.length ? s.tokens : config.auth.tokens]));
  // Under `none`: the servers that have tokens of their own (the rest are open).
  const guarded = new Set(config.servers.filter((s) => (s.tokens?.length ?? 0) > 0).map((s) => s.name));
  const open = all.filter((name) => !guarded.has(name));
  const anonymous: AccessDecision = { ok: true, principal: 'anonymous', allowedServers: all };
  const anonymousOpen: AccessDecision = { ok: true, principal: 'anonymous', allowedServers: open };
  const noToken: AccessDecision = { ok: false, status: 401, error: 'invalid_request', description: 'a bearer token is required' };
  const badToken: AccessDecision = { ok: false, status: 401, error: 'invalid_token', description: 'the token is not valid for this resource' };
  // A stable, non-secret name for the credential: sessions are bound to it.
  const principalOf = (token: string) => `token:${sha256(token).slice(0, 22)}`;

  const decideOpen = (token: string | undefined, server: string | undefined): AccessDecision => {
    if (guarded.size === 0) return anonymous;
    const unlocked = token === undefined ? [] : all.filter((name) => guarded.has(name) && matchesAny(token, tokensFor.get(name) ?? []));
    if (server !== undefined && guarded.has(server) && !unlocked.includes(server)) return token === undefined ? noToken : badToken;
    // A token for an open server is none of its business: it is not refused there.
    if (!unlocked.length) return anonymousOpen;
    return { ok: true, principal: principalOf(token!), allowedServers: all.filter((name) => !guarded.has(name) || unlocked.includes(name)) };
  };

  const decide = (token: string | undefined, server: string | undefined): AccessDecision => {
    if (config.auth.mode === 'none') return decideOpen(token, server);
    if (token === undefined) return noToken;
    const allowed = all.filter((name) => matchesAny(token, tokensFor.get(name) ?? []));
    const opens = server === undefined ? allowed.length > 0 || matchesAny(token, config.auth.tokens) : allowed.includes(server);
    if (!opens) return badToken;
    return { ok: true, principal: principalOf(token), allowedServers: allowed };
  };

  return {
    decide,
    authenticate(request, server) {
      return decide(presentedToken(request, config.auth.tokenInUrl), server);
    },
  };
}

import { AuthorizationServerMismatchError, type OAuthDiscoveryState } from '@modelcontextprotocol/client';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { ServerRecord, TokenStore } from './token-store.js';

// SEP-2352 (MCP authorization, Client Registration, "Authorization Server Binding"): clients
// "MUST associate" pre-registered credentials "with the specific authorization server that
// issued them, keyed by the authorization server's issuer identifier", and on a mismatch
// "SHOULD surface an error rather than silently attempting to use mismatched credentials".
// So a pre-registered client (`--client-id`) is bound to one authorization server, and a server
// another one names never sees its id or secret. The binding is the person's choice
// (--expected-issuer, else a --token-url's issuer), else the one the token store keeps for the
// client, else the first server it is used with (trust on first use, said in a warning, and
// kept in the token store before the id or secret goes out).
//
// A client of the run's own (dynamic registration, a client ID metadata document) is bound
// only by --expected-issuer: choosing the authorization server is the client's part (RFC 9728
// §7.6, which the MCP spec defers to), and the person made that choice; another server is
// refused before anything is registered there or sent to it. Nothing is stored for it.

export interface ClientBindingOptions {
  /** The --client-id client; unset, the run's own client, which only --expected-issuer binds. */
  readonly clientId?: string | undefined;
  /** The MCP server's URL: the token store's key, named in the way out of a refusal. */
  readonly serverUrl: string;
  readonly expectedIssuer?: string | undefined;
  /**
   * --token-url's endpoints are given (static-discovery.ts): their issuer, the token URL and,
   * for the browser login, --authorization-url.
   */
  readonly tokenUrl?: { readonly issuer: string | undefined; readonly endpoint: string; readonly authorization?: string | undefined } | undefined;
  readonly logger: Logger;
}

/** A stored binding (`bound`) and the static endpoint (`flag`, `url`) it is not known to own. */
interface StaticConflict {
  readonly bound: string;
  readonly flag: '--token-url' | '--authorization-url';
  readonly url: string;
}

/** The binding of a run: for a --client-id client, or any client when --expected-issuer is set. */
export function clientBinding(options: ClientBindingOptions): ClientBinding | undefined {
  return options.clientId === undefined && options.expectedIssuer === undefined ? undefined : new ClientBinding(options);
}

export class ClientBinding {
  readonly #o: ClientBindingOptions;
  /** The person's choice: --expected-issuer, else the --token-url endpoints' issuer. */
  readonly #chosen: string | undefined;
  /**
   * --token-url without --expected-issuer: the chosen issuer is only the token URL's origin,
   * which the real issuer need not be (Keycloak's has a path). It binds this run but is not
   * kept in the store, where a later run's discovery would be refused by it.
   */
  readonly #synthetic: boolean;
  #issuer: string | undefined;
  /** The stored binding a --token-url run (no --expected-issuer) does not match, and the flag that does not: refused. */
  #conflict: StaticConflict | undefined;

  constructor(options: ClientBindingOptions) {
    this.#o = options;
    this.#chosen = options.expectedIssuer ?? options.tokenUrl?.issuer;
    this.#synthetic = options.expectedIssuer === undefined && options.tokenUrl !== undefined;
    this.#issuer = this.#chosen;
  }

  /**
   * The record the store holds: its binding applies unless the person chose one. A stored
   * discovery naming another server than the bound one (a new --expected-issuer, or one saved
   * before refusals were kept out) is dropped: discovery runs again, and either finds the
   * client's server or is refused.
   */
  adopt(record: ServerRecord): void {
    const stored = this.#o.clientId === undefined ? undefined : record.clientIssuers?.[this.#o.clientId];
    if (this.#chosen === undefined && stored !== undefined) this.#issuer = stored;
    // --token-url without --expected-issuer: the stored binding is checked too (its issuer
    // cannot be compared with the token URL's origin, which need not be the issuer). Both
    // endpoints carry the client: the token URL its secret, the authorization URL its id (and
    // the page where the person types a password), so both must be the bound server's.
    this.#conflict = this.#synthetic && stored !== undefined ? staticConflict(stored, this.#o.tokenUrl, record.discovery) : undefined;
    // A run with --token-url does not use the stored discovery: kept for the runs that do.
    if (this.#synthetic) return;
    const discovery = record.discovery;
    const named = discovery?.authorizationServerMetadata?.issuer ?? discovery?.authorizationServerUrl;
    if (this.#issuer !== undefined && named !== undefined && !sameIssuer(named, this.#issuer)) delete record.discovery;
  }

  /** Discovery found `issuer` (or --token-url made it): refused when the client is bound elsewhere. */
  check(issuer: string): void {
    if (this.#conflict !== undefined) throw this.#mismatch(this.#conflict.bound, issuer);
    if (this.#issuer !== undefined && !sameIssuer(issuer, this.#issuer)) throw this.#mismatch(this.#issuer, issuer);
  }

  /**
   * The server the SDK is about to send the client to (`current`): checked against the
   * binding, or bound now on first use. Returns the issuer the client goes with, and whether
   * `record` changed (to be written before the id or secret goes out).
   */
  bind(current: string | undefined, record: ServerRecord): { issuer: string | undefined; changed: boolean } {
    if (current !== undefined) this.check(current);
    if (this.#issuer === undefined && current !== undefined) {
      this.#issuer = current;
      this.#o.logger.warn(
        { issuer: current },
        'the --client-id client goes to the authorization server the MCP server names, and stays bound to it (trust on first use, kept in the token store); pass --expected-issuer to choose it yourself',
      );
    }
    const issuer = this.#issuer;
    const clientId = this.#o.clientId;
    if (issuer === undefined || clientId === undefined || this.#synthetic || record.clientIssuers?.[clientId] === issuer) return { issuer, changed: false };
    (record.clientIssuers ??= {})[clientId] = issuer;
    return { issuer, changed: true };
  }

  /** The issuer the client goes with so far: the person's choice, else the stored binding. */
  get issuer(): string | undefined {
    return this.#issuer;
  }

  /** The SDK's refusal, saying how to move on deliberately. */
  #mismatch(bound: string, found: string): AuthorizationServerMismatchError {
    return this.advise(new AuthorizationServerMismatchError(bound, found));
  }

  /** The SDK's refusal (made here, or by the SDK against this binding's issuer), with the way out added. */
  advise(error: AuthorizationServerMismatchError): AuthorizationServerMismatchError {
    const bound = error.recordedIssuer;
    const found = error.currentIssuer;
    // The store is keyed by the exact URL: a redacted one would name no record, so it is
    // described rather than printed as a command that cannot work.
    const url = this.#o.serverUrl;
    const shown = redactUrl(url);
    const logout = shown === url ? `run 'gatehouse logout ${shown}'` : `run gatehouse logout with the server URL exactly as given here (not printed: it carries secrets)`;
    const stored = `This client was bound to ${JSON.stringify(bound)} when first used with this server (kept in the token store)`;
    const wayOut = `pass --expected-issuer naming the one to use, or ${logout} to forget this server's tokens and the binding`;
    const conflict = this.#conflict;
    if (this.#o.expectedIssuer === undefined && conflict !== undefined) {
      const what = conflict.flag === '--token-url' ? 'token endpoint' : 'authorization endpoint';
      error.message += `. ${stored}, and ${conflict.flag} ${redactUrl(conflict.url)} is not known to be its ${what} (not under that issuer by plain path segments, nor the one its stored metadata names); nothing of the client was sent to it; if that is the authorization server to use now, ${wayOut}`;
    } else if (this.#o.expectedIssuer === undefined) {
      error.message += `. ${stored}; if the MCP server moved to another authorization server on purpose, ${wayOut}`;
    } else if (this.#o.clientId === undefined) {
      // No credentials exist yet (the run registers its client once the server is known), so
      // the SDK's "credentials are bound to" does not fit: said as it is. Discovery did fetch
      // the other server's metadata; nothing of the client (no registration, no login) went there.
      error.message = `Authorization server mismatch: --expected-issuer names ${JSON.stringify(bound)} as the authorization server to log in with, but the MCP server named ${JSON.stringify(found)}; nothing of the client was sent to ${JSON.stringify(found)} (its metadata was read; no client was registered there, no login started); if the MCP server moved to it on purpose, pass that one instead`;
    } else {
      error.message += `. --expected-issuer names ${JSON.stringify(bound)} as this client's authorization server; if the MCP server moved to another one on purpose, pass that one instead`;
    }
    return error;
  }
}

/**
 * `connect --grant client_credentials` keeps no tokens and makes no lasting binding, but the one
 * the token store keeps for the --client-id client (a browser or device login with this MCP
 * server made it) applies to it as well: SEP-2352's credentials "associated with the specific
 * authorization server that issued them" are the same id and secret whatever the grant. Unless
 * --expected-issuer chose: with --token-url the endpoints must be the bound server's (as for the
 * browser login), else the refusal is thrown here, before anything is sent; with discovery the
 * binding returned names the issuer to expect and advises on a mismatch. Undefined when the
 * store keeps no binding for the client.
 */
export async function keptBinding(store: Pick<TokenStore, 'read'>, options: ClientBindingOptions & { readonly clientId: string }): Promise<ClientBinding | undefined> {
  if (options.expectedIssuer !== undefined) return undefined;
  const record = await store.read(options.serverUrl);
  if (record?.clientIssuers?.[options.clientId] === undefined) return undefined;
  const binding = new ClientBinding(options);
  binding.adopt(record);
  const issuer = binding.issuer;
  if (issuer !== undefined) binding.check(issuer);
  return binding;
}

/** The first of the static endpoints (--token-url, then --authorization-url) the stored binding `bound` does not own. */
function staticConflict(bound: string, endpoints: ClientBindingOptions['tokenUrl'], discovery: OAuthDiscoveryState | undefined): StaticConflict | undefined {
  if (endpoints === undefined) return undefined;
  if (!tokenEndpointOf(bound, endpoints.endpoint, discovery)) return { bound, flag: '--token-url', url: endpoints.endpoint };
  const authorization = endpoints.authorization;
  if (authorization !== undefined && !authorizationEndpointOf(bound, authorization, discovery)) return { bound, flag: '--authorization-url', url: authorization };
  return undefined;
}

/**
 * Whether a --token-url may be the token endpoint of the authorization server `issuer` (a
 * stored binding): the one the stored metadata of that server names, or a URL under the issuer
 * (same origin, the issuer's path a prefix by whole segments: https://kc/realms/x takes
 * https://kc/realms/x/protocol/openid-connect/token, not https://kc/realms/x2/...). RFC 8414
 * does not place the token endpoint, so this can only accept the usual layouts; anything else
 * is refused, and --expected-issuer says which server the token URL is for.
 */
export function tokenEndpointOf(issuer: string, endpoint: string, discovery?: OAuthDiscoveryState): boolean {
  return endpointOf(issuer, endpoint, discovery?.authorizationServerMetadata?.issuer, discovery?.authorizationServerMetadata?.token_endpoint);
}

/** The same for --authorization-url: under the issuer, or the authorization_endpoint its stored metadata names. */
export function authorizationEndpointOf(issuer: string, endpoint: string, discovery?: OAuthDiscoveryState): boolean {
  return endpointOf(issuer, endpoint, discovery?.authorizationServerMetadata?.issuer, discovery?.authorizationServerMetadata?.authorization_endpoint);
}

function endpointOf(issuer: string, endpoint: string, namedBy: string | undefined, named: string | undefined): boolean {
  if (!URL.canParse(issuer) || !URL.canParse(endpoint)) return false;
  // The metadata the bound server published names it (compared as URLs: case of the host, a
  // default port). What that server says of itself needs no path rule.
  if (namedBy !== undefined && named !== undefined && URL.canParse(named) && sameIssuer(namedBy, issuer) && new URL(named).href === new URL(endpoint).href) return true;
  const bound = new URL(issuer);
  const url = new URL(endpoint);
  // Userinfo in an endpoint is no layout of any server (and fetch refuses it): not taken.
  if (!plainPath(url.pathname) || url.username !== '' || url.password !== '') return false;
  const path = bound.pathname.replace(/\/$/, '');
  return bound.origin === url.origin && (path === '' || url.pathname === path || url.pathname.startsWith(`${path}/`));
}

/**
 * Whether a URL path means the same to every server and proxy on the way, so that "under the
 * issuer by whole segments" holds where the request is routed. The WHATWG parser (new URL)
 * resolves "." and ".." (and %2e forms of whole dot segments) but keeps %2F, %5C, ".%2e%2f"
 * and ";" as they are; servers and proxies that decode %2F (or %5C) in a path, decode twice
 * (%252e), or drop ";" parameters (Tomcat, some proxies: "..;" is ".." there) see
 * https://kc/realms/x/..%2F..%2Frealms/x2/token as realm x2's, not x's (RFC 3986 §2.2, §3.3:
 * a percent-encoded "/" is data to the URI, but its meaning is the server's; §7.3).
 * The stricter reading: the path may carry no encoded "/", "\" or "." (%2F %5C %2E), no
 * encoded "%" (%25, for servers that decode twice), no ";" and no "\"; and each segment,
 * decoded, must be neither "." nor ".." nor contain "/" or "\", nor fail to decode (an
 * overlong UTF-8 form like %C0%AE, which some decoders take for "."). A token endpoint
 * needs none of these; the way out for one that does is --expected-issuer.
 */
export function plainPath(pathname: string): boolean {
  if (/%(2f|5c|2e|25)|;|\\/i.test(pathname)) return false;
  return pathname.split('/').every((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return false;
    }
    return decoded !== '.' && decoded !== '..' && !/[/\\]/.test(decoded);
  });
}

/** Issuer identifiers as the SDK compares them: exactly, or but for one trailing slash. */
export function sameIssuer(a: string, b: string): boolean {
  return a === b || (a.endsWith('/') && a.slice(0, -1) === b) || (b.endsWith('/') && b.slice(0, -1) === a);
}

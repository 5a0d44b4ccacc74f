import { AuthorizationServerMismatchError, type OAuthDiscoveryState } from '@modelcontextprotocol/client';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { ServerRecord } from './token-store.js';

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
  /** --token-url's endpoints are given (static-discovery.ts): their issuer and the token URL. */
  readonly tokenUrl?: { readonly issuer: string | undefined; readonly endpoint: string } | undefined;
  readonly logger: Logger;
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
  /** The stored binding a --token-url run (no --expected-issuer) does not match: refused. */
  #conflict: string | undefined;

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
    // cannot be compared with the token URL's origin, which need not be the issuer).
    const tokenUrl = this.#o.tokenUrl;
    this.#conflict = this.#synthetic && stored !== undefined && tokenUrl !== undefined && !tokenEndpointOf(stored, tokenUrl.endpoint, record.discovery) ? stored : undefined;
    // A run with --token-url does not use the stored discovery: kept for the runs that do.
    if (this.#synthetic) return;
    const discovery = record.discovery;
    const named = discovery?.authorizationServerMetadata?.issuer ?? discovery?.authorizationServerUrl;
    if (this.#issuer !== undefined && named !== undefined && !sameIssuer(named, this.#issuer)) delete record.discovery;
  }

  /** Discovery found `issuer` (or --token-url made it): refused when the client is bound elsewhere. */
  check(issuer: string): void {
    if (this.#conflict !== undefined) throw this.#mismatch(this.#conflict, issuer);
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

  /** The SDK's refusal, saying how to move on deliberately. */
  #mismatch(bound: string, found: string): AuthorizationServerMismatchError {
    const error = new AuthorizationServerMismatchError(bound, found);
    // The store is keyed by the exact URL: a redacted one would name no record, so it is
    // described rather than printed as a command that cannot work.
    const url = this.#o.serverUrl;
    const shown = redactUrl(url);
    const logout = shown === url ? `run 'gatehouse logout ${shown}'` : `run gatehouse logout with the server URL exactly as given here (not printed: it carries secrets)`;
    const stored = `This client was bound to ${JSON.stringify(bound)} when first used with this server (kept in the token store)`;
    const wayOut = `pass --expected-issuer naming the one to use, or ${logout} to forget this server's tokens and the binding`;
    if (this.#o.expectedIssuer === undefined && this.#conflict !== undefined) {
      error.message += `. ${stored}, and --token-url ${redactUrl(this.#o.tokenUrl!.endpoint)} is not known to be its token endpoint (not under that issuer, nor the one its stored metadata names); if that is the authorization server to use now, ${wayOut}`;
    } else if (this.#o.expectedIssuer === undefined) {
      error.message += `. ${stored}; if the MCP server moved to another authorization server on purpose, ${wayOut}`;
    } else if (this.#o.clientId === undefined) {
      error.message += `. --expected-issuer names ${JSON.stringify(bound)} as the authorization server to log in with: nothing was registered at or sent to ${JSON.stringify(found)}; if the MCP server moved to it on purpose, pass that one instead`;
    } else {
      error.message += `. --expected-issuer names ${JSON.stringify(bound)} as this client's authorization server; if the MCP server moved to another one on purpose, pass that one instead`;
    }
    return error;
  }
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
  const metadata = discovery?.authorizationServerMetadata;
  if (metadata !== undefined && sameIssuer(metadata.issuer, issuer) && metadata.token_endpoint === endpoint) return true;
  if (!URL.canParse(issuer) || !URL.canParse(endpoint)) return false;
  const bound = new URL(issuer);
  const url = new URL(endpoint);
  const path = bound.pathname.replace(/\/$/, '');
  return bound.origin === url.origin && (path === '' || url.pathname === path || url.pathname.startsWith(`${path}/`));
}

/** Issuer identifiers as the SDK compares them: exactly, or but for one trailing slash. */
export function sameIssuer(a: string, b: string): boolean {
  return a === b || (a.endsWith('/') && a.slice(0, -1) === b) || (b.endsWith('/') && b.slice(0, -1) === a);
}

import { AuthorizationServerMismatchError } from '@modelcontextprotocol/client';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { ServerRecord } from './token-store.js';

// SEP-2352: a pre-registered client (`--client-id`) is bound to one authorization server, so
// that a server another one names never sees its id or secret. The binding is the person's
// choice (--expected-issuer, else a --token-url's issuer), else the one the token store keeps
// for the client, else the first server it is used with (trust on first use, said in a
// warning, and kept in the store before the id or secret goes out).

export interface ClientBindingOptions {
  readonly clientId: string;
  /** The MCP server's URL: the token store's key, named in the way out of a refusal. */
  readonly serverUrl: string;
  readonly expectedIssuer?: string | undefined;
  /** --token-url's endpoints are given (static-discovery.ts), and this is their issuer. */
  readonly tokenUrl?: { readonly issuer: string | undefined } | undefined;
  readonly logger: Logger;
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
    const stored = record.clientIssuers?.[this.#o.clientId];
    if (this.#chosen === undefined && stored !== undefined) this.#issuer = stored;
    const discovery = record.discovery;
    const named = discovery?.authorizationServerMetadata?.issuer ?? discovery?.authorizationServerUrl;
    if (this.#issuer !== undefined && named !== undefined && !sameIssuer(named, this.#issuer)) delete record.discovery;
  }

  /** Discovery found `issuer`: refused when the client is bound elsewhere. */
  check(issuer: string): void {
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
    if (issuer === undefined || this.#synthetic || record.clientIssuers?.[this.#o.clientId] === issuer) return { issuer, changed: false };
    (record.clientIssuers ??= {})[this.#o.clientId] = issuer;
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
    error.message +=
      this.#chosen !== undefined
        ? `. --expected-issuer names ${JSON.stringify(bound)} as this client's authorization server; if the MCP server moved to another one on purpose, pass that one instead`
        : `. This client was bound to ${JSON.stringify(bound)} when first used with this server (kept in the token store); if the MCP server moved to another authorization server on purpose, pass --expected-issuer naming the one to use, or ${logout} to forget this server's tokens and the binding`;
    return error;
  }
}

/** Issuer identifiers as the SDK compares them: exactly, or but for one trailing slash. */
export function sameIssuer(a: string, b: string): boolean {
  return a === b || (a.endsWith('/') && a.slice(0, -1) === b) || (b.endsWith('/') && b.slice(0, -1) === a);
}

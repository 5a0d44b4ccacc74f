import type { FetchLike, OAuthDiscoveryState } from '@modelcontextprotocol/client';

import type { Logger } from '../../observability/index.js';
import type { AuthStyle } from './token-request.js';
import type { TokenStore } from './token-store.js';
import type { Tracer } from './trace.js';

/** What an OAuthSession (oauth-session.ts) is given: `gatehouse connect|login` flags, resolved. */
export interface OAuthSessionOptions {
  /** The MCP server (the protected resource). */
  readonly serverUrl: string;
  readonly store: TokenStore;
  readonly logger: Logger;
  /** `--client-id` / `--client-secret`: a pre-registered client, used as is. */
  readonly clientId?: string | undefined;
  readonly clientSecret?: string | undefined;
  /**
   * `--expected-issuer`: the authorization server to use (SEP-2352, client-binding.ts). Another
   * one is refused before it sees a `--client-id` client's id or secret, or before a client is
   * registered there. Unset, a `--client-id` client goes to the one the store names for it,
   * else the first one it is used with (kept in the store from then on); with
   * `staticDiscovery`, the store's one must own both its URLs, and their issuer binds the run.
   */
  readonly expectedIssuer?: string | undefined;
  /** `--client-metadata-url`: a Client ID Metadata Document (the URL is the client_id). */
  readonly clientMetadataUrl?: string | undefined;
  /** `--scope`: replaces the scope from the challenge or `scopes_supported`. */
  readonly scope?: string | undefined;
  /** `--resource`: the RFC 8707 resource indicator, instead of the discovered one. */
  readonly resource?: string | undefined;
  /** `--callback-port`; default any free port (or the port of the stored registration). */
  readonly callbackPort?: number | undefined;
  /** Tried when `callbackPort` is unset and no registration is stored; taken, any free port. */
  readonly defaultCallbackPort?: number | undefined;
  /** Sends a person to the authorization URL (prints it and opens a browser). */
  readonly openBrowser: (url: URL) => Promise<void>;
  /** How long a browser login may take (default 5 minutes). */
  readonly loginTimeoutMs?: number;
  readonly clientName?: string;
  /** `--grant device_code` (RFC 8628) instead of the browser login. */
  readonly grant?: 'authorization_code' | 'device_code';
  /** Shows the device flow's verification URI and user code (stderr). */
  readonly notify?: (line: string) => void;
  /** `--token-url` / `--authorization-url`: endpoints instead of discovery (static-discovery.ts). */
  readonly staticDiscovery?: OAuthDiscoveryState | undefined;
  /** For discovery, registration and the token endpoint when no transport's fetch is at hand. */
  readonly fetchFn?: FetchLike | undefined;
  /** `--trace-file`: a span per login or refresh. */
  readonly tracer?: Tracer | undefined;
  /**
   * `--audience`: an `audience` parameter on the authorization request and the code exchange
   * (Auth0 and others issue a token for their API only when asked for it by this name).
   */
  readonly audience?: string | undefined;
  /** `--auth-style`: how a `--client-secret` goes to the token endpoint (token-request.ts). */
  readonly authStyle?: AuthStyle | undefined;
}

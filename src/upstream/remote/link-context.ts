import type { AuthProvider } from '@modelcontextprotocol/client';

import type { Logger } from '../../observability/index.js';
import type { HttpClient } from './http-client.js';
import type { RemoteLinkError } from './errors.js';

// What the links of one remote server share, and what they tell the factory.

export type RemoteTransportKind = 'streamable-http' | 'sse';

/** What every link of one server shares. */
export interface RemoteLinkContext {
  readonly name: string;
  readonly url: URL;
  readonly timeoutMs: number;
  readonly http: HttpClient;
  readonly logger: Logger;
  /** Outbound bearer tokens (the bridge's OAuth client, `servers.NAME.oauth`). */
  readonly authProvider: AuthProvider | undefined;
  /** See RemoteLinkFactoryOptions.onInsufficientScope. */
  readonly onInsufficientScope?: ((challenge: InsufficientScopeChallenge) => Promise<boolean>) | undefined;
}

/** What a 403 `insufficient_scope` challenge asked for. */
export interface InsufficientScopeChallenge {
  readonly scope: string | undefined;
  readonly resourceMetadataUrl: URL | undefined;
}

/** How a link tells its factory what it learned about the server. */
export interface RemoteLinkEvents {
  /** The server accepted the link's first message over this transport. */
  delivered(kind: RemoteTransportKind): void;
  /** The link failed before the server accepted anything. */
  failedEarly(reason: RemoteLinkError): void;
}

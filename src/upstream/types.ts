import type { JsonRpcMessage, JsonRpcRequest } from '../jsonrpc/index.js';

// The upstream room's contract. Three layers:
//   Link      one raw message pipe to an MCP server: a stdio child, one Streamable HTTP
//             session, or one legacy SSE connection. Knows nothing of sessions or ids.
//   Channel   one downstream session's private view of an upstream: its request ids,
//             progress tokens and subscriptions are its own, even when many channels
//             share one Link (a `sharing: shared` stdio child).
//   Upstream  one configured server: owns its links (shared or one per channel), their
//             supervision and restarts, and the initialize handshake.

/** What the MCP server said in answer to `initialize`. */
export interface InitializeResult {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  serverInfo: { name: string; version: string; [k: string]: unknown };
  instructions?: string;
  [k: string]: unknown;
}

/** The `initialize` params a downstream client sent (or the gateway's own, for shared links). */
export interface InitializeParams {
  protocolVersion: string;
  capabilities: Record<string, unknown>;
  clientInfo: { name: string; version: string; [k: string]: unknown };
  [k: string]: unknown;
}

export interface LinkHandlers {
  /** Every message the server sends, in order. */
  onMessage(message: JsonRpcMessage): void;
  /** The link is gone (process exit, stream closed, HTTP session expired). Called once. */
  onClose(reason: Error): void;
}

/** One raw pipe to an MCP server. Created started; `close` is idempotent. */
export interface Link {
  /** Writes one message; throws (or rejects) only when the link is already closed. */
  send(message: JsonRpcMessage): Promise<void>;
  close(): Promise<void>;
  /** The MCP protocol revision negotiated on this link, once known (HTTP links send it as a header). */
  setProtocolVersion?(version: string): void;
  readonly description: string;
}

/** Makes a new link. Each call is a new connection (child process, HTTP session, SSE stream). */
export type LinkFactory = (handlers: LinkHandlers) => Promise<Link>;

export interface ChannelHandlers {
  /**
   * Server-to-client traffic for this channel: replies to its requests (with the ids it
   * used), notifications meant for it, and server requests (sampling, elicitation,
   * roots) to answer through `Channel.send`. When the upstream fails, every request
   * still in flight on this channel gets a JSON-RPC error reply here, at once.
   */
  onMessage(message: JsonRpcMessage): void;
  /** The channel can no longer be used (upstream closed for good, or `Channel.close`). */
  onClose?(reason: Error): void;
}

export interface Channel {
  /** What the server answered to initialize for this channel. */
  readonly initializeResult: InitializeResult;
  /**
   * Sends client-to-server traffic: requests (ids are this channel's own), notifications,
   * and replies to server requests. Never `initialize` / `notifications/initialized`: the
   * Upstream does the handshake. Errors are reported as JSON-RPC error replies via
   * `onMessage`, never thrown.
   */
  send(message: JsonRpcMessage): void;
  /** Number of this channel's requests awaiting a reply. */
  readonly inFlight: number;
  /** Releases the channel (and, for per-session links, the link). Idempotent. */
  close(): Promise<void>;
}

export type UpstreamState = 'starting' | 'ready' | 'restarting' | 'down' | 'closed';

export interface OpenChannelOptions {
  /** The downstream client's initialize params; per-session links forward them upstream. */
  readonly initialize?: InitializeParams;
}

export interface Upstream {
  readonly name: string;
  readonly state: UpstreamState;
  /** Starts shared links eagerly and probes remotes; resolves when ready (or rejects if it cannot start). */
  start(): Promise<void>;
  /** A new channel, initialized and ready for requests. */
  open(handlers: ChannelHandlers, options?: OpenChannelOptions): Promise<Channel>;
  /** The last initialize result seen from this server, if any (for readiness and discovery). */
  readonly initializeResult: InitializeResult | undefined;
  /** Closes every channel and link; children get SIGTERM, then SIGKILL after a grace period. */
  close(): Promise<void>;
}

/** A request as seen by routing code (kept here so both sides agree on the shape). */
export type UpstreamRequest = JsonRpcRequest;

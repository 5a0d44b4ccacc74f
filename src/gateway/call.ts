import { ErrorCode } from '../jsonrpc/index.js';
import { jsonRpcHttpError } from './http-util.js';
import { MAX_JSON_DEPTH } from './protocol.js';
import type { InboundRequest, Reply } from './reply.js';
import type { Session } from './session.js';

/** One inbound MCP call, after the HTTP edge has checked who is calling. */
export interface McpCall {
  readonly request: InboundRequest;
  /** A server name (`/{name}/mcp`), or undefined for the aggregate endpoint (`/mcp`). */
  readonly server: string | undefined;
  /** The servers this caller may use (what the aggregate shows). */
  readonly allowedServers: readonly string[];
  /** A stable, non-secret name for the caller's credential; sessions are bound to it. */
  readonly principal: string;
  /** Absolute base URL of the gateway as the client sees it (no trailing slash). */
  readonly baseUrl: string;
  /** The route prefix for this endpoint: `/files` or `` (aggregate). */
  readonly routePrefix: string;
  /**
   * The `?token=` the caller authenticated with (auth.tokenInUrl, no Authorization header):
   * a legacy SSE client that cannot send headers must find it in the endpoint it posts to.
   */
  readonly queryToken?: string | undefined;
}

export function routeKey(call: Pick<McpCall, 'server'>): string {
  return call.server ?? '';
}

/**
 * A session belongs to the route, the credential and the transport that opened it: a legacy
 * SSE session id on `/mcp` (or a Streamable one on `/message`) is as unknown as a made-up one.
 */
export function usableSession(session: Session | undefined, call: McpCall, transport: Session['transport']): Session | undefined {
  if (!session || session.transport !== transport || session.route !== routeKey(call) || session.principal !== call.principal || session.closed) {
    return undefined;
  }
  return session;
}

// ----- refusals of a message body, the same on both session transports -----

export function tooDeep(): Reply {
  return jsonRpcHttpError(400, ErrorCode.InvalidRequest, `Invalid Request: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
}

/** MCP basic ("Requests"): a request id MUST NOT be null; such a message is no notification. */
export function isNullIdRequest(item: unknown): boolean {
  return typeof item === 'object' && item !== null && 'method' in item && 'id' in item && (item as { id: unknown }).id === null;
}

export function nullId(): Reply {
  return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Invalid Request: a request id must not be null');
}

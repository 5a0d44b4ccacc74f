import { ErrorCode, errorResponse, type JsonRpcId, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../jsonrpc/index.js';
import type { InitializeParams, InitializeResult } from '../upstream/types.js';

/**
 * Where a dispatcher sends upstream traffic that is not the reply to a pending request:
 * notifications and server-to-client requests. `relatedTo` is the downstream request the
 * message belongs to (its progress token, or the call in flight when a server request
 * arrived), so that it can travel on that request's response stream.
 */
export interface DownstreamSink {
  deliver(message: JsonRpcMessage, relatedTo: JsonRpcId | undefined): void;
  /** The upstream side is gone for good; the session should end. */
  closed?(reason: Error): void;
}

/** One downstream session's door to the MCP server(s) of its route. */
export interface Dispatcher {
  /** What to answer the session's initialize (or 2026 server/discover) with. */
  readonly initializeResult: InitializeResult;
  /** Forwards a request; resolves with its reply (a JSON-RPC error reply on failure, never a rejection). */
  request(request: JsonRpcRequest): Promise<JsonRpcResponse>;
  /** Forwards a client notification (cancelled, progress, roots/list_changed, ...). */
  notify(notification: JsonRpcNotification): void;
  /** Forwards the client's reply to a server-to-client request. */
  respond(response: JsonRpcResponse): void;
  /** Requests of this session still waiting for their reply. */
  readonly inFlight: number;
  /**
   * Servers of the route this session opened without, because they could not start (the
   * aggregate opens with the others). Absent or empty: the session has every server. It
   * never gains them later; a holder that wants them back opens a new session.
   */
  readonly missing?: readonly string[];
  close(): Promise<void>;
}

export interface OpenDispatcherOptions {
  readonly sink: DownstreamSink;
  readonly initialize?: InitializeParams;
}

/** Pending downstream requests of one dispatcher, and the progress tokens they carry. */
export class PendingRequests {
  readonly #byId = new Map<JsonRpcId, (r: JsonRpcResponse) => void>();
  readonly #progressOwner = new Map<string | number, JsonRpcId>();
  #latest: JsonRpcId | undefined;

  get size(): number {
    return this.#byId.size;
  }

  has(id: JsonRpcId): boolean {
    return this.#byId.has(id);
  }

  /** The most recently started request still in flight. */
  get latest(): JsonRpcId | undefined {
    return this.#latest !== undefined && this.#byId.has(this.#latest) ? this.#latest : this.#byId.keys().next().value;
  }

  /** A duplicate of a pending id is answered at once with an error; the first keeps its resolver. */
  add(id: JsonRpcId, progressToken: string | number | undefined): Promise<JsonRpcResponse> {
    if (this.#byId.has(id)) return Promise.resolve(duplicateIdError(id));
    return new Promise<JsonRpcResponse>((resolve) => {
      this.#byId.set(id, resolve);
      this.#latest = id;
      if (progressToken !== undefined) this.#progressOwner.set(progressToken, id);
    });
  }

  /** Settles the request `id`; false if it was not pending. */
  settle(response: JsonRpcResponse, progressToken?: string | number): boolean {
    const id = response.id;
    if (id === null) return false;
    const resolve = this.#byId.get(id);
    if (!resolve) return false;
    this.#byId.delete(id);
    if (progressToken !== undefined) this.#progressOwner.delete(progressToken);
    else if (this.#progressOwner.size) for (const [t, owner] of this.#progressOwner) if (owner === id) this.#progressOwner.delete(t);
    resolve(response);
    return true;
  }

  ownerOfProgress(token: unknown): JsonRpcId | undefined {
    return typeof token === 'string' || typeof token === 'number' ? this.#progressOwner.get(token) : undefined;
  }

  /**
   * The client cancelled `id` (MCP basic/utilities/cancellation): the server will not answer
   * it, so the open HTTP answer ends here rather than waiting for ever.
   */
  cancel(id: JsonRpcId): void {
    this.settle(errorResponse(id, REQUEST_CANCELLED, 'Request cancelled'));
  }

  /** Settles every pending request with an error built by `make`. */
  failAll(make: (id: JsonRpcId) => JsonRpcResponse): void {
    for (const [id, resolve] of this.#byId) resolve(make(id));
    this.#byId.clear();
    this.#progressOwner.clear();
  }
}

/** The answer to a request whose id is already pending in the same session. */
export function duplicateIdError(id: JsonRpcId): JsonRpcResponse {
  return errorResponse(id, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(id)} is already in flight in this session`);
}

/** JSON-RPC error code for a request the client cancelled (the SDKs use it too). */
export const REQUEST_CANCELLED = -32800;

/** The downstream request id a `notifications/cancelled` names, if any. */
export function cancelledRequestId(n: JsonRpcNotification): JsonRpcId | undefined {
  if (n.method !== 'notifications/cancelled') return undefined;
  const id = n.params?.requestId;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Which downstream request an upstream notification or server request belongs to. */
export function relatedRequest(message: JsonRpcMessage, pending: PendingRequests): JsonRpcId | undefined {
  if (!('method' in message)) return undefined;
  if (message.method === 'notifications/progress') return pending.ownerOfProgress(message.params?.progressToken);
  // A server request or log line while a call runs most likely belongs to that call (stdio has no marker).
  if ('id' in message || message.method === 'notifications/message') return pending.latest;
  return undefined;
}

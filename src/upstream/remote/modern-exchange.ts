// The wire side of ModernAdapterLink (docs/decisions/protocol-eras.md section 5b): one POST per
// request to a 2026-07-28 server through the SDK's StreamableHTTPClientTransport, each with the
// 2026 `_meta` envelope (the SDK derives MCP-Protocol-Version, Mcp-Method and Mcp-Name from it),
// its reply matched by id. What the envelope holds, and what the notifications mean, is the
// adapter's business.

import { StreamableHTTPClientTransport, type JSONRPCMessage } from '@modelcontextprotocol/client';

import { isRequest, isResponse, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../../jsonrpc/index.js';
import { describeFailure, RemoteLinkError } from './errors.js';
import type { RemoteLinkContext } from './link-context.js';

import { rpcErrorInBody } from './era-detection.js';
import { isObject } from './modern-translate.js';

/** What the adapter lends its exchange. */
export interface ExchangeHost {
  readonly ctx: RemoteLinkContext;
  /** Why the link closed; undefined while it is open. */
  closed(): RemoteLinkError | undefined;
  /** The 2026 `_meta` envelope for the next request (the request's own `_meta` keys win). */
  envelope(): Record<string, unknown>;
  /** A notification from the server (replies are matched here, server requests dropped). */
  notification(message: JsonRpcNotification): void;
}

interface Waiter {
  resolve(reply: JsonRpcResponse): void;
  reject(error: Error): void;
}

/** The requests in flight to one 2026-07-28 server, over one SDK transport. */
export class ModernExchange {
  readonly #host: ExchangeHost;
  readonly #transport: StreamableHTTPClientTransport;
  readonly #waiters = new Map<string, Waiter>();
  #nextId = 0;

  constructor(host: ExchangeHost) {
    this.#host = host;
    const ctx = host.ctx;
    this.#transport = new StreamableHTTPClientTransport(ctx.url, {
      fetch: ctx.http.fetchFor(),
      authProvider: ctx.authProvider,
      // 2026 has no resumable streams: a lost response stream is a failed request.
      reconnectionOptions: { initialReconnectionDelay: 1_000, maxReconnectionDelay: 1_000, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
    });
    this.#transport.onmessage = (message) => this.#receive(message);
    this.#transport.onerror = (error) => {
      if (!this.#host.closed()) this.#host.ctx.logger.debug({ reason: error.message }, 'remote transport reported an error');
    };
  }

  /** Starts the transport (no I/O). */
  start(): Promise<void> {
    return this.#transport.start();
  }

  newId(): string {
    return `g-${++this.#nextId}`;
  }

  /**
   * POSTs one request with the 2026 envelope. Resolves with the server's reply (errors sent
   * with an HTTP error status but a JSON-RPC body included); rejects with a RemoteLinkError
   * when no reply came (network, HTTP status without a JSON-RPC body, stream ended, aborted).
   */
  post(
    method: string,
    params: Record<string, unknown>,
    signal?: AbortSignal,
    headers?: Record<string, string>,
    id: string = this.newId(),
  ): Promise<JsonRpcResponse> {
    const closed = this.#host.closed();
    if (closed) return Promise.reject(closed);
    const ctx = this.#host.ctx;
    const meta = isObject(params._meta) ? params._meta : {};
    const message: JsonRpcRequest = { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...this.#host.envelope(), ...meta } } };
    return new Promise<JsonRpcResponse>((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(new RemoteLinkError('closed', `${method} aborted`)));
      const settle = (fn: () => void): void => {
        if (!this.#waiters.delete(id)) return;
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      this.#waiters.set(id, { resolve: (reply) => settle(() => resolve(reply)), reject: (error) => settle(() => reject(error)) });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#transport
        .send(message as unknown as JSONRPCMessage, {
          requestSignal: signal,
          headers,
          onRequestStreamEnd: () =>
            settle(() => reject(new RemoteLinkError('connection-lost', `upstream "${ctx.name}" ended the response stream without answering ${method}`))),
        })
        .catch((error: unknown) => {
          const inBand = rpcErrorInBody(error);
          settle(() => (inBand ? resolve({ jsonrpc: '2.0', id, error: inBand }) : reject(describeFailure(error, ctx.url, ctx.timeoutMs))));
        });
    });
  }

  /**
   * The link closed: rejects every request still in flight with `reason` and stops listening to
   * the transport; closes the transport too unless `close()` is about to.
   */
  shut(reason: RemoteLinkError, closeTransport: boolean): void {
    for (const waiter of [...this.#waiters.values()]) waiter.reject(reason);
    this.#transport.onmessage = undefined;
    this.#transport.onerror = undefined;
    if (closeTransport) void this.close();
  }

  /** Closes the transport; never rejects. */
  close(): Promise<void> {
    return this.#transport.close().catch(() => undefined);
  }

  #receive(raw: JSONRPCMessage): void {
    if (this.#host.closed()) return;
    const message = raw as unknown as JsonRpcMessage;
    if (isResponse(message)) {
      const waiter = typeof message.id === 'string' ? this.#waiters.get(message.id) : undefined;
      if (waiter === undefined) this.#host.ctx.logger.debug({ id: message.id }, 'upstream reply matches no request in flight; dropped');
      else waiter.resolve(message);
      return;
    }
    if (isRequest(message)) {
      // 2026-07-28 servers send no requests (input comes as input_required results).
      this.#host.ctx.logger.debug({ method: message.method }, 'request from a 2026-07-28 server ignored');
      return;
    }
    this.#host.notification(message);
  }
}

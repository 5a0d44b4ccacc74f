// Era bridge, docs/decisions/protocol-eras.md section 5b: a remote server that speaks only the
// stateless 2026-07-28 revision refuses `initialize`, while everything above a Link (the
// Upstream's handshake, the multiplexer, 2025-era clients of the gateway) expects a 2025-era
// session. ModernAdapterLink plays that session locally and speaks 2026-07-28 upstream.
// How a server is found to be 2026-only: era-detection.ts. The POSTs and reply matching:
// modern-exchange.ts; the server->client requests of `input_required`: modern-input.ts.

import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUBSCRIPTION_ID_META_KEY,
} from '@modelcontextprotocol/client';

import {
  ErrorCode,
  errorResponse,
  isRequest,
  isResponse,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
} from '../../jsonrpc/index.js';
import { redactUrl } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { closesLink, describeFailure, publicReason, RemoteLinkError } from './errors.js';
import type { RemoteLinkContext } from './link-context.js';

import { MODERN_PROTOCOL_VERSION, type ModernEraState } from './era-detection.js';
import { ModernExchange } from './modern-exchange.js';
import { ClientInputs, InputFailed, type InputWait } from './modern-input.js';
import { ListenStreams } from './modern-listen.js';
import { ToolParamHeaders } from './modern-param-headers.js';
import { initializeResult, isObject, legacyError, legacyResult, modernClientCapabilities, RpcError } from './modern-translate.js';

/** The 2026 HeaderMismatch code. */
const HEADER_MISMATCH = -32020;

/** Rounds of `input_required` one request may go through (the SDK's legacy shim uses 8 too). */
const MAX_INPUT_ROUNDS = 8;
/** Pause before retrying a `requestState`-only `input_required` result (the SDK client's pace). */
const STATE_ONLY_RETRY_MS = 250;

// ------------------------------------------------------------------ the adapter

/** One downstream request being served (possibly over several `input_required` rounds). */
interface Call extends InputWait {
  readonly request: JsonRpcRequest;
  readonly abort: AbortController;
  cancelled: boolean;
}

/**
 * A Link to a 2026-07-28-only server that behaves like a 2025-era session:
 * - `initialize` is answered locally from `server/discover` (capabilities, serverInfo from
 *   `_meta`, instructions; protocolVersion = the caller's 2025 revision); `notifications/initialized`,
 *   `notifications/roots/list_changed` and other client notifications are not sent;
 * - every request gets the 2026 `_meta` envelope (protocolVersion, clientCapabilities and
 *   clientInfo from initialize, logLevel from logging/setLevel); the SDK transport derives the
 *   MCP-Protocol-Version, Mcp-Method and Mcp-Name headers from it; Mcp-Param-* headers come from
 *   the `x-mcp-header` declarations of the tools/list results seen (refreshed once on -32020);
 * - `ping` and `logging/setLevel` are answered locally; `resources/subscribe`/`unsubscribe` and
 *   list changes run over one `subscriptions/listen` stream;
 * - results lose `resultType`, `ttlMs`, `cacheScope` and the serverInfo `_meta`; an
 *   `input_required` result becomes server->client requests (ids `ir-N`) sent up, whose answers
 *   are sent back down through `send` and retried upstream (new id, `inputResponses`, the exact
 *   `requestState`) up to 8 rounds; the final reply carries the original id;
 * - `notifications/cancelled` aborts that request's HTTP exchange;
 * - HTTP error statuses with a JSON-RPC body (404 -32601, 400 -32021, ...) come back in-band;
 *   `-32602 {uri}` from resources/read becomes -32002.
 */
export class ModernAdapterLink implements Link {
  readonly #ctx: RemoteLinkContext;
  readonly #handlers: LinkHandlers;
  readonly #era: ModernEraState;
  readonly #exchange: ModernExchange;
  readonly #inputs: ClientInputs;
  #closed: RemoteLinkError | undefined;
  readonly #calls = new Map<JsonRpcId, Call>();
  #clientCapabilities: Record<string, unknown> = {};
  #clientInfo: Record<string, unknown> = { name: 'gatehouse', version: '0' };
  #logLevel: string | undefined;
  #capabilities: Record<string, unknown> = {};
  #initialized = false;
  readonly #toolHeaders = new ToolParamHeaders();
  readonly #listens: ListenStreams;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(ctx: RemoteLinkContext, handlers: LinkHandlers, era: ModernEraState) {
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#era = era;
    this.#exchange = new ModernExchange({
      ctx,
      closed: () => this.#closed,
      envelope: () => this.#envelope(),
      notification: (message) => this.#upstreamNotification(message),
    });
    this.#inputs = new ClientInputs({
      name: ctx.name,
      logger: ctx.logger,
      send: (message) => this.#handlers.onMessage(message),
      closed: () => this.#closed !== undefined,
    });
    this.#listens = new ListenStreams({
      name: ctx.name,
      logger: ctx.logger,
      timeoutMs: ctx.timeoutMs,
      capabilities: () => this.#capabilities,
      ready: () => this.#initialized && this.#closed === undefined,
      closed: () => this.#closed !== undefined,
      newId: () => this.#exchange.newId(),
      post: (method, params, signal, id) => this.#exchange.post(method, params, signal, undefined, id),
      deliver: (message) => this.#deliver(message),
      fail: (reason) => this.#finish(reason),
    });
  }

  static async open(ctx: RemoteLinkContext, handlers: LinkHandlers, era: ModernEraState): Promise<ModernAdapterLink> {
    const link = new ModernAdapterLink(ctx, handlers, era);
    await link.#exchange.start(); // no I/O
    return link;
  }

  get description(): string {
    return `remote "${this.#ctx.name}" (${MODERN_PROTOCOL_VERSION} bridge) ${redactUrl(this.#ctx.url.href)}`;
  }

  /** The 2025 revision negotiated above is not sent upstream: every request names 2026-07-28. */
  setProtocolVersion(_version: string): void {}

  send(message: JsonRpcMessage): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (isResponse(message)) this.#inputs.settle(message);
    else if (isRequest(message)) this.#clientRequest(message);
    else this.#clientNotification(message);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.#finish(new RemoteLinkError('closed', `link to ${redactUrl(this.#ctx.url.href)} closed by the gateway`), true);
    await this.#exchange.close();
  }

  // --- client -> server ------------------------------------------------------------------

  #clientRequest(request: JsonRpcRequest): void {
    const params = request.params ?? {};
    switch (request.method) {
      case 'initialize':
        void this.#initialize(request);
        return;
      case 'ping':
        this.#reply(request.id, {});
        return;
      case 'logging/setLevel':
        if (typeof params.level !== 'string') {
          this.#deliverSoon(errorResponse(request.id, ErrorCode.InvalidParams, 'logging/setLevel needs a level'));
          return;
        }
        this.#logLevel = params.level;
        this.#reply(request.id, {});
        return;
      case 'resources/subscribe':
        this.#listens.subscribe(request).then(
          (reply) => reply !== undefined && this.#deliver(reply),
          (error: unknown) => this.#ctx.logger.error({ err: error }, 'resources/subscribe failed in the 2026-07-28 bridge'),
        );
        return;
      case 'resources/unsubscribe':
        this.#listens.unsubscribe(params.uri);
        this.#reply(request.id, {});
        return;
      default: {
        const call: Call = { request, abort: new AbortController(), cancelled: false, inputs: new Set(), interrupt: undefined };
        this.#calls.set(request.id, call);
        void this.#run(call);
      }
    }
  }

  #clientNotification(n: JsonRpcNotification): void {
    switch (n.method) {
      case 'notifications/initialized':
        this.#initialized = true;
        this.#listens.refresh();
        return;
      case 'notifications/cancelled': {
        const id = n.params?.requestId;
        const call = typeof id === 'string' || typeof id === 'number' ? this.#calls.get(id) : undefined;
        if (call !== undefined) this.#cancel(call, typeof n.params?.reason === 'string' ? n.params.reason : 'cancelled by the client');
        return;
      }
      default:
        // notifications/roots/list_changed and the rest: 2026 has no client notifications over HTTP.
        this.#ctx.logger.debug({ method: n.method }, 'client notification not sent to a 2026-07-28 server');
    }
  }

  // --- initialize ------------------------------------------------------------------------

  async #initialize(request: JsonRpcRequest): Promise<void> {
    const params = request.params ?? {};
    this.#clientCapabilities = modernClientCapabilities(params.capabilities);
    if (isObject(params.clientInfo)) this.#clientInfo = params.clientInfo;

    let discover: Record<string, unknown>;
    try {
      discover = await this.#discover();
    } catch (error) {
      this.#era.modern = false; // the next link asks with initialize again
      if (this.#closed) return;
      if (error instanceof RpcError) {
        this.#deliver(errorResponse(request.id, error.rpc.code, `server/discover failed: ${error.rpc.message}`, error.rpc.data));
        return;
      }
      const failure = error instanceof RemoteLinkError ? error : describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs);
      this.#finish(new RemoteLinkError(failure.code, `server/discover failed: ${failure.message}`, { status: failure.status, cause: failure }));
      return;
    }
    if (this.#closed) return;
    this.#capabilities = isObject(discover.capabilities) ? discover.capabilities : {};
    const result = initializeResult(discover, this.#capabilities, params.protocolVersion, this.#ctx.name);
    this.#era.modern = true;
    this.#era.onBridged?.();
    this.#deliver({ jsonrpc: '2.0', id: request.id, result });
  }

  async #discover(): Promise<Record<string, unknown>> {
    const cached = this.#era.discover;
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.result;
    const reply = await this.#exchange.post('server/discover', {});
    if ('error' in reply) throw new RpcError(reply.error);
    const result = reply.result;
    if (!isObject(result.capabilities)) {
      throw new RemoteLinkError('protocol', `${redactUrl(this.#ctx.url.href)} answered server/discover without capabilities`);
    }
    const ttl = result.ttlMs;
    this.#era.discover = typeof ttl === 'number' && ttl > 0 ? { result, expiresAt: Date.now() + ttl } : undefined;
    return result;
  }

  // --- requests ----------------------------------------------------------------------------

  /** Serves one downstream request to its end. Never rejects. */
  async #run(call: Call): Promise<void> {
    const { request } = call;
    let extra: Record<string, unknown> = {};
    let headersRefreshed = false;
    let rounds = 0;
    try {
      for (;;) {
        const params = { ...request.params, ...extra };
        const reply = await this.#exchange.post(request.method, params, call.abort.signal, this.#toolHeaders.headersFor(request));
        if (call.cancelled || this.#closed) return;
        if ('error' in reply) {
          if (reply.error.code === HEADER_MISMATCH && request.method === 'tools/call' && !headersRefreshed) {
            // Probably Mcp-Param-* headers we did not know of: learn the tool's schema, try once more.
            headersRefreshed = true;
            await this.#toolHeaders.refresh((listParams) => this.#exchange.post('tools/list', listParams, call.abort.signal));
            if (call.cancelled || this.#closed) return;
            continue;
          }
          this.#deliver(legacyError(request, reply.error));
          return;
        }
        const result = reply.result;
        if (result.resultType !== 'input_required') {
          if (request.method === 'tools/list') this.#toolHeaders.learn(result);
          this.#deliver({ jsonrpc: '2.0', id: request.id, result: legacyResult(result) });
          return;
        }
        if (++rounds > MAX_INPUT_ROUNDS) {
          this.#deliver(errorResponse(request.id, ErrorCode.InternalError, `upstream "${this.#ctx.name}" asked for input more than ${MAX_INPUT_ROUNDS} times`));
          return;
        }
        const asked = isObject(result.inputRequests) ? result.inputRequests : {};
        const state = typeof result.requestState === 'string' ? result.requestState : undefined;
        const hasRequests = Object.keys(asked).length > 0;
        if (!hasRequests && state === undefined) {
          this.#deliver(errorResponse(request.id, ErrorCode.InternalError, `upstream "${this.#ctx.name}" asked for input without saying what`));
          return;
        }
        let answers: Record<string, unknown> | undefined;
        if (hasRequests) answers = await this.#inputs.ask(call, asked);
        else await this.#pause(STATE_ONLY_RETRY_MS);
        if (call.cancelled || this.#closed) return;
        extra = {};
        if (answers !== undefined) extra.inputResponses = answers;
        if (state !== undefined) extra.requestState = state;
      }
    } catch (error) {
      if (call.cancelled || this.#closed) return;
      if (error instanceof InputFailed) {
        this.#deliver(errorResponse(request.id, ErrorCode.InternalError, error.message));
      } else if (error instanceof RemoteLinkError) {
        if (closesLink(error)) {
          this.#finish(error);
          return;
        }
        this.#ctx.logger.warn({ id: request.id, method: request.method, reason: error.message }, 'a request to the remote server failed');
        const code = error.code === 'timeout' ? ErrorCode.RequestTimeout : ErrorCode.UpstreamUnavailable;
        this.#deliver(errorResponse(request.id, code, publicReason(this.#ctx, error)));
      } else {
        this.#ctx.logger.error({ err: error, id: request.id }, 'bridging a request to a 2026-07-28 server failed');
        this.#deliver(errorResponse(request.id, ErrorCode.InternalError, `upstream "${this.#ctx.name}": internal error`));
      }
    } finally {
      if (this.#calls.get(request.id) === call) this.#calls.delete(request.id);
      this.#inputs.drop(call, 'the request is over');
    }
  }

  #cancel(call: Call, reason: string): void {
    call.cancelled = true;
    this.#calls.delete(call.request.id);
    call.abort.abort();
    call.interrupt?.(new Error(reason));
    this.#inputs.drop(call, reason);
  }

  // --- upstream ------------------------------------------------------------------------------

  /** The 2026 `_meta` envelope: what initialize and logging/setLevel told us. */
  #envelope(): Record<string, unknown> {
    const envelope: Record<string, unknown> = {
      [PROTOCOL_VERSION_META_KEY]: MODERN_PROTOCOL_VERSION,
      [CLIENT_CAPABILITIES_META_KEY]: this.#clientCapabilities,
      [CLIENT_INFO_META_KEY]: this.#clientInfo,
    };
    if (this.#logLevel !== undefined) envelope[LOG_LEVEL_META_KEY] = this.#logLevel;
    return envelope;
  }

  /** A notification from the server: a listen stream's, or one about a request in flight. */
  #upstreamNotification(message: JsonRpcNotification): void {
    const meta = message.params?._meta;
    const subscription = isObject(meta) ? meta[SUBSCRIPTION_ID_META_KEY] : undefined;
    if (typeof subscription === 'string' || typeof subscription === 'number') {
      this.#listens.notification(String(subscription), message);
      return;
    }
    if (message.method === 'notifications/subscriptions/acknowledged') return;
    this.#handlers.onMessage(message); // progress, log messages of a request
  }

  // --- delivery and closing ------------------------------------------------------------------

  #deliver(message: JsonRpcMessage): void {
    if (!this.#closed) this.#handlers.onMessage(message);
  }

  /** Local answers arrive in a microtask, never from inside `send`. */
  #deliverSoon(message: JsonRpcMessage): void {
    queueMicrotask(() => this.#deliver(message));
  }

  #reply(id: JsonRpcId, result: Record<string, unknown>): void {
    this.#deliverSoon({ jsonrpc: '2.0', id, result });
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.#timers.add(timer);
    });
  }

  #finish(reason: RemoteLinkError, requested = false): void {
    if (this.#closed) return;
    this.#closed = reason;
    if (!requested) this.#ctx.logger.warn({ reason: reason.message, failure: reason.code }, 'remote link closed');
    this.#listens.close();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const call of this.#calls.values()) {
      call.cancelled = true;
      call.abort.abort();
      call.interrupt?.(reason);
    }
    this.#calls.clear();
    this.#inputs.clear();
    this.#exchange.shut(reason, !requested);
    try {
      this.#handlers.onClose(reason);
    } catch (error) {
      this.#ctx.logger.error({ err: error }, 'onClose handler threw');
    }
  }
}

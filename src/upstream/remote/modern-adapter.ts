// Era bridge, docs/decisions/protocol-eras.md section 5b: a remote server that speaks only the
// stateless 2026-07-28 revision refuses `initialize`, while everything above a Link (the
// Upstream's handshake, the multiplexer, 2025-era clients of the gateway) expects a 2025-era
// session. ModernAdapterLink plays that session locally and speaks 2026-07-28 upstream.
// How a server is found to be 2026-only: era-detection.ts.

import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LATEST_PROTOCOL_VERSION,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  StreamableHTTPClientTransport,
  SUBSCRIPTION_ID_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
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
  type JsonRpcResponse,
} from '../../jsonrpc/index.js';
import { redactUrl } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { closesLink, describeFailure, publicReason, RemoteLinkError } from './errors.js';
import type { RemoteLinkContext } from './link-context.js';

import { MODERN_PROTOCOL_VERSION, rpcErrorInBody, type ModernEraState } from './era-detection.js';
import { ListenStreams } from './modern-listen.js';
import { ToolParamHeaders } from './modern-param-headers.js';
import { isObject, legacyError, legacyResult, modernClientCapabilities, RpcError, serverInfoOf, without } from './modern-translate.js';

/** The 2026 HeaderMismatch code. */
const HEADER_MISMATCH = -32020;

/** Rounds of `input_required` one request may go through (the SDK's legacy shim uses 8 too). */
const MAX_INPUT_ROUNDS = 8;
/** Pause before retrying a `requestState`-only `input_required` result (the SDK client's pace). */
const STATE_ONLY_RETRY_MS = 250;

// ------------------------------------------------------------------ the adapter

/** One downstream request being served (possibly over several `input_required` rounds). */
interface Call {
  readonly request: JsonRpcRequest;
  readonly abort: AbortController;
  cancelled: boolean;
  /** Ids of the server->client requests this call is waiting for. */
  readonly inputs: Set<string>;
  /** Stops a wait for the client's answers (cancellation, link closed). */
  interrupt: ((reason: Error) => void) | undefined;
}

interface Waiter {
  resolve(reply: JsonRpcResponse): void;
  reject(error: Error): void;
}

/** The client's answer to one of our server->client requests was an error. */
class InputFailed extends Error {}

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
  readonly #transport: StreamableHTTPClientTransport;
  #closed: RemoteLinkError | undefined;
  #nextId = 0;
  #nextInput = 0;
  readonly #waiters = new Map<string, Waiter>();
  readonly #calls = new Map<JsonRpcId, Call>();
  readonly #inputs = new Map<string, (reply: JsonRpcResponse) => void>();
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
    this.#listens = new ListenStreams({
      name: ctx.name,
      logger: ctx.logger,
      timeoutMs: ctx.timeoutMs,
      capabilities: () => this.#capabilities,
      ready: () => this.#initialized && this.#closed === undefined,
      closed: () => this.#closed !== undefined,
      newId: () => this.#newId(),
      post: (method, params, signal, id) => this.#post(method, params, signal, undefined, id),
      deliver: (message) => this.#deliver(message),
      fail: (reason) => this.#finish(reason),
    });
    this.#transport = new StreamableHTTPClientTransport(ctx.url, {
      fetch: ctx.http.fetchFor(),
      authProvider: ctx.authProvider,
      // 2026 has no resumable streams: a lost response stream is a failed request.
      reconnectionOptions: { initialReconnectionDelay: 1_000, maxReconnectionDelay: 1_000, reconnectionDelayGrowFactor: 1, maxRetries: 0 },
    });
    this.#transport.onmessage = (message) => this.#receive(message);
    this.#transport.onerror = (error) => {
      if (!this.#closed) this.#ctx.logger.debug({ reason: error.message }, 'remote transport reported an error');
    };
  }

  static async open(ctx: RemoteLinkContext, handlers: LinkHandlers, era: ModernEraState): Promise<ModernAdapterLink> {
    const link = new ModernAdapterLink(ctx, handlers, era);
    await link.#transport.start(); // no I/O
    return link;
  }

  get description(): string {
    return `remote "${this.#ctx.name}" (${MODERN_PROTOCOL_VERSION} bridge) ${redactUrl(this.#ctx.url.href)}`;
  }

  /** The 2025 revision negotiated above is not sent upstream: every request names 2026-07-28. */
  setProtocolVersion(_version: string): void {}

  send(message: JsonRpcMessage): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    if (isResponse(message)) this.#clientReply(message);
    else if (isRequest(message)) this.#clientRequest(message);
    else this.#clientNotification(message);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.#finish(new RemoteLinkError('closed', `link to ${redactUrl(this.#ctx.url.href)} closed by the gateway`), true);
    await this.#transport.close().catch(() => undefined);
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

  #clientReply(reply: JsonRpcResponse): void {
    const settle = typeof reply.id === 'string' ? this.#inputs.get(reply.id) : undefined;
    if (settle === undefined) {
      this.#ctx.logger.debug({ id: reply.id }, 'client reply matches no input request; dropped');
      return;
    }
    this.#inputs.delete(reply.id as string);
    settle(reply);
  }

  // --- initialize ------------------------------------------------------------------------

  async #initialize(request: JsonRpcRequest): Promise<void> {
    const params = request.params ?? {};
    this.#clientCapabilities = modernClientCapabilities(params.capabilities);
    if (isObject(params.clientInfo)) this.#clientInfo = params.clientInfo;
    const asked = params.protocolVersion;
    const version = typeof asked === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION;

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
    const result: Record<string, unknown> = {
      protocolVersion: version,
      // tasks/* are not bridgeable to core 2026; listChanged and subscribe are (listen).
      capabilities: without(this.#capabilities, ['tasks']),
      serverInfo: serverInfoOf(discover, this.#ctx.name),
    };
    if (typeof discover.instructions === 'string') result.instructions = discover.instructions;
    this.#era.modern = true;
    this.#era.onBridged?.();
    this.#deliver({ jsonrpc: '2.0', id: request.id, result });
  }

  async #discover(): Promise<Record<string, unknown>> {
    const cached = this.#era.discover;
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.result;
    const reply = await this.#post('server/discover', {});
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
        const reply = await this.#post(request.method, params, call.abort.signal, this.#toolHeaders.headersFor(request));
        if (call.cancelled || this.#closed) return;
        if ('error' in reply) {
          if (reply.error.code === HEADER_MISMATCH && request.method === 'tools/call' && !headersRefreshed) {
            // Probably Mcp-Param-* headers we did not know of: learn the tool's schema, try once more.
            headersRefreshed = true;
            await this.#toolHeaders.refresh((listParams) => this.#post('tools/list', listParams, call.abort.signal));
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
        if (hasRequests) answers = await this.#askClient(call, asked);
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
      this.#dropInputs(call, 'the request is over');
    }
  }

  /** Sends the embedded requests up as real server->client requests; resolves with key -> result. */
  #askClient(call: Call, asked: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const answers: Record<string, unknown> = {};
      let left = 0;
      const malformed = Object.entries(asked).find(([, embedded]) => !isObject(embedded) || typeof embedded.method !== 'string');
      if (malformed !== undefined) {
        reject(new InputFailed(`upstream "${this.#ctx.name}" sent a malformed input request "${malformed[0]}"`));
        return;
      }
      call.interrupt = reject;
      const requests: JsonRpcRequest[] = [];
      for (const [key, embedded] of Object.entries(asked) as [string, { method: string; params?: unknown }][]) {
        const method = embedded.method;
        const id = `ir-${++this.#nextInput}`;
        let params = isObject(embedded.params) ? embedded.params : undefined;
        // 2025-11-25 URL-mode elicitation carries an elicitationId; 2026 dropped it.
        if (method === 'elicitation/create' && params?.mode === 'url' && params.elicitationId === undefined) {
          params = { ...params, elicitationId: id };
        }
        left++;
        call.inputs.add(id);
        this.#inputs.set(id, (reply) => {
          call.inputs.delete(id);
          if ('error' in reply) {
            reject(new InputFailed(`the client could not answer ${method} for upstream "${this.#ctx.name}": ${reply.error.message}`));
            return;
          }
          answers[key] = reply.result;
          if (--left === 0) {
            call.interrupt = undefined;
            resolve(answers);
          }
        });
        requests.push(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
      }
      for (const r of requests) this.#handlers.onMessage(r);
    });
  }

  #cancel(call: Call, reason: string): void {
    call.cancelled = true;
    this.#calls.delete(call.request.id);
    call.abort.abort();
    call.interrupt?.(new Error(reason));
    this.#dropInputs(call, reason);
  }

  /** Withdraws the server->client requests a call still waits for. */
  #dropInputs(call: Call, reason: string): void {
    for (const id of call.inputs) {
      this.#inputs.delete(id);
      if (!this.#closed) this.#handlers.onMessage({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, reason } });
    }
    call.inputs.clear();
    call.interrupt = undefined;
  }

  // --- HTTP ----------------------------------------------------------------------------------

  /**
   * POSTs one request with the 2026 envelope. Resolves with the server's reply (errors sent
   * with an HTTP error status but a JSON-RPC body included); rejects with a RemoteLinkError
   * when no reply came (network, HTTP status without a JSON-RPC body, stream ended, aborted).
   */
  #post(
    method: string,
    params: Record<string, unknown>,
    signal?: AbortSignal,
    headers?: Record<string, string>,
    id: string = this.#newId(),
  ): Promise<JsonRpcResponse> {
    if (this.#closed) return Promise.reject(this.#closed);
    const meta = isObject(params._meta) ? params._meta : {};
    const message: JsonRpcRequest = { jsonrpc: '2.0', id, method, params: { ...params, _meta: { ...this.#envelope(), ...meta } } };
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
            settle(() => reject(new RemoteLinkError('connection-lost', `upstream "${this.#ctx.name}" ended the response stream without answering ${method}`))),
        })
        .catch((error: unknown) => {
          const inBand = rpcErrorInBody(error);
          settle(() => (inBand ? resolve({ jsonrpc: '2.0', id, error: inBand }) : reject(describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs))));
        });
    });
  }

  #newId(): string {
    return `g-${++this.#nextId}`;
  }

  #envelope(): Record<string, unknown> {
    const envelope: Record<string, unknown> = {
      [PROTOCOL_VERSION_META_KEY]: MODERN_PROTOCOL_VERSION,
      [CLIENT_CAPABILITIES_META_KEY]: this.#clientCapabilities,
      [CLIENT_INFO_META_KEY]: this.#clientInfo,
    };
    if (this.#logLevel !== undefined) envelope[LOG_LEVEL_META_KEY] = this.#logLevel;
    return envelope;
  }

  #receive(raw: JSONRPCMessage): void {
    if (this.#closed) return;
    const message = raw as unknown as JsonRpcMessage;
    if (isResponse(message)) {
      const waiter = typeof message.id === 'string' ? this.#waiters.get(message.id) : undefined;
      if (waiter === undefined) this.#ctx.logger.debug({ id: message.id }, 'upstream reply matches no request in flight; dropped');
      else waiter.resolve(message);
      return;
    }
    if (isRequest(message)) {
      // 2026-07-28 servers send no requests (input comes as input_required results).
      this.#ctx.logger.debug({ method: message.method }, 'request from a 2026-07-28 server ignored');
      return;
    }
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
    if (!requested) this.#ctx.logger.warn({ reason: reason.message, code: reason.code }, 'remote link closed');
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
    for (const waiter of [...this.#waiters.values()]) waiter.reject(reason);
    this.#transport.onmessage = undefined;
    this.#transport.onerror = undefined;
    if (!requested) void this.#transport.close().catch(() => undefined);
    try {
      this.#handlers.onClose(reason);
    } catch (error) {
      this.#ctx.logger.error({ err: error }, 'onClose handler threw');
    }
  }
}

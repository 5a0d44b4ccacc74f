// Era bridge, docs/decisions/protocol-eras.md section 5b: a remote server that speaks only the
// stateless 2026-07-28 revision refuses `initialize`, while everything above a Link (the
// Upstream's handshake, the multiplexer, 2025-era clients of the gateway) expects a 2025-era
// session. ModernAdapterLink plays that session locally and speaks 2026-07-28 upstream.
// How a server is found to be 2026-only: era-detection.ts.

import { argumentText, encodeHeaderValue, scanParamHeaders, type ParamHeader } from '../../mcp/index.js';
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LATEST_PROTOCOL_VERSION,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
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
  type JsonRpcErrorObject,
  type JsonRpcFailure,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../../jsonrpc/index.js';
import { redactUrl } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { closesLink, describeFailure, publicReason, RemoteLinkError } from './errors.js';
import type { RemoteLinkContext } from './remote-link.js';

import { MODERN_PROTOCOL_VERSION, rpcErrorInBody, type ModernEraState } from './era-detection.js';

/** The 2026 HeaderMismatch code. */
const HEADER_MISMATCH = -32020;

/** Rounds of `input_required` one request may go through (the SDK's legacy shim uses 8 too). */
const MAX_INPUT_ROUNDS = 8;
/** Pause before retrying a `requestState`-only `input_required` result (the SDK client's pace). */
const STATE_ONLY_RETRY_MS = 250;
const LISTEN_BACKOFF_INITIAL_MS = 1_000;
const LISTEN_BACKOFF_MAX_MS = 30_000;
/** Pages of `tools/list` read to learn `x-mcp-header` declarations after a header mismatch. */
const MAX_TOOL_PAGES = 20;

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

interface Listen {
  readonly id: string;
  readonly abort: AbortController;
  acked: boolean;
  readonly ready: Promise<boolean>;
  markReady(ok: boolean): void;
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
  readonly #toolHeaders = new Map<string, readonly ParamHeader[]>();
  readonly #subscribed = new Set<string>();
  readonly #listens = new Set<Listen>();
  #listen: Listen | undefined;
  #listenTimer: NodeJS.Timeout | undefined;
  #listenBackoffMs = LISTEN_BACKOFF_INITIAL_MS;
  #listenRefused = false;
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(ctx: RemoteLinkContext, handlers: LinkHandlers, era: ModernEraState) {
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#era = era;
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
        void this.#subscribe(request);
        return;
      case 'resources/unsubscribe':
        if (typeof params.uri === 'string' && this.#subscribed.delete(params.uri)) this.#refreshListen();
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
        this.#refreshListen();
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
        const reply = await this.#post(request.method, params, call.abort.signal, this.#paramHeaders(request));
        if (call.cancelled || this.#closed) return;
        if ('error' in reply) {
          if (reply.error.code === HEADER_MISMATCH && request.method === 'tools/call' && !headersRefreshed) {
            // Probably Mcp-Param-* headers we did not know of: learn the tool's schema, try once more.
            headersRefreshed = true;
            await this.#refreshToolHeaders(call.abort.signal);
            if (call.cancelled || this.#closed) return;
            continue;
          }
          this.#deliver(legacyError(request, reply.error));
          return;
        }
        const result = reply.result;
        if (result.resultType !== 'input_required') {
          if (request.method === 'tools/list') this.#learnToolHeaders(result);
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
      this.#listenNotification(String(subscription), message);
      return;
    }
    if (message.method === 'notifications/subscriptions/acknowledged') return;
    this.#handlers.onMessage(message); // progress, log messages of a request
  }

  // --- Mcp-Param-* -----------------------------------------------------------------------------

  #paramHeaders(request: JsonRpcRequest): Record<string, string> | undefined {
    if (request.method !== 'tools/call') return undefined;
    const name = request.params?.name;
    const declared = typeof name === 'string' ? this.#toolHeaders.get(name) : undefined;
    if (declared === undefined) return undefined;
    const args = request.params?.arguments;
    const headers: Record<string, string> = {};
    for (const { path, header } of declared) {
      const text = argumentText(args, path);
      if (text !== undefined) headers[`Mcp-Param-${header}`] = encodeHeaderValue(text);
    }
    return headers;
  }

  #learnToolHeaders(result: Record<string, unknown>): void {
    if (!Array.isArray(result.tools)) return;
    for (const tool of result.tools) {
      if (!isObject(tool) || typeof tool.name !== 'string') continue;
      const declared = scanParamHeaders(tool.inputSchema);
      if (declared.length > 0) this.#toolHeaders.set(tool.name, declared);
      else this.#toolHeaders.delete(tool.name);
    }
  }

  async #refreshToolHeaders(signal: AbortSignal): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const reply = await this.#post('tools/list', cursor === undefined ? {} : { cursor }, signal);
      if ('error' in reply) return;
      this.#learnToolHeaders(reply.result);
      cursor = typeof reply.result.nextCursor === 'string' ? reply.result.nextCursor : undefined;
      if (cursor === undefined) return;
    }
  }

  // --- subscriptions/listen ----------------------------------------------------------------------

  async #subscribe(request: JsonRpcRequest): Promise<void> {
    const uri = request.params?.uri;
    if (typeof uri !== 'string') {
      this.#deliverSoon(errorResponse(request.id, ErrorCode.InvalidParams, 'resources/subscribe needs a uri'));
      return;
    }
    const resources = this.#capabilities.resources;
    if (!isObject(resources) || resources.subscribe !== true) {
      this.#deliverSoon(errorResponse(request.id, ErrorCode.MethodNotFound, 'Method not found'));
      return;
    }
    if (this.#subscribed.has(uri) && this.#listen?.acked === true) {
      this.#reply(request.id, {});
      return;
    }
    this.#subscribed.add(uri);
    let listen = this.#refreshListen();
    let ok = false;
    // Confirmed once a stream that covers the uri is acknowledged (a later subscribe may replace ours).
    for (let tries = 0; listen !== undefined && tries < 3 && !ok; tries++) {
      ok = await this.#bounded(listen.ready, this.#ctx.timeoutMs, false);
      if (this.#closed) return;
      listen = this.#listen === listen ? undefined : this.#listen;
    }
    if (ok) {
      this.#deliver({ jsonrpc: '2.0', id: request.id, result: {} });
      return;
    }
    this.#subscribed.delete(uri);
    this.#deliver(errorResponse(request.id, ErrorCode.UpstreamUnavailable, `upstream "${this.#ctx.name}" did not confirm the subscription`));
  }

  #listenFilter(): Record<string, unknown> | undefined {
    const caps = this.#capabilities;
    const filter: Record<string, unknown> = {};
    if (isObject(caps.tools) && caps.tools.listChanged === true) filter.toolsListChanged = true;
    if (isObject(caps.prompts) && caps.prompts.listChanged === true) filter.promptsListChanged = true;
    if (isObject(caps.resources) && caps.resources.listChanged === true) filter.resourcesListChanged = true;
    if (isObject(caps.resources) && caps.resources.subscribe === true && this.#subscribed.size > 0) filter.resourceSubscriptions = [...this.#subscribed];
    return Object.keys(filter).length > 0 ? filter : undefined;
  }

  /**
   * Opens a `subscriptions/listen` stream for what is wanted now; the one it replaces is
   * closed once the new one is acknowledged. Returns the new stream, if one is needed.
   */
  #refreshListen(): Listen | undefined {
    if (this.#closed || !this.#initialized || this.#listenRefused) return undefined;
    if (this.#listenTimer !== undefined) clearTimeout(this.#listenTimer);
    this.#listenTimer = undefined;
    const filter = this.#listenFilter();
    if (filter === undefined) {
      for (const old of this.#listens) old.abort.abort();
      this.#listens.clear();
      this.#listen = undefined;
      return undefined;
    }
    let markReady: (ok: boolean) => void = () => undefined;
    const ready = new Promise<boolean>((resolve) => (markReady = resolve));
    // The request id is the subscriptionId the server stamps on what the stream carries.
    const listen: Listen = { id: this.#newId(), abort: new AbortController(), acked: false, ready, markReady };
    const posted = this.#post('subscriptions/listen', { notifications: filter }, listen.abort.signal, undefined, listen.id);
    this.#listen = listen;
    this.#listens.add(listen);
    posted.then(
      (reply) => this.#listenEnded(listen, 'error' in reply ? reply.error : undefined),
      (error: unknown) => this.#listenEnded(listen, error),
    );
    return listen;
  }

  #listenNotification(subscription: string, n: JsonRpcNotification): void {
    let listen: Listen | undefined;
    for (const l of this.#listens) if (l.id === subscription) listen = l;
    if (listen === undefined) return;
    if (n.method === 'notifications/subscriptions/acknowledged') {
      listen.acked = true;
      listen.markReady(true);
      this.#listenBackoffMs = LISTEN_BACKOFF_INITIAL_MS;
      if (listen === this.#listen) {
        for (const old of this.#listens) {
          if (old === listen) continue;
          old.markReady(true); // what it was opened for is covered by the new stream
          old.abort.abort();
          this.#listens.delete(old);
        }
      }
      return;
    }
    // An older stream still delivers until its replacement is acknowledged.
    if (listen !== this.#listen && this.#listen?.acked === true) return;
    const params = n.params ?? {};
    const meta = without(isObject(params._meta) ? params._meta : {}, [SUBSCRIPTION_ID_META_KEY]);
    const rest = without(params, ['_meta']);
    this.#handlers.onMessage({ jsonrpc: '2.0', method: n.method, params: Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest });
  }

  #listenEnded(listen: Listen, why: unknown): void {
    this.#listens.delete(listen);
    listen.markReady(false);
    if (this.#closed || listen !== this.#listen || listen.abort.signal.aborted) return;
    this.#listen = undefined;
    if (isObject(why) && why.code === ErrorCode.MethodNotFound) {
      this.#listenRefused = true;
      this.#ctx.logger.warn('the remote server refused subscriptions/listen: list changes and resource updates will not be delivered');
      return;
    }
    if (why instanceof RemoteLinkError && closesLink(why)) {
      this.#finish(new RemoteLinkError(why.code, `lost the subscriptions/listen stream: ${why.message}`, { status: why.status, cause: why }));
      return;
    }
    const delay = this.#listenBackoffMs;
    this.#listenBackoffMs = Math.min(delay * 2, LISTEN_BACKOFF_MAX_MS);
    this.#ctx.logger.debug({ retryInMs: delay, reason: why instanceof Error ? why.message : isObject(why) ? why.message : 'ended' }, 'subscriptions/listen stream ended; reopening');
    this.#listenTimer = setTimeout(() => {
      this.#listenTimer = undefined;
      this.#refreshListen();
    }, delay);
    this.#listenTimer.unref();
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

  async #bounded<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<T>((resolve) => {
      timer = setTimeout(() => resolve(fallback), ms);
      timer.unref();
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #finish(reason: RemoteLinkError, requested = false): void {
    if (this.#closed) return;
    this.#closed = reason;
    if (!requested) this.#ctx.logger.warn({ reason: reason.message, code: reason.code }, 'remote link closed');
    if (this.#listenTimer !== undefined) clearTimeout(this.#listenTimer);
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const listen of this.#listens) listen.abort.abort();
    this.#listens.clear();
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

// ------------------------------------------------------------------ helpers

class RpcError extends Error {
  readonly rpc: JsonRpcErrorObject;
  constructor(rpc: JsonRpcErrorObject) {
    super(rpc.message);
    this.rpc = rpc;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function without(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

/** 2026 `clientCapabilities` from 2025 initialize capabilities (no `tasks` in core 2026). */
function modernClientCapabilities(capabilities: unknown): Record<string, unknown> {
  return isObject(capabilities) ? without(capabilities, ['tasks']) : {};
}

function serverInfoOf(discover: Record<string, unknown>, fallbackName: string): Record<string, unknown> {
  const meta = isObject(discover._meta) ? discover._meta : {};
  const info = isObject(meta[SERVER_INFO_META_KEY]) ? meta[SERVER_INFO_META_KEY] : isObject(discover.serverInfo) ? discover.serverInfo : {};
  return { ...info, name: typeof info.name === 'string' ? info.name : fallbackName, version: typeof info.version === 'string' ? info.version : '' };
}

/** A 2026 result as a 2025 client expects it: no resultType, cache hints or serverInfo `_meta`. */
function legacyResult(result: Record<string, unknown>): Record<string, unknown> {
  const out = without(result, ['resultType', 'ttlMs', 'cacheScope', '_meta']);
  if (isObject(result._meta)) {
    const meta = without(result._meta, [SERVER_INFO_META_KEY]);
    if (Object.keys(meta).length > 0) out._meta = meta;
  }
  return out;
}

/** 2026 dropped -32002: resource-not-found is -32602 with `data.uri`. */
function legacyError(request: JsonRpcRequest, error: JsonRpcErrorObject): JsonRpcFailure {
  const uri = request.params?.uri;
  if (request.method === 'resources/read' && error.code === ErrorCode.InvalidParams && isObject(error.data) && typeof uri === 'string' && error.data.uri === uri) {
    return errorResponse(request.id, ErrorCode.ResourceNotFound, error.message, error.data);
  }
  return errorResponse(request.id, error.code, error.message, error.data);
}


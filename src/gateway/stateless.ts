import { randomToken } from '../crypto/index.js';
import { argumentText, decodeHeaderValue, nameFieldOf, scanParamHeaders, type ParamHeader } from '../mcp/index.js';
import {
  ErrorCode,
  errorResponse,
  isRequest,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import type { Dispatcher, DownstreamSink } from './dispatcher.js';
import { PostExchange, StreamLog } from './exchange.js';
import { accepts, empty, json, jsonRpcHttpError, unavailableMessage } from './http-util.js';
import type { InboundRequest, Reply } from './reply.js';
import type { InitializeParams } from '../upstream/types.js';
import { HeldSessions, type HeldSession } from './held-sessions.js';
import { ListenHub } from './listen-hub.js';
import { discoverResult, LOG_LEVELS, logLevelOf, stripEnvelope, toModernReply } from './modern-results.js';
import { META, MODERN_PROTOCOL_VERSION, ModernErrorCode } from './protocol.js';

// 2026-07-28 (stateless) requests: every POST stands alone, carrying protocol version and
// client capabilities in params._meta (basic/index "Per-request protocol fields"). Upstreams
// that speak only the 2025 revisions are served over sessions the gateway holds, and their
// server-to-client requests become `input_required` results (basic/patterns/mrtr).

/** Methods that 2026-07-28 removed; a modern client gets 404 + -32601 for them. */
const REMOVED_METHODS = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);
/** Only these may answer `input_required` (basic/patterns/mrtr). */
const MRTR_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);
/** Server-to-client requests and the client capability each needs. */
const INPUT_KINDS: Record<string, string> = { 'sampling/createMessage': 'sampling', 'elicitation/create': 'elicitation', 'roots/list': 'roots' };
/** How long an `input_required` waits for the client's retry before the upstream call is abandoned. */
const CONTINUATION_TTL_MS = 10 * 60_000;
/** Server requests arriving this close together go to the client in one input_required. */
const INPUT_GATHER_MS = 15;
/** Told to listeners when a renewed held session has a server the one before it lacked. */
const LIST_CHANGED = ['notifications/tools/list_changed', 'notifications/prompts/list_changed', 'notifications/resources/list_changed'] as const;

interface Flight {
  readonly innerId: string;
  readonly method: string;
  readonly member: HeldSession;
  readonly capabilities: Record<string, unknown>;
  exchange: PostExchange;
  /** The downstream id currently waiting: the original request's, then each retry's. */
  downstreamId: JsonRpcId;
  logLevel: number | undefined;
  /** Server requests sent to the client as inputRequests, by key. */
  readonly asked: Map<string, JsonRpcId>;
  /** Server requests that arrived while the client was away, to ask on its next retry. */
  readonly queued: { key: string; request: JsonRpcRequest }[];
  /** Set while an input_required answer is out and the retry has not come. */
  state: string | undefined;
  expiry: NodeJS.Timeout | undefined;
  /** The upstream finished while the client was away; the retry gets this. */
  final: JsonRpcResponse | undefined;
}

export class StatelessEndpoint {
  readonly #logger: Logger;
  readonly #keepAliveMs: number | undefined;
  readonly #held: HeldSessions;
  #nextId = 0;
  #nextStream = 0;
  #nextKey = 0;
  readonly #flights = new Map<string, Flight>();
  readonly #continuations = new Map<string, Flight>();
  readonly #listen: ListenHub;
  readonly #toolHeaders = new Map<string, readonly ParamHeader[]>();
  #toolsKnown = false;
  /** Calls to handle() that have not returned yet (their held session may still be opening). */
  #entered = 0;
  #lastUsed = Date.now();

  constructor(
    open: (sink: DownstreamSink, initialize: InitializeParams) => Promise<Dispatcher>,
    logger: Logger,
    keepAliveMs?: number,
    options: { readonly incompleteRetryMs?: number } = {},
  ) {
    this.#logger = logger;
    this.#keepAliveMs = keepAliveMs;
    this.#listen = new ListenHub({ nextStream: () => ++this.#nextStream, nextId: () => `s${++this.#nextId}`, keepAliveMs });
    this.#held = new HeldSessions(open, (session, m, related) => this.#deliver(session, m, related), {
      ...(options.incompleteRetryMs !== undefined ? { incompleteRetryMs: options.incompleteRetryMs } : {}),
      // A listener's resource subscriptions live on the held session it opened on: that session
      // is not closed under it (it drains until the listener goes).
      bound: (dispatcher) => this.#listen.holds(dispatcher),
      renewed: (gained) => {
        // Tool headers are read again from the new session; listeners learn that lists grew.
        this.#toolsKnown = false;
        if (gained) for (const method of LIST_CHANGED) this.#listen.publish({ jsonrpc: '2.0', method });
      },
    });
  }

  /**
   * True when nothing is under way here (no call in flight, no input_required waiting for its
   * retry, no listener) and nobody came since `before`: the gateway may close it.
   */
  idleSince(before: number): boolean {
    return this.#entered === 0 && this.#flights.size === 0 && this.#continuations.size === 0 && this.#listen.listening === 0 && this.#lastUsed < before;
  }

  async handle(message: JsonRpcRequest | JsonRpcNotification, call: { readonly request: InboundRequest; readonly server?: string | undefined }): Promise<Reply> {
    this.#entered++;
    this.#lastUsed = Date.now();
    try {
      return await this.#handle(message, call);
    } finally {
      this.#entered--;
      this.#lastUsed = Date.now();
    }
  }

  async #handle(message: JsonRpcRequest | JsonRpcNotification, call: { readonly request: InboundRequest; readonly server?: string | undefined }): Promise<Reply> {
    const meta = (message.params?._meta ?? {}) as Record<string, unknown>;
    const version = meta[META.protocolVersion];
    const id = isRequest(message) ? message.id : null;
    const missing = [META.protocolVersion, META.clientCapabilities].filter(
      (k) => typeof meta[k] !== (k === META.protocolVersion ? 'string' : 'object') || meta[k] === null,
    );
    if (missing.length) return jsonRpcHttpError(400, ErrorCode.InvalidParams, `Invalid params: missing or malformed _meta ${missing.join(', ')}`, id);
    // Checked in the order of the 2026 transport: envelope, header agreement, then version.
    const headerVersion = call.request.headers.get('mcp-protocol-version');
    const headerMethod = call.request.headers.get('mcp-method');
    if ((headerVersion !== null && headerVersion.trim() !== version) || (headerMethod !== null && headerMethod.trim() !== message.method)) {
      return jsonRpcHttpError(400, ModernErrorCode.HeaderMismatch, 'Header mismatch: MCP-Protocol-Version / Mcp-Method differ from the body', id);
    }
    if (version !== MODERN_PROTOCOL_VERSION) {
      return json(
        {
          jsonrpc: '2.0',
          id,
          error: {
            code: ModernErrorCode.UnsupportedProtocolVersion,
            message: `Unsupported protocol version: ${String(version)}`,
            data: { supported: [MODERN_PROTOCOL_VERSION], requested: version },
          },
        },
        400,
      );
    }
    if (!isRequest(message)) return empty(202);
    if (REMOVED_METHODS.has(message.method)) {
      return jsonRpcHttpError(404, ErrorCode.MethodNotFound, `Method not found: ${message.method}`, message.id);
    }

    const retryState = message.params?.requestState;
    if (typeof retryState === 'string' && MRTR_METHODS.has(message.method)) return this.#retry(message, retryState, call.request);

    const interactive = MRTR_METHODS.has(message.method);
    const member = this.#held.take(interactive, meta[META.clientCapabilities] as Record<string, unknown>, meta[META.clientInfo]);
    // Until the request is in the dispatcher (its in-flight count, a listener's subscriptions)
    // or answered here, this call holds the session: a renewed one is not closed under it.
    try {
      let dispatcher: Dispatcher;
      try {
        dispatcher = await member.dispatcher;
      } catch (err) {
        return json(errorResponse(message.id, ErrorCode.UpstreamUnavailable, unavailableMessage(call.server, err)));
      }
      const headerProblem = await this.#checkRequestHeaders(message, call.request, dispatcher);
      if (headerProblem) return jsonRpcHttpError(400, ModernErrorCode.HeaderMismatch, `Header mismatch: ${headerProblem}`, message.id);
      if (message.method === 'server/discover') return json({ jsonrpc: '2.0', id: message.id, result: discoverResult(dispatcher) });
      if (message.method === 'subscriptions/listen') return this.#listen.open(message, dispatcher);

      const innerId = `s${++this.#nextId}`;
      const flight: Flight = {
        innerId,
        method: message.method,
        member,
        capabilities: meta[META.clientCapabilities] as Record<string, unknown>,
        exchange: this.#exchange(message.id, call.request),
        downstreamId: message.id,
        logLevel: logLevelOf(meta),
        asked: new Map(),
        queued: [],
        state: undefined,
        expiry: undefined,
        final: undefined,
      };
      this.#flights.set(innerId, flight);
      if (interactive) member.interactive++;
      const params: Record<string, unknown> = { ...message.params, _meta: stripEnvelope(meta) };
      if (Object.keys(params._meta as object).length === 0) delete params._meta;
      void dispatcher.request({ jsonrpc: '2.0', id: innerId, method: message.method, params }).then((reply) => this.#finish(flight, reply));
      return flight.exchange.response;
    } finally {
      this.#held.release(member);
    }
  }

  #exchange(id: JsonRpcId, request: InboundRequest): PostExchange {
    return new PostExchange({
      ids: [id],
      sseAllowed: accepts(request, 'text/event-stream'),
      batch: false,
      headers: {},
      newStream: () => new StreamLog(++this.#nextStream, 64),
      keepAliveMs: this.#keepAliveMs,
    });
  }

  /**
   * The 2026 request headers must be present and agree with the body (-32020, HTTP 400):
   * Mcp-Method always, Mcp-Name for tools/call, prompts/get and resources/read, and
   * Mcp-Param-* for tool arguments whose schema says `x-mcp-header` (SEP-2243).
   */
  async #checkRequestHeaders(message: JsonRpcRequest, request: InboundRequest, dispatcher: Dispatcher): Promise<string | undefined> {
    const headers = request.headers;
    if (headers.get('mcp-protocol-version') === null) return 'MCP-Protocol-Version is required';
    if (headers.get('mcp-method') === null) return 'Mcp-Method is required';
    const field = nameFieldOf(message.method);
    const bodyName = field ? message.params?.[field] : undefined;
    if (typeof bodyName === 'string') {
      const raw = headers.get('mcp-name');
      if (raw === null) return 'Mcp-Name is required';
      if (decodeHeaderValue(raw) !== bodyName) return 'Mcp-Name differs from the body';
    }
    if (message.method !== 'tools/call' || typeof bodyName !== 'string') return undefined;
    const declared = await this.#paramHeadersOf(bodyName, dispatcher);
    for (const { path, header } of declared) {
      const raw = headers.get(`mcp-param-${header.toLowerCase()}`);
      const value = raw === null ? undefined : decodeHeaderValue(raw);
      if (raw !== null && value === undefined) return `Mcp-Param-${header} is not valid base64`;
      const arg = argumentText(message.params?.arguments, path);
      if (arg !== undefined && value === undefined) return `Mcp-Param-${header} is required`;
      if (arg !== undefined && value !== arg) return `Mcp-Param-${header} differs from the body`;
    }
    return undefined;
  }

  /** A tool's `x-mcp-header` declarations, from tools/list results seen (read once if none were). */
  async #paramHeadersOf(tool: string, dispatcher: Dispatcher): Promise<readonly ParamHeader[]> {
    if (!this.#toolsKnown) {
      this.#toolsKnown = true;
      const reply = await dispatcher.request({ jsonrpc: '2.0', id: `s${++this.#nextId}`, method: 'tools/list' });
      if ('result' in reply) this.#learnTools(reply.result);
    }
    return this.#toolHeaders.get(tool) ?? [];
  }

  #learnTools(result: Record<string, unknown>): void {
    if (!Array.isArray(result.tools)) return;
    for (const t of result.tools as { name?: unknown; inputSchema?: unknown }[]) {
      if (typeof t.name !== 'string') continue;
      const declared = scanParamHeaders(t.inputSchema);
      if (declared.length) this.#toolHeaders.set(t.name, declared);
      else this.#toolHeaders.delete(t.name);
    }
  }

  #finish(flight: Flight, reply: JsonRpcResponse): void {
    if (flight.method === 'tools/list' && 'result' in reply) this.#learnTools(reply.result);
    if (flight.state !== undefined) {
      flight.final = reply;
      return;
    }
    this.#flights.delete(flight.innerId);
    this.#lastUsed = Date.now();
    if (MRTR_METHODS.has(flight.method)) flight.member.interactive--;
    const modern = toModernReply(reply, flight.downstreamId, flight.method);
    // 2026-07-28 transports: an unknown method is 404 (basic/transports/streamable-http).
    flight.exchange.reply(modern, 'error' in modern && modern.error.code === ErrorCode.MethodNotFound ? 404 : 200);
  }

  /** Ends a call for the client with an error of its own; the upstream call's reply is then dropped. */
  #fail(flight: Flight, error: JsonRpcResponse, status: number): void {
    this.#flights.delete(flight.innerId);
    if (MRTR_METHODS.has(flight.method)) flight.member.interactive--;
    flight.exchange.reply(error, status);
  }

  /** The client's retry after input_required: answer the upstream's requests and wait on. */
  async #retry(message: JsonRpcRequest, state: string, request: InboundRequest): Promise<Reply> {
    const flight = this.#continuations.get(state);
    if (!flight || flight.method !== message.method) {
      return json(errorResponse(message.id, ErrorCode.InvalidParams, 'Invalid params: unknown or expired requestState'));
    }
    this.#continuations.delete(state);
    if (flight.expiry) clearTimeout(flight.expiry);
    flight.state = undefined;
    flight.downstreamId = message.id;
    flight.logLevel = logLevelOf((message.params?._meta ?? {}) as Record<string, unknown>);
    flight.exchange = this.#exchange(message.id, request);
    const dispatcher = await flight.member.dispatcher;
    const responses = (message.params?.inputResponses ?? {}) as Record<string, unknown>;
    for (const [key, serverId] of flight.asked) {
      const result = responses[key];
      flight.asked.delete(key);
      dispatcher.respond(
        result && typeof result === 'object'
          ? { jsonrpc: '2.0', id: serverId, result: result as Record<string, unknown> }
          : errorResponse(serverId, ErrorCode.InternalError, 'the client gave no answer to this request'),
      );
    }
    if (flight.final) this.#finish(flight, flight.final);
    else if (flight.queued.length) this.#askClient(flight, flight.queued.splice(0));
    return flight.exchange.response;
  }

  /** Ends the current answer with input_required, carrying the upstream's requests. */
  #askClient(flight: Flight, items: { key: string; request: JsonRpcRequest }[]): void {
    const state = randomToken(24);
    flight.state = state;
    const inputRequests: Record<string, unknown> = {};
    for (const { key, request } of items) {
      flight.asked.set(key, request.id);
      inputRequests[key] = request.params === undefined ? { method: request.method } : { method: request.method, params: request.params };
    }
    this.#continuations.set(state, flight);
    flight.expiry = setTimeout(() => void this.#abandon(flight, state), CONTINUATION_TTL_MS);
    flight.expiry.unref();
    flight.exchange.reply({ jsonrpc: '2.0', id: flight.downstreamId, result: { resultType: 'input_required', inputRequests, requestState: state } });
  }

  async #abandon(flight: Flight, state: string): Promise<void> {
    if (!this.#continuations.delete(state)) return;
    this.#logger.debug({ method: flight.method }, 'a 2026 client did not retry after input_required; cancelling the upstream call');
    this.#flights.delete(flight.innerId);
    if (MRTR_METHODS.has(flight.method)) flight.member.interactive--;
    const dispatcher = await flight.member.dispatcher;
    for (const serverId of flight.asked.values()) dispatcher.respond(errorResponse(serverId, ErrorCode.InternalError, 'the client did not come back'));
    dispatcher.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: flight.innerId, reason: 'client did not retry' } });
  }

  /** Upstream notifications and server requests for a held session. */
  #deliver(member: HeldSession, message: JsonRpcMessage, related: JsonRpcId | undefined): void {
    if (!('method' in message)) return;
    const flight = related !== undefined ? this.#flights.get(String(related)) : undefined;
    if ('id' in message && message.id !== undefined && message.id !== null) {
      const request = message;
      const capability = INPUT_KINDS[request.method];
      const refuse = (why: string) =>
        void member.dispatcher.then((d) => d.respond(errorResponse(request.id, ErrorCode.InternalError, why)));
      if (!flight || !capability || !MRTR_METHODS.has(flight.method)) {
        refuse(`a 2026-07-28 client can be asked only during tools/call, prompts/get or resources/read (${request.method})`);
        return;
      }
      if (!(capability in flight.capabilities)) {
        // basic/index: a request needing an undeclared capability fails with -32021 (HTTP 400).
        refuse(`the client did not declare the ${capability} capability`);
        if (flight.state === undefined) {
          this.#fail(
            flight,
            errorResponse(flight.downstreamId, ModernErrorCode.MissingClientCapability, `Missing required client capability: ${capability}`, {
              requiredCapabilities: { [capability]: {} },
            }),
            400,
          );
        }
        return;
      }
      // A server often asks several things at once (parallel elicitations): gather what
      // arrives within a short window into one input_required answer.
      flight.queued.push({ key: `input-${++this.#nextKey}`, request });
      if (flight.state === undefined && flight.queued.length === 1) {
        setTimeout(() => {
          if (flight.state === undefined && flight.queued.length && this.#flights.has(flight.innerId)) {
            this.#askClient(flight, flight.queued.splice(0));
          }
        }, INPUT_GATHER_MS);
      }
      return;
    }
    if (message.method === 'notifications/progress' || message.method === 'notifications/message') {
      if (!flight || flight.state !== undefined) return;
      if (message.method === 'notifications/message') {
        // Log lines only for requests that asked for them, at or above their level.
        const level = LOG_LEVELS.indexOf(String(message.params?.level));
        if (flight.logLevel === undefined || level < flight.logLevel) return;
      }
      flight.exchange.deliver(message);
      return;
    }
    this.#listen.publish(message);
  }

  async close(): Promise<void> {
    this.#listen.close();
    for (const f of this.#continuations.values()) if (f.expiry) clearTimeout(f.expiry);
    this.#continuations.clear();
    await this.#held.close();
  }
}

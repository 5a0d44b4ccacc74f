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
import { accepts, json, jsonRpcHttpError } from './http-util.js';
import { CACHEABLE_METHODS, META, MODERN_PROTOCOL_VERSION, ModernErrorCode } from './protocol.js';
import { SSE_HEADERS, SseStream } from './sse.js';

// 2026-07-28 (stateless) requests: every POST stands alone, carrying protocol version and
// client capabilities in params._meta (basic/index "Per-request protocol fields"). Upstreams
// that speak only the 2025 revisions are served over one session that the gateway holds.

/** Methods that 2026-07-28 removed; a modern client gets 404 + -32601 for them. */
const REMOVED_METHODS = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);
const ENVELOPE_KEYS = [META.protocolVersion, META.clientInfo, META.clientCapabilities, META.logLevel];
const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

interface InFlight {
  readonly exchange: PostExchange;
  readonly originalId: JsonRpcId;
  readonly logLevel: number | undefined;
}

interface Listener {
  readonly log: StreamLog;
  readonly id: JsonRpcId;
  readonly wants: { tools: boolean; prompts: boolean; resources: boolean; uris: Set<string> };
}

export class StatelessEndpoint {
  readonly #open: (sink: DownstreamSink) => Promise<Dispatcher>;
  readonly #logger: Logger;
  readonly #keepAliveMs: number | undefined;
  #dispatcher: Promise<Dispatcher> | undefined;
  #nextId = 0;
  #nextStream = 0;
  readonly #inFlight = new Map<JsonRpcId, InFlight>();
  readonly #listeners = new Set<Listener>();

  constructor(open: (sink: DownstreamSink) => Promise<Dispatcher>, logger: Logger, keepAliveMs?: number) {
    this.#open = open;
    this.#logger = logger;
    this.#keepAliveMs = keepAliveMs;
  }

  #getDispatcher(): Promise<Dispatcher> {
    if (!this.#dispatcher) {
      const sink: DownstreamSink = {
        deliver: (m, related) => this.#deliver(m, related),
        closed: () => {
          // The held upstream session ended; the next request opens a new one.
          this.#dispatcher = undefined;
        },
      };
      this.#dispatcher = this.#open(sink);
      this.#dispatcher.catch(() => (this.#dispatcher = undefined));
    }
    return this.#dispatcher;
  }

  async handle(message: JsonRpcRequest | JsonRpcNotification, call: { request: Request }): Promise<Response> {
    const meta = (message.params?._meta ?? {}) as Record<string, unknown>;
    const version = meta[META.protocolVersion];
    const id = isRequest(message) ? message.id : null;
    const missing = [META.protocolVersion, META.clientCapabilities].filter(
      (k) => typeof meta[k] !== (k === META.protocolVersion ? 'string' : 'object') || meta[k] === null,
    );
    if (missing.length) return jsonRpcHttpError(400, ErrorCode.InvalidParams, `Invalid params: missing or malformed _meta ${missing.join(', ')}`, id);
    if (version !== MODERN_PROTOCOL_VERSION) {
      return new Response(
        JSON.stringify({
          jsonrpc: '2.0',
          id,
          error: {
            code: ModernErrorCode.UnsupportedProtocolVersion,
            message: `Unsupported protocol version: ${String(version)}`,
            data: { supported: [MODERN_PROTOCOL_VERSION], requested: version },
          },
        }),
        { status: 400, headers: { 'content-type': 'application/json' } },
      );
    }
    const headerVersion = call.request.headers.get('mcp-protocol-version');
    const headerMethod = call.request.headers.get('mcp-method');
    if ((headerVersion !== null && headerVersion.trim() !== version) || (headerMethod !== null && headerMethod.trim() !== message.method)) {
      return jsonRpcHttpError(400, ModernErrorCode.HeaderMismatch, 'Header mismatch: MCP-Protocol-Version / Mcp-Method differ from the body', id);
    }
    if (!isRequest(message)) return new Response(null, { status: 202 });
    if (REMOVED_METHODS.has(message.method)) {
      return jsonRpcHttpError(404, ErrorCode.MethodNotFound, `Method not found: ${message.method}`, message.id);
    }

    let dispatcher: Dispatcher;
    try {
      dispatcher = await this.#getDispatcher();
    } catch (err) {
      return json(errorResponse(message.id, ErrorCode.UpstreamUnavailable, `upstream unavailable: ${(err as Error).message}`));
    }

    if (message.method === 'server/discover') return json({ jsonrpc: '2.0', id: message.id, result: discoverResult(dispatcher) });
    if (message.method === 'subscriptions/listen') return this.#listen(message, dispatcher);

    const levelName = meta[META.logLevel];
    const logLevel = typeof levelName === 'string' && LOG_LEVELS.includes(levelName) ? LOG_LEVELS.indexOf(levelName) : undefined;
    const innerId = `s${++this.#nextId}`;
    const exchange = new PostExchange({
      ids: [message.id],
      sseAllowed: accepts(call.request, 'text/event-stream'),
      batch: false,
      headers: {},
      newStream: () => new StreamLog(++this.#nextStream, 64),
      keepAliveMs: this.#keepAliveMs,
    });
    this.#inFlight.set(innerId, { exchange, originalId: message.id, logLevel });
    const params: Record<string, unknown> = { ...message.params, _meta: stripEnvelope(meta) };
    if (Object.keys(params._meta as object).length === 0) delete params._meta;
    const inner: JsonRpcRequest = { jsonrpc: '2.0', id: innerId, method: message.method, params };
    void dispatcher.request(inner).then((reply) => {
      this.#inFlight.delete(innerId);
      exchange.reply(toModernReply(reply, message.id, message.method));
    });
    return exchange.response;
  }

  /** Upstream notifications and server requests for the held session. */
  #deliver(message: JsonRpcMessage, related: JsonRpcId | undefined): void {
    if (!('method' in message)) return;
    if ('id' in message && message.id !== undefined) {
      // 2026 has no server-to-client requests; bridging them to input_required results is not built yet.
      void this.#dispatcher?.then((d) =>
        d.respond(errorResponse(message.id, ErrorCode.InternalError, 'the 2026-07-28 client cannot be asked (input_required bridging is not supported yet)')),
      );
      return;
    }
    const flight = related !== undefined ? this.#inFlight.get(related) : undefined;
    if (message.method === 'notifications/progress' || message.method === 'notifications/message') {
      if (!flight) return;
      if (message.method === 'notifications/message') {
        // Log lines only for requests that asked for them, at or above their level.
        const level = LOG_LEVELS.indexOf(String(message.params?.level));
        if (flight.logLevel === undefined || level < flight.logLevel) return;
      }
      flight.exchange.deliver(message);
      return;
    }
    for (const l of this.#listeners) {
      const m = message.method;
      const uri = message.params?.uri;
      const wanted =
        (m === 'notifications/tools/list_changed' && l.wants.tools) ||
        (m === 'notifications/prompts/list_changed' && l.wants.prompts) ||
        (m === 'notifications/resources/list_changed' && l.wants.resources) ||
        (m === 'notifications/resources/updated' && typeof uri === 'string' && l.wants.uris.has(uri));
      if (wanted) l.log.push({ ...message, params: { ...message.params, _meta: { [META.subscriptionId]: l.id } } });
    }
  }

  /** `subscriptions/listen`: one long SSE response carrying the change notifications asked for. */
  #listen(request: JsonRpcRequest, dispatcher: Dispatcher): Response {
    const caps = dispatcher.initializeResult.capabilities as Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined>;
    const asked = (request.params?.notifications ?? {}) as Record<string, unknown>;
    const uris = Array.isArray(asked.resourceSubscriptions) && caps.resources?.subscribe
      ? asked.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
      : [];
    const wants = {
      tools: asked.toolsListChanged === true && Boolean(caps.tools?.listChanged),
      prompts: asked.promptsListChanged === true && Boolean(caps.prompts?.listChanged),
      resources: asked.resourcesListChanged === true && Boolean(caps.resources?.listChanged),
      uris: new Set(uris),
    };
    const log = new StreamLog(++this.#nextStream, 64);
    const listener: Listener = { log, id: request.id, wants };
    const subscribe = (method: string) =>
      Promise.all(uris.map((uri) => dispatcher.request({ jsonrpc: '2.0', id: `s${++this.#nextId}`, method, params: { uri } })));
    log.outlet = new SseStream({
      keepAliveMs: this.#keepAliveMs,
      onClose: () => {
        this.#listeners.delete(listener);
        void subscribe('resources/unsubscribe');
      },
    });
    this.#listeners.add(listener);
    void subscribe('resources/subscribe').then(() => {
      const honored: Record<string, unknown> = {};
      if (wants.tools) honored.toolsListChanged = true;
      if (wants.prompts) honored.promptsListChanged = true;
      if (wants.resources) honored.resourcesListChanged = true;
      if (uris.length) honored.resourceSubscriptions = uris;
      log.push({
        jsonrpc: '2.0',
        method: 'notifications/subscriptions/acknowledged',
        params: { notifications: honored, _meta: { [META.subscriptionId]: request.id } },
      });
    });
    this.#logger.debug({ listen: request.id }, 'subscriptions/listen opened');
    return new Response(log.outlet.body, { status: 200, headers: SSE_HEADERS });
  }

  async close(): Promise<void> {
    for (const l of this.#listeners) l.log.outlet?.close();
    const d = await this.#dispatcher?.catch(() => undefined);
    await d?.close();
  }
}

function stripEnvelope(meta: Record<string, unknown>): Record<string, unknown> {
  const out = { ...meta };
  for (const k of ENVELOPE_KEYS) delete out[k];
  return out;
}

function discoverResult(dispatcher: Dispatcher): Record<string, unknown> {
  const init = dispatcher.initializeResult;
  const { tasks: _tasks, ...capabilities } = init.capabilities;
  const result: Record<string, unknown> = {
    resultType: 'complete',
    supportedVersions: [MODERN_PROTOCOL_VERSION],
    capabilities,
    ttlMs: 0,
    cacheScope: 'private',
    _meta: { [META.serverInfo]: init.serverInfo },
  };
  if (init.instructions) result.instructions = init.instructions;
  return result;
}

/** A 2025-era reply dressed for a 2026 client: resultType, cache hints, renamed error codes. */
function toModernReply(reply: JsonRpcResponse, id: JsonRpcId, method: string): JsonRpcResponse {
  if ('error' in reply) {
    // 2026-07-28 folds -32002 (resource not found) into -32602 with the uri in data.
    const error = reply.error.code === ErrorCode.ResourceNotFound ? { ...reply.error, code: ErrorCode.InvalidParams } : reply.error;
    return { jsonrpc: '2.0', id, error };
  }
  const result: Record<string, unknown> = { resultType: 'complete', ...reply.result };
  if (CACHEABLE_METHODS.has(method)) {
    result.ttlMs ??= 0;
    result.cacheScope ??= 'private';
  }
  return { jsonrpc: '2.0', id, result };
}

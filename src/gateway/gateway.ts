import type { ResolvedServer } from '../config/index.js';
import {
  ErrorCode,
  isRequest,
  isResponse,
  parseMessage,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import type { InitializeParams, Upstream } from '../upstream/types.js';
import { DEFAULT_MAX_SESSIONS_PER_PRINCIPAL, PrincipalAdmission } from './admission.js';
import { openAggregateDispatcher } from './aggregate-dispatcher.js';
import { isNullIdRequest, nullId, routeKey, tooDeep, usableSession, type McpCall } from './call.js';
import { duplicateIdError, type Dispatcher, type DownstreamSink } from './dispatcher.js';
import { PostExchange, parseEventId } from './exchange.js';
import { accepts, empty, isJsonContentType, json, jsonRpcHttpError, unavailableMessage } from './http-util.js';
import { LegacySseTransport } from './legacy-sse.js';
import type { Reply } from './reply.js';
import { BATCHING_VERSION, SESSION_NOT_FOUND, negotiateLegacyVersion, nestedDeeperThan } from './protocol.js';
import { Session } from './session.js';
import { openSingleDispatcher } from './single-dispatcher.js';
import { hasModernClaim, isModernHeader, primes, unsupportedVersionHeader } from './request-revision.js';
import { SSE_HEADERS } from './sse.js';
import { StatelessEndpoint } from './stateless.js';
import { FilterNameAudit } from './tool-filter.js';

export interface GatewayOptions {
  readonly servers: readonly ResolvedServer[];
  readonly upstreams: ReadonlyMap<string, Upstream>;
  readonly logger: Logger;
  /** Comment lines on idle SSE streams, so proxies do not cut them (default 15 s). */
  readonly keepAliveMs?: number;
  /** Sessions with no traffic and no open stream for this long are closed (default 30 min). */
  readonly sessionIdleMs?: number;
  /** Open sessions one principal may hold (config maxSessionsPerClient; default 100). */
  readonly maxSessionsPerPrincipal?: number;
  /**
   * How long a held aggregate session (2026 clients) that opened without some server serves
   * before it is renewed (default INCOMPLETE_RETRY_MS, held-sessions.ts). Not a config key: tests shorten it.
   */
  readonly incompleteRetryMs?: number;
}

export type { McpCall } from './call.js';

const SESSION_HEADER = 'mcp-session-id';

/**
 * Inbound MCP: Streamable HTTP for the 2025 revisions (sessions) and 2026-07-28
 * (stateless), and the legacy HTTP+SSE transport, for one server or the aggregate.
 */
export class Gateway {
  readonly #options: GatewayOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #admission: PrincipalAdmission;
  readonly #legacy: LegacySseTransport;
  readonly #stateless = new Map<string, StatelessEndpoint>();
  readonly #filters: Map<string, ResolvedServer>;
  /** Per server with a tool filter: says when it names tools the server does not list. */
  readonly #audits = new Map<string, FilterNameAudit>();
  readonly #sweeper: NodeJS.Timeout;
  #closing = false;

  /** A session ended: it no longer counts (each session's onClose, both transports). */
  readonly #forget = (session: Session): void => {
    if (this.#sessions.delete(session.id)) this.#admission.release(session.principal);
  };

  constructor(options: GatewayOptions) {
    this.#options = options;
    this.#admission = new PrincipalAdmission(options.maxSessionsPerPrincipal ?? DEFAULT_MAX_SESSIONS_PER_PRINCIPAL);
    this.#legacy = new LegacySseTransport({
      sessions: this.#sessions,
      admission: this.#admission,
      keepAliveMs: options.keepAliveMs,
      forget: this.#forget,
      openDispatcher: (call, session, initialize) => this.#openDispatcher(call, session, initialize),
    });
    this.#filters = new Map(options.servers.map((s) => [s.name, s]));
    for (const s of options.servers) if (s.tools) this.#audits.set(s.name, new FilterNameAudit(s.name, s.tools, options.logger));
    const idle = options.sessionIdleMs ?? 30 * 60_000;
    this.#sweeper = setInterval(() => this.#sweep(idle), Math.min(idle, 60_000));
    this.#sweeper.unref();
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  hasServer(name: string): boolean {
    return this.#options.upstreams.has(name);
  }

  /** `/{name}/mcp` and `/mcp`: POST, GET and DELETE. */
  // Not async, nor is #post: a POST's answer reaches the listener with no promise wrapped
  // around the exchange's own (each async layer that returns a promise costs two more
  // microtask turns per call; docs/decisions/0005-performance.md, session 6).
  handleStreamable(call: McpCall): Promise<Reply> {
    if (this.#closing) return Promise.resolve(jsonRpcHttpError(503, ErrorCode.UpstreamUnavailable, 'the gateway is shutting down'));
    switch (call.request.method) {
      case 'POST': {
        const reply = this.#post(call);
        return reply instanceof Promise ? reply : Promise.resolve(reply);
      }
      case 'GET':
        return Promise.resolve(this.#get(call));
      case 'DELETE':
        return this.#delete(call);
      default:
        return Promise.resolve(jsonRpcHttpError(405, ErrorCode.InvalidRequest, 'Method not allowed', null, { allow: 'GET, POST, DELETE' }));
    }
  }

  /** A throw here (a bug) still reaches the listener as a rejection (its serve is async): a 500. */
  #post(call: McpCall): Reply | Promise<Reply> {
    const { request } = call;
    if (!isJsonContentType(request)) {
      return jsonRpcHttpError(415, ErrorCode.InvalidRequest, 'Unsupported Media Type: Content-Type must be application/json');
    }
    if (!accepts(request, 'application/json') && !accepts(request, 'text/event-stream')) {
      return jsonRpcHttpError(406, ErrorCode.InvalidRequest, 'Not Acceptable: the client must accept application/json and text/event-stream');
    }
    let body: unknown;
    const text = request.body;
    try {
      body = JSON.parse(text);
    } catch {
      return jsonRpcHttpError(400, ErrorCode.ParseError, 'Parse error: the body is not valid JSON');
    }
    if (nestedDeeperThan(text)) return tooDeep();
    const batch = Array.isArray(body);
    const items: unknown[] = batch ? (body as unknown[]) : [body];
    if (items.length === 0) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Invalid Request: empty batch');
    if (items.length > 100) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Invalid Request: batch of more than 100 messages');
    const messages: JsonRpcMessage[] = [];
    for (const item of items) {
      if (isNullIdRequest(item)) return nullId();
      const parsed = parseMessage(item);
      if (!parsed.ok) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, `Invalid Request: ${parsed.reason}`, parsed.id);
      messages.push(parsed.message);
    }

    // 2026-07-28: a request that carries the protocol version in _meta is stateless (that
    // endpoint judges the header against the claim itself: -32020 / -32022 with its data).
    const first = messages[0]!;
    if (!batch && 'method' in first && (hasModernClaim(first) || isModernHeader(request))) {
      return this.#statelessFor(call).handle(first, call);
    }
    const badVersion = unsupportedVersionHeader(request);
    if (badVersion) return badVersion;

    const init = messages.find((m): m is JsonRpcRequest => isRequest(m) && m.method === 'initialize');
    let session: Session;
    if (init) {
      if (messages.length > 1) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Invalid Request: initialize must be sent alone');
      if (request.headers.get(SESSION_HEADER)) {
        return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Invalid Request: initialize on an existing session', init.id);
      }
      return this.#initialize(call, init);
    } else {
      const found = this.#findSession(call);
      if (!(found instanceof Session)) return found;
      session = found;
      // 2025-06-18 removed JSON-RPC batching (changelog); only a 2025-03-26 session may batch.
      if (batch && session.protocolVersion !== BATCHING_VERSION) {
        return jsonRpcHttpError(400, ErrorCode.InvalidRequest, `Invalid Request: batches are not supported in protocol version ${session.protocolVersion}`);
      }
    }
    session.lastActivity = Date.now();

    // A request id still pending in this session cannot be used again: the two replies could
    // not be told apart (JSON-RPC 2.0; MCP basic: "The request ID MUST NOT have been previously
    // used by the requestor within the same session"). Alone: 400; in a batch: that item's error.
    const requests: JsonRpcRequest[] = [];
    const duplicates: JsonRpcRequest[] = [];
    const seen = new Set<JsonRpcId>();
    for (const m of messages) {
      if (!isRequest(m)) continue;
      if (seen.has(m.id)) {
        return jsonRpcHttpError(400, ErrorCode.InvalidRequest, `Invalid Request: request id ${JSON.stringify(m.id)} appears twice in the batch`, m.id);
      }
      seen.add(m.id);
      if (!session.isInFlight(m.id)) requests.push(m);
      else if (batch) duplicates.push(m);
      else return json(duplicateIdError(m.id), 400, { [SESSION_HEADER]: session.id });
    }
    for (const m of messages) {
      if (isResponse(m)) session.dispatcher.respond(m);
      else if (!isRequest(m) && m.method !== 'notifications/initialized') session.dispatcher.notify(m);
    }
    const headers = { [SESSION_HEADER]: session.id };
    if (requests.length === 0 && duplicates.length === 0) return empty(202, headers);

    const exchange = new PostExchange({
      ids: [...requests, ...duplicates].map((r) => r.id),
      sseAllowed: accepts(request, 'text/event-stream') && request.headers.get('accept') !== null,
      batch,
      headers,
      newStream: () => session.newStream(),
      keepAliveMs: this.#options.keepAliveMs,
      prime: primes(session.protocolVersion),
    });
    session.track(exchange);
    const settle = (reply: JsonRpcResponse) => {
      exchange.reply(reply);
      if (exchange.finished) session.untrack(exchange);
    };
    for (const d of duplicates) settle(duplicateIdError(d.id));
    for (const r of requests) {
      session.begin(r.id);
      void session.dispatcher.request(r).then((reply) => {
        session.end(r.id);
        settle(reply);
      });
    }
    return exchange.response;
  }

  async #initialize(call: McpCall, init: JsonRpcRequest): Promise<Reply> {
    const params = (init.params ?? {}) as Partial<InitializeParams>;
    const version = negotiateLegacyVersion(params.protocolVersion);
    if (!this.#admission.admit(call.principal)) return this.#admission.tooMany(init.id);
    const session = new Session(routeKey(call), call.principal, version, 'streamable', this.#forget);
    try {
      session.dispatcher = await this.#openDispatcher(call, session, {
        protocolVersion: version,
        capabilities: params.capabilities ?? {},
        clientInfo: params.clientInfo ?? { name: 'unknown', version: '0' },
      });
    } catch (err) {
      this.#options.logger.warn({ server: call.server ?? '(aggregate)', err: (err as Error).message }, 'cannot open upstream session');
      this.#admission.release(call.principal);
      return jsonRpcHttpError(502, ErrorCode.UpstreamUnavailable, unavailableMessage(call.server, err), init.id);
    }
    this.#sessions.set(session.id, session);
    const result = { ...session.dispatcher.initializeResult, protocolVersion: version };
    return json({ jsonrpc: '2.0', id: init.id, result }, 200, { [SESSION_HEADER]: session.id });
  }

  #openDispatcher(call: McpCall, session: Session, initialize: InitializeParams): Promise<Dispatcher> {
    const sink: DownstreamSink = {
      deliver: (m, related) => session.deliver(m, related),
      closed: (reason) => {
        this.#options.logger.info({ session: session.id, reason: reason.message }, 'upstream channel closed; ending session');
        void session.close();
      },
    };
    return this.openDispatcher(call, { sink, initialize });
  }

  /** A dispatcher for the call's route: one server, or every server the caller may use. */
  openDispatcher(call: Pick<McpCall, 'server' | 'allowedServers'>, options: { sink: DownstreamSink; initialize?: InitializeParams }): Promise<Dispatcher> {
    if (call.server !== undefined) {
      const upstream = this.#options.upstreams.get(call.server);
      if (!upstream) throw new Error(`unknown server ${call.server}`);
      return openSingleDispatcher(upstream, this.#filters.get(call.server)?.tools, options, this.#audits.get(call.server));
    }
    const members = call.allowedServers.flatMap((name) => {
      const upstream = this.#options.upstreams.get(name);
      return upstream ? [{ name, upstream, filter: this.#filters.get(name)?.tools, audit: this.#audits.get(name) }] : [];
    });
    return openAggregateDispatcher(members, options, this.#options.logger);
  }

  #findSession(call: McpCall): Session | Reply {
    const id = call.request.headers.get(SESSION_HEADER);
    if (!id) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Bad Request: Mcp-Session-Id header is required');
    const session = usableSession(this.#sessions.get(id), call, 'streamable');
    if (!session) return jsonRpcHttpError(404, SESSION_NOT_FOUND, 'Session not found');
    return session;
  }

  #get(call: McpCall): Reply {
    const { request } = call;
    const badVersion = unsupportedVersionHeader(request);
    if (badVersion) return badVersion;
    if (!accepts(request, 'text/event-stream') || request.headers.get('accept') === null) {
      return jsonRpcHttpError(406, ErrorCode.InvalidRequest, 'Not Acceptable: the client must accept text/event-stream');
    }
    const found = this.#findSession(call);
    if (!(found instanceof Session)) return found;
    const session = found;
    session.lastActivity = Date.now();
    const headers = { ...SSE_HEADERS, [SESSION_HEADER]: session.id };
    const lastEventId = request.headers.get('last-event-id');
    if (lastEventId !== null) {
      const at = parseEventId(lastEventId);
      const log = at ? session.stream(at.stream) : undefined;
      if (!at || !log) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, 'Bad Request: unknown Last-Event-ID');
      // The outlet it replaces (a stream the client lost) is closed by resume().
      const outlet = session.openOutlet(this.#options.keepAliveMs);
      log.resume(outlet, at.seq);
      return { status: 200, headers, stream: outlet.body };
    }
    if (session.standalone?.outlet && !session.standalone.outlet.closed) {
      return jsonRpcHttpError(409, ErrorCode.InvalidRequest, 'Conflict: only one GET stream per session');
    }
    const outlet = session.openOutlet(this.#options.keepAliveMs);
    const log = session.openStandalone(outlet);
    if (primes(session.protocolVersion)) outlet.prime(`${log.id}-0`);
    return { status: 200, headers, stream: outlet.body };
  }

  async #delete(call: McpCall): Promise<Reply> {
    const badVersion = unsupportedVersionHeader(call.request);
    if (badVersion) return badVersion;
    const found = this.#findSession(call);
    if (!(found instanceof Session)) return found;
    await found.close();
    return empty(200);
  }

  // ----- legacy HTTP+SSE (2024-11-05): legacy-sse.ts -----

  /** `GET /{name}/sse`: opens the stream and names the endpoint to POST messages to. */
  handleSseOpen(call: McpCall): Reply {
    if (this.#closing) return jsonRpcHttpError(503, ErrorCode.UpstreamUnavailable, 'the gateway is shutting down');
    return this.#legacy.open(call);
  }

  /** `POST /{name}/message?sessionId=...`: one message; the reply travels on the SSE stream. */
  handleSseMessage(call: McpCall): Promise<Reply> {
    return this.#legacy.message(call);
  }

  /**
   * The stateless endpoint for this principal on this route. Its held 2025 upstream sessions
   * (and their subscriptions, server-to-client requests, log lines, pending input_required
   * continuations and listeners) belong to one principal only: keyed by route alone, two
   * callers with different credentials rode the same upstream session. Endpoints with nothing
   * in flight are closed after sessionIdleMs, so a principal that went away holds nothing.
   */
  #statelessFor(call: McpCall): StatelessEndpoint {
    const key = `${call.principal}\u0000${routeKey(call)}\u0000${call.allowedServers.join(',')}`;
    let endpoint = this.#stateless.get(key);
    if (!endpoint) {
      endpoint = new StatelessEndpoint((sink, initialize) => this.openDispatcher(call, { sink, initialize }), this.#options.logger, this.#options.keepAliveMs, this.#options);
      this.#stateless.set(key, endpoint);
    }
    return endpoint;
  }

  #sweep(idleMs: number): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) {
      const streaming = s.standalone?.outlet && !s.standalone.outlet.closed;
      if (!streaming && s.dispatcher?.inFlight === 0 && now - s.lastActivity > idleMs) void s.close();
    }
    for (const [key, endpoint] of this.#stateless) {
      if (endpoint.idleSince(now - idleMs)) {
        this.#stateless.delete(key);
        void endpoint.close();
      }
    }
  }

  /** Stops taking calls, lets in-flight ones finish (up to `graceMs`), then closes every session. */
  async close(graceMs = 10_000): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweeper);
    const deadline = Date.now() + graceMs;
    const busy = () => [...this.#sessions.values()].some((s) => (s.dispatcher?.inFlight ?? 0) > 0);
    while (busy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...this.#sessions.values()].map((s) => s.close()));
    await Promise.all([...this.#stateless.values()].map((e) => e.close()));
  }
}

import type { Dispatcher } from 'undici';
import { ErrorCode, errorResponse, isRequest, parseMessage, type JsonRpcId, type JsonRpcMessage } from '../../jsonrpc/index.js';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { closesLink, describeFailure, describeStatus, isLegacyServerAnswer, jsonRpcError, publicReason, RemoteLinkError } from './errors.js';
import type { EventSourceMessage } from './event-stream.js';
import { AnswerWaits, sameOriginTarget } from './answer-wait.js';
import { readJsonAnswer } from './json-answer.js';
import { dispatchRequest, fromResponseData, type Answer, type AnswerBody } from './post-answer.js';
import type { WirePool } from './wire/index.js';
import { readPostStream, type PostStreamHost } from './post-stream.js';
import { header, StandaloneStream, streamStatusFailure } from './standalone-stream.js';
import type { RemoteLinkEvents } from './link-context.js';

// The Streamable HTTP client link (MCP 2025-03-26 .. 2025-11-25 transports) on undici's
// `request` with a keep-alive pool: JSON or SSE answers, the session id and protocol version
// headers, the server's GET stream, resumption of broken streams with Last-Event-ID. The
// SDK's transport does the same with web fetch at several times the CPU per call
// (docs/decisions/0005-performance.md); it stays for legacy SSE and the SDK's OAuth client.
// Failures read the same as LegacySseLink's (errors.ts): what the operator sees in the log and
// what a client reads in a JSON-RPC error do not depend on which link carried the message.

export interface StreamableLinkOptions {
  /** The server's name in config: JSON-RPC errors name it (never its URL). */
  readonly name: string;
  readonly url: URL;
  readonly timeoutMs: number;
  readonly dispatcher: Dispatcher;
  /** Configured static headers (already checked). */
  readonly headers: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /** What the link learns about the server, for the factory (transport: auto). */
  readonly events?: RemoteLinkEvents | undefined;
  /**
   * transport: auto. Called instead of failing when the first POST (initialize) gets a legacy
   * server's answer (400/404/405 without a JSON-RPC error body, errors.ts isLegacyServerAnswer):
   * the link is then closed without a word to its handlers, and the caller tries legacy SSE.
   */
  readonly onLegacyAnswer?: ((first: JsonRpcMessage, status: number) => void) | undefined;
  /**
   * When set, POSTs and stream resumptions go over this wire pool (wire/, decision 0017) with
   * the raw handler (post-answer.ts) instead of `dispatcher.request()`: less CPU per call.
   * Never with an OAuth dispatcher (oauth-dispatcher.ts), which authorizes `request()` alone.
   */
  readonly raw?: WirePool | undefined;
}

/** Reconnection delays when the server sent no `retry:` field (as the SDK's defaults). */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
const RETRY_GROWTH = 1.5;

const POST_ACCEPT = 'application/json, text/event-stream';
/** Same-origin 307/308 hops one request follows (as the SDK transport: `POST /mcp` -> `/mcp/`). */
const MAX_REDIRECTS = 5;

export class StreamableHttpLink implements Link {
  readonly description: string;
  readonly #o: StreamableLinkOptions;
  readonly #handlers: LinkHandlers;
  /** The endpoint's path; a same-origin 307/308 moves it for the rest of the link's life. */
  #path: string;
  #sessionId: string | undefined;
  /** What every POST sends (#makePostHeaders), until the session id or protocol version changes it. */
  #postHeaders: Readonly<Record<string, string>> | undefined;
  /** The endpoint's origin (URL's getter builds a new string on every read). */
  readonly #origin: string;
  #protocolVersion: string | undefined;
  #closed: RemoteLinkError | undefined;
  /** The server accepted a message: failures from now on are not "failed early". */
  #delivered = false;
  /** The server's latest SSE `retry:` value, in ms. */
  #retryMs: number | undefined;
  /** POST event streams being read (no AbortController per POST): destroyed on close, so that the pool can close. */
  readonly #streams = new Set<AnswerBody>();
  readonly #standalone: StandaloneStream;
  readonly #waits = new AnswerWaits();
  /** What reading a POST's event stream uses of this link (post-stream.ts): made once, not per POST. */
  readonly #postStreams: PostStreamHost;

  constructor(options: StreamableLinkOptions, handlers: LinkHandlers) {
    this.#o = options;
    this.#handlers = handlers;
    this.#path = options.url.pathname + options.url.search;
    this.#origin = options.url.origin;
    this.description = `remote "${options.name}" (streamable-http) ${redactUrl(options.url.href)}`;
    this.#standalone = new StandaloneStream({
      url: options.url,
      timeoutMs: options.timeoutMs,
      dispatcher: options.dispatcher,
      logger: options.logger,
      path: () => this.#path,
      headers: (accept) => this.#headers(accept),
      closed: () => this.#closed !== undefined || this.#sessionId === undefined,
      deliver: (event) => void this.#deliverEvent(event, undefined),
      onRetry: (ms) => this.#onRetry(ms),
      retryDelay: (n) => this.#retryDelay(n),
      fail: (reason) => this.#fail(reason),
      ended: () => this.#waits.giveUpAll(),
    });
    this.#postStreams = {
      name: options.name,
      logger: options.logger,
      streams: this.#streams,
      closed: () => this.#closed !== undefined,
      deliver: (event, requestId) => this.#deliverEvent(event, requestId),
      onRetry: this.#onRetry,
      retryDelay: (n) => this.#retryDelay(n),
      resume: (lastId) => this.#resumePostStream(lastId),
      fail: (reason) => this.#fail(reason),
      answer: (message) => this.#handlers.onMessage(message),
    };
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
    this.#postHeaders = undefined;
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    // Fire and forget: a slow tool call must not hold up the next message.
    void this.#post(message);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const sid = this.#sessionId;
    this.#fail(new RemoteLinkError('closed', `link to ${redactUrl(this.#o.url.href)} closed by the gateway`), true);
    if (sid) {
      // MCP 2025-03-26: a client that no longer needs its session SHOULD DELETE it (best effort).
      await this.#o.dispatcher
        .request({ origin: this.#o.url.origin, path: this.#path, method: 'DELETE', headers: this.#headers(undefined) })
        .then((r) => r.body.dump())
        .catch(() => undefined);
    }
  }

  /** A POST's headers: the same for every POST until the session id or protocol version is learnt (undici only reads them). */
  #makePostHeaders(): Readonly<Record<string, string>> {
    const headers = this.#headers(POST_ACCEPT);
    headers['content-type'] = 'application/json';
    this.#postHeaders = Object.freeze(headers);
    return this.#postHeaders;
  }

  #headers(accept: string | undefined): Record<string, string> {
    const h: Record<string, string> = { ...this.#o.headers };
    if (accept !== undefined) h.accept = accept;
    if (this.#sessionId) h['mcp-session-id'] = this.#sessionId;
    if (this.#protocolVersion) h['mcp-protocol-version'] = this.#protocolVersion;
    return h;
  }

  // --- POST ------------------------------------------------------------------------------

  async #post(message: JsonRpcMessage): Promise<void> {
    const id: JsonRpcId | undefined = isRequest(message) ? message.id : undefined;
    // No AbortController per POST (it costs more than the rest of the request's JS): after
    // close, late answers are dropped, and headersTimeout bounds a hung request.
    let res: Answer;
    try {
      const headers = this.#postHeaders ?? this.#makePostHeaders();
      const body = JSON.stringify(message);
      res = await this.#exchange('POST', headers, body);
      for (let hops = 0; (res.statusCode === 307 || res.statusCode === 308) && hops < MAX_REDIRECTS; hops++) {
        const target = sameOriginTarget(header(res.headers, 'location'), this.#path, this.#o.url);
        if (target === undefined) break;
        await res.body.dump();
        this.#path = target;
        res = await this.#exchange('POST', headers, body);
      }
    } catch (err) {
      if (!this.#closed) this.#requestFailed(message, id, describeFailure(err, this.#o.url, this.#o.timeoutMs));
      return;
    }
    try {
      await this.#answer(res, message, id);
    } catch (err) {
      if (!this.#closed) this.#requestFailed(message, id, describeFailure(err, this.#o.url, this.#o.timeoutMs));
    }
  }

  /** One request to the endpoint, over the wire pool when the link has one. */
  #exchange(method: 'POST' | 'GET', headers: Readonly<Record<string, string>>, body?: string): Promise<Answer> {
    const options = { origin: this.#origin, path: this.#path, method, headers, body };
    if (this.#o.raw !== undefined) return dispatchRequest(this.#o.raw, options);
    return this.#o.dispatcher.request(options).then(fromResponseData);
  }

  async #answer(res: Answer, message: JsonRpcMessage, id: JsonRpcId | undefined): Promise<void> {
    const sid = header(res.headers, 'mcp-session-id');
    if (sid && !this.#sessionId) {
      this.#sessionId = sid;
      this.#postHeaders = undefined;
    }
    const status = res.statusCode;
    if (status >= 300 && status < 400) {
      await res.body.dump();
      const location = header(res.headers, 'location') ?? 'nowhere';
      this.#requestFailed(
        message,
        id,
        new RemoteLinkError('protocol', `${redactUrl(this.#o.url.href)} redirected the request to ${redactUrl(location)} (HTTP ${status}); set the server's url to the address to use`, { status }),
      );
      return;
    }
    if (status >= 400) {
      const text = await res.body.text().catch(() => '');
      this.#statusFailed(status, text, message, id);
      return;
    }
    if (status === 202 || status === 204) {
      await res.body.dump();
      this.#markDelivered();
      if ('method' in message && message.method === 'notifications/initialized') this.#standalone.open();
      // MCP 2025-03-26+ transports: a request's POST MUST get JSON or an event stream, not 202.
      if (id !== undefined) this.#noAnswer(message, id, `answered HTTP ${status} with no body`);
      return;
    }
    const type = header(res.headers, 'content-type') ?? '';
    if (type.startsWith('text/event-stream')) {
      this.#markDelivered();
      await readPostStream(this.#postStreams, res.body, id);
      return;
    }
    const text = await res.body.text();
    if (!/^application\/(?:[\w.+-]+\+)?json/i.test(type)) {
      if (text.trim() === '' && id === undefined) return;
      // An HTML login page from a proxy in front of the server, most often.
      const shown = redactUrl(this.#o.url.href);
      this.#requestFailed(
        message,
        id,
        new RemoteLinkError('protocol', `${shown} answered with ${type.split(';')[0] || 'no content type'}, not JSON or an event stream (a login page? check the URL and the configured headers)`),
      );
      return;
    }
    this.#markDelivered();
    if (text.trim() === '') {
      if (id !== undefined) this.#noAnswer(message, id, 'answered with an empty JSON body');
      return;
    }
    if (!this.#deliverJson(text, id) && id !== undefined) this.#noAnswer(message, id, 'answered with JSON that holds no answer to the request');
  }

  /** A request's POST was answered without its answer: failed now, unless the GET stream is live (standalone-stream.ts `live`). */
  #noAnswer(message: JsonRpcMessage, id: JsonRpcId, what: string): void {
    const reason = `${redactUrl(this.#o.url.href)} ${what}`;
    if (!this.#standalone.live) this.#requestFailed(message, id, new RemoteLinkError('protocol', reason));
    else {
      this.#o.logger.warn({ id, reason }, 'waiting for the answer on the event stream (a request is to be answered on its POST)');
      this.#waits.add(id, () => this.#requestFailed(message, id, new RemoteLinkError('protocol', `${reason}, and the event stream ended without it`)));
    }
  }

  #statusFailed(status: number, text: string, message: JsonRpcMessage, id: JsonRpcId | undefined): void {
    if (this.#closed) return;
    const isInitialize = 'method' in message && message.method === 'initialize';
    // A JSON-RPC error body is the server's own answer; pass it on (a 2026-only server's
    // -32022 to initialize is how the era detection above this link learns about it). Not
    // for a 401 (credentials) or a 404 to our session (gone): those end the link below.
    if (id !== undefined && status !== 401 && !(status === 404 && this.#sessionId && !isInitialize)) {
      const answer = jsonRpcError(text);
      if (answer !== undefined) {
        this.#handlers.onMessage({ ...answer, id });
        return;
      }
    }
    const onLegacy = this.#o.onLegacyAnswer;
    if (isInitialize && onLegacy !== undefined && !this.#delivered && isLegacyServerAnswer(status, text)) {
      this.#closed = new RemoteLinkError('closed', 'handed over to the legacy SSE transport');
      onLegacy(message, status);
      return;
    }
    this.#requestFailed(message, id, this.#statusFailure(status, isInitialize));
  }

  #statusFailure(status: number, isInitialize: boolean): RemoteLinkError {
    if (status === 404 && !isInitialize && this.#sessionId) {
      return new RemoteLinkError(
        'session-expired',
        `session expired: ${redactUrl(this.#o.url.href)} answered HTTP 404 for our session (the server restarted or dropped it); a new link must initialize again`,
        { status },
      );
    }
    return describeStatus(status, this.#o.url);
  }

  /** A message did not get through: its request gets a JSON-RPC error, or the link ends. */
  #requestFailed(message: JsonRpcMessage, id: JsonRpcId | undefined, failure: RemoteLinkError): void {
    if (this.#closed) return; // nothing reaches the handlers after onClose
    const isInitialize = 'method' in message && message.method === 'initialize';
    if (isInitialize || closesLink(failure)) {
      this.#fail(failure);
      return;
    }
    if (id === undefined) {
      this.#o.logger.warn({ reason: failure.message }, 'a message to the remote server was not delivered');
      return;
    }
    this.#o.logger.warn({ id, method: 'method' in message ? message.method : undefined, reason: failure.message }, 'a request to the remote server failed');
    const code = failure.code === 'timeout' ? ErrorCode.RequestTimeout : ErrorCode.UpstreamUnavailable;
    this.#handlers.onMessage(errorResponse(id, code, publicReason(this.#o, failure)));
  }

  #markDelivered(): void {
    if (this.#delivered || this.#closed) return;
    this.#delivered = true;
    this.#o.events?.delivered('streamable-http');
  }

  /** Hands a JSON answer's messages on; false when none of them answers request `id` (and it has not been answered otherwise). */
  #deliverJson(text: string, id: JsonRpcId | undefined): boolean {
    const read = readJsonAnswer(text, id);
    if (read === undefined) {
      this.#o.logger.warn('upstream sent a body that is not JSON');
      if (id !== undefined) this.#handlers.onMessage(errorResponse(id, ErrorCode.UpstreamUnavailable, `upstream "${this.#o.name}" sent an answer that is not MCP`));
      return true;
    }
    for (const reason of read.malformed) this.#o.logger.warn({ reason }, 'upstream sent a malformed message');
    for (const m of read.messages) if (!this.#closed) this.#handlers.onMessage(m);
    return read.answers || this.#closed !== undefined;
  }

  /** One SSE event to the handlers; true when it is the answer to `requestId`. */
  #deliverEvent(event: EventSourceMessage, requestId: JsonRpcId | undefined): boolean {
    if (event.event && event.event !== 'message') return false;
    if (!event.data || this.#closed) return false; // priming events carry only an id
    let value: unknown;
    try {
      value = JSON.parse(event.data);
    } catch {
      this.#o.logger.warn('upstream sent an SSE event that is not JSON');
      return false;
    }
    const parsed = parseMessage(value);
    if (!parsed.ok) {
      this.#o.logger.warn({ reason: parsed.reason }, 'upstream sent a malformed message');
      return false;
    }
    const m = parsed.message;
    // Decided before the handlers see it: the multiplexer rewrites the id in place.
    const answers = requestId !== undefined && 'id' in m && !('method' in m) && m.id === requestId;
    this.#waits.heard(m);
    this.#handlers.onMessage(m);
    return answers;
  }

  readonly #onRetry = (ms: number): void => {
    this.#retryMs = ms;
  };

  /** GET with Last-Event-ID for a broken POST stream: the resumed stream, or why there is none. */
  async #resumePostStream(lastId: string): Promise<AnswerBody | RemoteLinkError> {
    try {
      const headers = this.#headers('text/event-stream');
      headers['last-event-id'] = lastId;
      const res = await this.#exchange('GET', headers);
      const type = header(res.headers, 'content-type') ?? '';
      if (res.statusCode === 200 && type.startsWith('text/event-stream')) return res.body;
      await res.body.dump().catch(() => undefined);
      if (res.statusCode === 200) return new RemoteLinkError('protocol', `${redactUrl(this.#o.url.href)} answered the event stream GET with ${type.split(';')[0] || 'no content type'}`);
      // 409 (the old stream still registered), 5xx: worth another try; 404 with a session: gone.
      return res.statusCode === 404 ? streamStatusFailure(this.#o.url, 404, this.#sessionId !== undefined) : describeStatus(res.statusCode, this.#o.url);
    } catch (err) {
      return describeFailure(err, this.#o.url, this.#o.timeoutMs);
    }
  }

  #retryDelay(attempt: number): number {
    if (this.#retryMs !== undefined) return Math.min(this.#retryMs, MAX_RETRY_MS);
    return Math.min(FIRST_RETRY_MS * RETRY_GROWTH ** attempt, MAX_RETRY_MS);
  }

  // --- closing ---------------------------------------------------------------------------

  #fail(reason: RemoteLinkError, requested = false): void {
    if (this.#closed) return;
    this.#closed = reason;
    this.#standalone.close();
    for (const stream of this.#streams) stream.destroy();
    this.#streams.clear();
    if (!requested) {
      this.#o.logger.warn({ reason: reason.message, failure: reason.code }, 'remote link closed');
      if (!this.#delivered) this.#o.events?.failedEarly(reason);
    }
    try {
      this.#handlers.onClose(reason);
    } catch (error) {
      this.#o.logger.error({ err: error }, 'onClose handler threw');
    }
  }
}

import { InsufficientScopeError, SSEClientTransport, SseError, type FetchLike, type JSONRPCMessage } from '@modelcontextprotocol/client';

import { ErrorCode, errorResponse, isRequest, type JsonRpcId, type JsonRpcMessage } from '../../jsonrpc/index.js';
import { redactUrl } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { closesLink, describeFailure, describeStatus, httpStatusOf, publicReason, RemoteLinkError } from './errors.js';
import type { FetchObserver } from './http-client.js';
import { relaySignal } from './signal-relay.js';
import type { RemoteLinkContext, RemoteLinkEvents } from './link-context.js';
import { legacyStreamGuard } from './legacy-stream-guard.js';

/** Step-up authorizations one request may cause before it fails (the conformance suite allows 3 logins in all). */
const STEP_UP_RETRIES = 2;

// The EventSource under the SDK transport buffers an event without bound, so a server that
// never ends one would fill the gateway's memory: the stream is read through a guard that holds
// events to MAX_EVENT_LENGTH (event-stream.ts, the Streamable HTTP link's limit too); a longer
// one ends the link.
import { MAX_EVENT_LENGTH } from './event-stream.js';

export { MAX_EVENT_LENGTH };

/**
 * The most of a POST's answer the link reads (as undici's own dump, post-answer.ts): the answers
 * come on the stream, a POST's body only goes into an error text. The SDK transport reads it
 * whole, without bound in size or time.
 */
export const MAX_POST_ANSWER_BYTES = 128 * 1024;

/**
 * One session with a server of the 2024-11-05 HTTP+SSE transport, over the SDK's
 * SSEClientTransport: the server's event stream (GET) carries everything it sends, and each
 * message of ours is a POST to the endpoint its first event named. Raw JSON-RPC both ways.
 *
 * `send` hands the message to HTTP and resolves at once. What happens to it afterwards comes
 * back through the handlers: the reply (`onMessage`); a JSON-RPC error reply for a request
 * whose POST failed without breaking the link (HTTP 500, timeout, ...); or `onClose` when the
 * link is broken (the stream lost, connection refused, TLS, HTTP 401, session expired). A
 * legacy session lives on its one stream: it cannot be resumed, so losing it ends the link.
 *
 * Streamable HTTP goes over StreamableHttpLink (streamable-link.ts).
 */
export class LegacySseLink implements Link {
  readonly #ctx: RemoteLinkContext;
  readonly #handlers: LinkHandlers;
  readonly #events: RemoteLinkEvents;
  #transport: SSEClientTransport | undefined;
  #open = false;
  #closed: RemoteLinkError | undefined;
  #teardown: Promise<void> = Promise.resolve();
  #delivered = false;
  /** The last failure to open the event stream, for the close reason. */
  #streamFailure: RemoteLinkError | undefined;
  /** Requests sent once more after a 401 that outlived a re-authorization. */
  readonly #authResent = new Set<JsonRpcId>();
  /** Step-up authorizations per request id (onInsufficientScope). */
  readonly #stepUps = new Map<JsonRpcId, number>();

  private constructor(ctx: RemoteLinkContext, handlers: LinkHandlers, events: RemoteLinkEvents) {
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#events = events;
  }

  /** Opens the event stream; rejects (with a RemoteLinkError) when it cannot be opened. */
  static async open(ctx: RemoteLinkContext, handlers: LinkHandlers, events: RemoteLinkEvents): Promise<LegacySseLink> {
    const link = new LegacySseLink(ctx, handlers, events);
    await link.#openStream();
    return link;
  }

  get description(): string {
    return `remote "${this.#ctx.name}" (sse) ${redactUrl(this.#ctx.url.href)}`;
  }

  send(message: JsonRpcMessage): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    this.#post(message).then(
      () => this.#markDelivered(),
      (error: unknown) => this.#sendFailed(message, error),
    );
    return Promise.resolve();
  }

  setProtocolVersion(version: string): void {
    this.#transport?.setProtocolVersion(version);
  }

  async close(): Promise<void> {
    this.#finish(new RemoteLinkError('closed', `link to ${redactUrl(this.#ctx.url.href)} closed by the gateway`), true);
    await this.#teardown;
  }

  // --- opening ---------------------------------------------------------------------------

  async #openStream(): Promise<void> {
    const transport = new SSEClientTransport(this.#ctx.url, {
      fetch: this.#guardedFetch(this.#ctx.http.fetchFor(this.#observer)),
      authProvider: this.#ctx.authProvider,
    });
    this.#wire(transport);
    let timer: NodeJS.Timeout | undefined;
    const { url, timeoutMs } = this.#ctx;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RemoteLinkError('timeout', `no endpoint event from ${redactUrl(url.href)} within ${timeoutMs} ms: is this a legacy MCP SSE endpoint?`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([transport.start(), timeout]);
    } catch (error) {
      detach(transport);
      await transport.close().catch(() => undefined);
      throw this.#startFailure(error);
    } finally {
      clearTimeout(timer);
    }
    this.#transport = transport;
    this.#open = true;
  }

  #startFailure(error: unknown): RemoteLinkError {
    if (error instanceof RemoteLinkError) return error;
    // The observer saw the real network error; the EventSource only passes on its text.
    if (this.#streamFailure) return this.#streamFailure;
    if (error instanceof SseError && typeof error.code === 'number' && error.code < 300) {
      return new RemoteLinkError('protocol', `${redactUrl(this.#ctx.url.href)} did not open an event stream (${error.message})`, { cause: error });
    }
    return describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs);
  }

  // --- traffic ---------------------------------------------------------------------------

  #post(message: JsonRpcMessage): Promise<void> {
    const transport = this.#transport;
    if (!transport) return Promise.reject(new RemoteLinkError('closed', 'no transport'));
    return transport.send(message as unknown as JSONRPCMessage);
  }

  #markDelivered(): void {
    if (this.#delivered || this.#closed) return;
    this.#delivered = true;
    this.#events.delivered('sse');
  }

  #sendFailed(message: JsonRpcMessage, error: unknown): void {
    if (this.#closed) return; // our own close aborted it
    if (error instanceof InsufficientScopeError && isRequest(message) && this.#stepUp(message, error)) return;
    const isInitialize = 'method' in message && message.method === 'initialize';
    const failure = this.#postFailure(error, isInitialize);
    // With an auth provider, a 401 that outlived the transport's one re-authorization (say a
    // refreshed token refused too) sends the request once more: its 401 asks the provider
    // again, which then goes further (a new login). A second such 401 fails only that request
    // (initialize: the link).
    const authRetryable = failure.code === 'http-status' && failure.status === 401 && this.#ctx.authProvider !== undefined && isRequest(message);
    if (authRetryable && !this.#authResent.has(message.id)) {
      this.#authResent.add(message.id);
      this.#post(message).then(
        () => {
          this.#authResent.delete(message.id);
          this.#markDelivered();
        },
        (again: unknown) => this.#sendFailed(message, again),
      );
      return;
    }
    if (isRequest(message)) this.#authResent.delete(message.id);
    if (isInitialize || (closesLink(failure) && !authRetryable)) {
      this.#finish(failure);
      return;
    }
    if (isRequest(message)) {
      this.#ctx.logger.warn({ id: message.id, method: message.method, reason: failure.message }, 'a request to the remote server failed');
      const code = failure.code === 'timeout' ? ErrorCode.RequestTimeout : ErrorCode.UpstreamUnavailable;
      this.#handlers.onMessage(errorResponse(message.id, code, publicReason(this.#ctx, failure)));
    } else {
      this.#ctx.logger.warn({ reason: failure.message }, 'a message to the remote server was not delivered');
    }
  }

  /** 403 insufficient_scope: authorize with the wider scope, then send the request again. */
  #stepUp(message: JsonRpcMessage & { id: JsonRpcId }, error: InsufficientScopeError): boolean {
    const hook = this.#ctx.onInsufficientScope;
    const done = this.#stepUps.get(message.id) ?? 0;
    if (!hook || done >= STEP_UP_RETRIES) {
      this.#stepUps.delete(message.id);
      return false;
    }
    this.#stepUps.set(message.id, done + 1);
    this.#ctx.logger.info({ id: message.id, scope: error.requiredScope }, 'the server asks for more scope; authorizing again');
    hook({ scope: error.requiredScope, resourceMetadataUrl: error.resourceMetadataUrl }).then(
      (retry) => {
        if (this.#closed) return;
        if (!retry) {
          this.#stepUps.set(message.id, STEP_UP_RETRIES);
          this.#sendFailed(message, error);
          return;
        }
        this.#post(message).then(
          () => {
            this.#stepUps.delete(message.id);
            this.#markDelivered();
          },
          (again: unknown) => this.#sendFailed(message, again),
        );
      },
      (failure: unknown) => {
        this.#stepUps.set(message.id, STEP_UP_RETRIES);
        this.#ctx.logger.warn({ reason: failure instanceof Error ? failure.message : String(failure) }, 'step-up authorization failed');
        this.#sendFailed(message, error);
      },
    );
    return true;
  }

  #postFailure(error: unknown, isInitialize: boolean): RemoteLinkError {
    const status = httpStatusOf(error);
    // The POST endpoint carries the session id: a 404 there means the server forgot it.
    if (status === 404 && !isInitialize) {
      return new RemoteLinkError(
        'session-expired',
        `session expired: ${redactUrl(this.#ctx.url.href)} answered HTTP 404 for our session (the server restarted or dropped it); a new link must initialize again`,
        { status, cause: error },
      );
    }
    return describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs);
  }

  // --- the event stream ------------------------------------------------------------------

  // Sees the GET of the event stream (the EventSource passes on only a text).
  readonly #observer: FetchObserver = {
    onResponse: (method, status, url) => {
      if (method !== 'GET' || this.#closed || !this.#isStreamUrl(url)) return;
      if (status >= 200 && status < 300) this.#streamFailure = undefined;
      else if (status >= 400 && status !== 405) this.#streamFailure = describeStatus(status, this.#ctx.url);
    },
    onError: (method, error, url) => {
      if (method !== 'GET' || this.#closed || isAbort(error) || !this.#isStreamUrl(url)) return;
      this.#streamFailure = describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs);
    },
  };

  /** A GET of the event stream, not one of the OAuth client's metadata lookups (same fetch). */
  #isStreamUrl(url: URL): boolean {
    return url.origin === this.#ctx.url.origin && url.pathname === this.#ctx.url.pathname;
  }

  #wire(transport: SSEClientTransport): void {
    transport.onmessage = (message) => {
      if (!this.#closed) this.#handlers.onMessage(message as unknown as JsonRpcMessage);
    };
    transport.onerror = (error) => this.#transportError(transport, error);
    transport.onclose = () => {
      if (transport === this.#transport && !this.#closed) {
        this.#finish(new RemoteLinkError('connection-lost', `the connection to ${redactUrl(this.#ctx.url.href)} closed`));
      }
    };
  }

  #transportError(transport: SSEClientTransport, error: Error): void {
    if (this.#closed || transport !== this.#transport) return;
    if (this.#open && error instanceof SseError) {
      // The EventSource lost its stream. A legacy SSE session lives on that one stream:
      // reconnecting would open a new, uninitialized session, so the link ends here.
      const status = typeof error.code === 'number' && error.code >= 300 ? error.code : undefined;
      this.#finish(
        status !== undefined
          ? describeStatus(status, this.#ctx.url, error)
          : (this.#streamFailure ??
              new RemoteLinkError('connection-lost', `the server closed the event stream of ${redactUrl(this.#ctx.url.href)} (a legacy SSE session cannot be resumed)`)),
      );
      return;
    }
    // POST failures are handled where send() rejects; what is left is a malformed message.
    if (error.name === 'ZodError' || error instanceof SyntaxError) {
      this.#ctx.logger.warn({ reason: error.message.slice(0, 300) }, 'ignored a malformed message from the remote server');
    } else {
      this.#ctx.logger.debug({ reason: error.message }, 'remote transport reported an error');
    }
  }

  // --- the stream guard -----------------------------------------------------------------

  /**
   * `fetch`, with the event stream's body read through legacyStreamGuard before the EventSource sees it:
   * any event stream answering a GET, wherever a redirect within the origin led (the OAuth
   * client's GETs through the same fetch are answered with JSON).
   */
  #guardedFetch(fetchFn: FetchLike): FetchLike {
    return async (input, init) => {
      const target = input instanceof URL ? input : new URL(input);
      if (init?.method === 'POST' && typeof init.body === 'string' && target.origin === this.#ctx.url.origin) return this.#boundedPost(fetchFn, target, init);
      const response = await fetchFn(input, init);
      if ((init?.method ?? 'GET').toUpperCase() !== 'GET' || response.status !== 200 || !response.body) return response;
      if (!response.headers.get('content-type')?.startsWith('text/event-stream')) return response;
      const guard = legacyStreamGuard(this.#ctx.url, this.#ctx.logger, (failure) => {
        if (!this.#closed) this.#streamFailure = failure;
      });
      return new Response(response.body.pipeThrough(guard), { status: response.status, statusText: response.statusText, headers: response.headers });
    };
  }

  /**
   * A message POST whose answer is read for at most the timeout and MAX_POST_ANSWER_BYTES, then
   * the connection is dropped. The body goes as bytes: the lean path (lean-fetch.ts) reads a
   * string-bodied request's answer whole before it returns, this one streams it. That costs:
   * measured against an in-process server, about 1.2 ms of CPU per legacy call instead of 0.56;
   * a byte limit on lean-fetch.ts's read would let these POSTs go back to the lean path.
   */
  async #boundedPost(fetchFn: FetchLike, target: URL, init: RequestInit): Promise<Response> {
    const controller = new AbortController();
    const relayed = init.signal ? relaySignal(init.signal) : undefined; // the transport's close
    const done = (): void => {
      clearTimeout(timer);
      relayed?.release();
    };
    // Before the answer's head the signal stops the request; after it, erroring the body does
    // (http-client.ts lets go of the signal once a head that is not an event stream is in).
    let errorBody: ((reason: unknown) => void) | undefined;
    const stop = (reason: unknown): void => {
      done();
      controller.abort(reason);
      errorBody?.(reason);
    };
    const timer = setTimeout(
      () => stop(new RemoteLinkError('timeout', `${redactUrl(target.href)} did not finish answering a POST within ${this.#ctx.timeoutMs} ms`)),
      this.#ctx.timeoutMs,
    );
    // Closed while the SDK prepared this POST (its signal is aborted already: nothing to listen to).
    if (relayed?.signal.aborted) stop(relayed.signal.reason);
    else relayed?.signal.addEventListener('abort', () => stop(relayed.signal.reason), { once: true });
    let response: Response;
    try {
      response = await fetchFn(target, { ...init, body: new TextEncoder().encode(init.body as string), signal: controller.signal });
    } catch (error) {
      done();
      throw error;
    }
    if (!response.body) {
      done();
      return response;
    }
    let read = 0;
    const limit = new TransformStream<Uint8Array, Uint8Array>({
      start: (c) => void (errorBody = (reason) => c.error(reason)),
      transform: (chunk, c) => {
        read += chunk.byteLength;
        if (read > MAX_POST_ANSWER_BYTES) {
          done();
          throw new RemoteLinkError('protocol', `${redactUrl(target.href)} answered a POST with more than ${MAX_POST_ANSWER_BYTES} bytes`);
        }
        c.enqueue(chunk);
      },
      flush: done,
    });
    return new Response(response.body.pipeThrough(limit), { status: response.status, statusText: response.statusText, headers: response.headers });
  }

  // --- closing ---------------------------------------------------------------------------

  #finish(reason: RemoteLinkError, requested = false): void {
    if (this.#closed) return;
    this.#closed = reason;
    const transport = this.#transport;
    if (!requested) this.#ctx.logger.warn({ reason: reason.message, failure: reason.code }, 'remote link closed');
    if (!this.#delivered && !requested) this.#events.failedEarly(reason);
    this.#teardown = (async () => {
      if (!transport) return;
      detach(transport);
      await transport.close().catch(() => undefined);
    })();
    try {
      this.#handlers.onClose(reason);
    } catch (error) {
      this.#ctx.logger.error({ err: error }, 'onClose handler threw');
    }
  }
}

function detach(transport: SSEClientTransport): void {
  transport.onmessage = undefined;
  transport.onerror = undefined;
  transport.onclose = undefined;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error.cause instanceof Error && error.cause.name === 'AbortError'));
}

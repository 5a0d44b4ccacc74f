import {
  InsufficientScopeError,
  SdkError,
  SdkErrorCode,
  SSEClientTransport,
  SseError,
  StreamableHTTPClientTransport,
  type AuthProvider,
  type JSONRPCMessage,
  type OAuthClientProvider,
} from '@modelcontextprotocol/client';

import { ErrorCode, errorResponse, isRequest, isResponse, type JsonRpcId, type JsonRpcMessage } from '../../jsonrpc/index.js';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { closesLink, describeFailure, describeStatus, httpBodyOf, httpStatusOf, isLegacyServerAnswer, publicReason, RemoteLinkError } from './errors.js';
import type { FetchObserver, HttpClient } from './http-client.js';

export type RemoteTransportKind = 'streamable-http' | 'sse';

/** What every link of one server shares. */
export interface RemoteLinkContext {
  readonly name: string;
  readonly url: URL;
  readonly timeoutMs: number;
  readonly http: HttpClient;
  readonly logger: Logger;
  readonly authProvider: AuthProvider | OAuthClientProvider | undefined;
  /** See RemoteLinkFactoryOptions.onInsufficientScope. */
  readonly onInsufficientScope?: ((challenge: InsufficientScopeChallenge) => Promise<boolean>) | undefined;
}

/** What a 403 `insufficient_scope` challenge asked for. */
export interface InsufficientScopeChallenge {
  readonly scope: string | undefined;
  readonly resourceMetadataUrl: URL | undefined;
}

/** Step-up authorizations one request may cause before it fails (the conformance suite allows 3 logins in all). */
const STEP_UP_RETRIES = 2;

/** How a link tells its factory what it learned about the server. */
export interface RemoteLinkEvents {
  /** The server accepted the link's first message over this transport. */
  delivered(kind: RemoteTransportKind): void;
  /** The link failed before the server accepted anything. */
  failedEarly(reason: RemoteLinkError): void;
}

type Transport = StreamableHTTPClientTransport | SSEClientTransport;

/** Consecutive failed attempts to reopen a lost event stream before the link gives up. */
const STREAM_RETRIES = 5;
const RECONNECTION = { initialReconnectionDelay: 1_000, maxReconnectionDelay: 30_000, reconnectionDelayGrowFactor: 1.5 };

/**
 * One connection to a remote MCP server over the SDK's Streamable HTTP or legacy SSE client
 * transport, forwarding raw JSON-RPC both ways.
 *
 * `send` hands the message to HTTP and resolves at once: a slow tools/call answered as JSON
 * must not hold back the next message. What happens to it afterwards comes back through the
 * handlers: the reply (`onMessage`); a JSON-RPC error reply for a request whose POST failed
 * without breaking the link (HTTP 500, timeout, ...); or `onClose` when the link is broken
 * (connection refused, TLS, HTTP 401, session expired, event stream lost, initialize failed).
 *
 * In `probe` mode (transport: auto) the first message is POSTed as Streamable HTTP; a legacy
 * answer (400/404/405 without a JSON-RPC body) opens the SSE stream and replays that message
 * there. Later sends wait for that decision.
 */
export class RemoteLink implements Link {
  readonly #ctx: RemoteLinkContext;
  readonly #handlers: LinkHandlers;
  readonly #events: RemoteLinkEvents;
  #mode: RemoteTransportKind | 'probe';
  #transport: Transport | undefined;
  #sseOpen = false;
  #gate: Promise<void> | undefined;
  #closed: RemoteLinkError | undefined;
  #teardown: Promise<void> = Promise.resolve();
  #protocolVersion: string | undefined;
  #delivered = false;
  /** Requests whose reply is expected on their POST's event stream. */
  readonly #awaiting = new Set<JsonRpcId>();
  /** The last failure to (re)open an event stream (GET), for the close reason. */
  #streamFailure: RemoteLinkError | undefined;
  /** A GET stream was open once: the server serves them. */
  #streamSeen = false;
  /** Requests sent once more after a 401 that outlived a re-authorization. */
  readonly #authResent = new Set<JsonRpcId>();
  /** Step-up authorizations per request id (onInsufficientScope). */
  readonly #stepUps = new Map<JsonRpcId, number>();

  private constructor(ctx: RemoteLinkContext, handlers: LinkHandlers, mode: RemoteTransportKind | 'probe', events: RemoteLinkEvents) {
    this.#ctx = ctx;
    this.#handlers = handlers;
    this.#mode = mode;
    this.#events = events;
  }

  /** Opens a link. Rejects (with a RemoteLinkError) only when a legacy SSE stream cannot be opened. */
  static async open(ctx: RemoteLinkContext, handlers: LinkHandlers, mode: RemoteTransportKind | 'probe', events: RemoteLinkEvents): Promise<RemoteLink> {
    const link = new RemoteLink(ctx, handlers, mode, events);
    if (mode === 'sse') await link.#openSse();
    else if (mode === 'streamable-http') await link.#openStreamable();
    return link;
  }

  get description(): string {
    const kind = this.#mode === 'probe' ? 'auto' : this.#mode;
    return `remote "${this.#ctx.name}" (${kind}) ${redactUrl(this.#ctx.url.href)}`;
  }

  /** The transport in use; `undefined` while an auto link has not sent its first message. */
  get transport(): RemoteTransportKind | undefined {
    return this.#mode === 'probe' ? undefined : this.#mode;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    this.#ensureOpen();
    if (this.#gate) {
      await this.#gate;
      this.#ensureOpen();
    }
    if (this.#mode === 'probe') {
      this.#mode = 'streamable-http';
      this.#gate = this.#probe(message).finally(() => {
        this.#gate = undefined;
      });
      return;
    }
    this.#post(message).then(
      () => this.#markDelivered(),
      (error: unknown) => this.#sendFailed(message, error),
    );
  }

  #ensureOpen(): void {
    if (this.#closed) throw this.#closed;
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
    this.#transport?.setProtocolVersion(version);
  }

  async close(): Promise<void> {
    this.#finish(new RemoteLinkError('closed', `link to ${redactUrl(this.#ctx.url.href)} closed by the gateway`), true);
    await this.#teardown;
  }

  // --- opening ---------------------------------------------------------------------------

  async #openStreamable(): Promise<StreamableHTTPClientTransport> {
    const transport = new StreamableHTTPClientTransport(this.#ctx.url, {
      fetch: this.#ctx.http.fetchFor(this.#observer),
      authProvider: this.#ctx.authProvider,
      protocolVersion: this.#protocolVersion,
      // The SDK retries a lost GET stream twice, then only reports it. We decide instead
      // (#retryStream), so that a server that went away closes the link.
      reconnectionOptions: { ...RECONNECTION, maxRetries: Number.MAX_SAFE_INTEGER },
      reconnectionScheduler: (reconnect, delay, attempt) => this.#retryStream(reconnect, delay, attempt),
    });
    this.#wire(transport);
    await transport.start(); // no I/O: the first POST is the first contact
    this.#transport = transport;
    return transport;
  }

  async #openSse(): Promise<void> {
    const transport = new SSEClientTransport(this.#ctx.url, {
      fetch: this.#ctx.http.fetchFor(this.#observer),
      authProvider: this.#ctx.authProvider,
    });
    this.#wire(transport);
    this.#streamFailure = undefined;
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
      throw this.#sseStartFailure(error);
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed) {
      // closed while the stream was opening (auto fallback): nobody else will close it
      detach(transport);
      await transport.close().catch(() => undefined);
      return;
    }
    if (this.#protocolVersion !== undefined) transport.setProtocolVersion(this.#protocolVersion);
    this.#transport = transport;
    this.#sseOpen = true;
    this.#mode = 'sse';
  }

  #sseStartFailure(error: unknown): RemoteLinkError {
    if (error instanceof RemoteLinkError) return error;
    // The observer saw the real network error; the EventSource only passes on its text.
    if (this.#streamFailure) return this.#streamFailure;
    if (error instanceof SseError && typeof error.code === 'number' && error.code < 300) {
      return new RemoteLinkError('protocol', `${redactUrl(this.#ctx.url.href)} did not open an event stream (${error.message})`, { cause: error });
    }
    return describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs);
  }

  /** Transport: auto, first message. Never rejects. */
  async #probe(first: JsonRpcMessage): Promise<void> {
    const streamable = await this.#openStreamable();
    try {
      await this.#post(first);
      this.#markDelivered();
      return;
    } catch (error) {
      if (this.#closed) return;
      const status = httpStatusOf(error);
      if (!isLegacyServerAnswer(status, httpBodyOf(error))) {
        this.#sendFailed(first, error);
        return;
      }
      this.#ctx.logger.info({ status }, 'no Streamable HTTP at this URL; trying the legacy HTTP+SSE transport');
      detach(streamable);
      this.#transport = undefined;
      await streamable.close().catch(() => undefined);
      try {
        await this.#openSse();
      } catch (sseError) {
        const second = sseError instanceof RemoteLinkError ? sseError : describeFailure(sseError, this.#ctx.url, this.#ctx.timeoutMs);
        this.#finish(
          new RemoteLinkError(
            second.code,
            `${redactUrl(this.#ctx.url.href)} speaks neither MCP transport: a Streamable HTTP POST got HTTP ${status}, and legacy SSE failed: ${second.message}`,
            { status: second.status, cause: second },
          ),
        );
        return;
      }
    }
    if (this.#closed) return;
    try {
      await this.#post(first);
      this.#markDelivered();
    } catch (error) {
      this.#sendFailed(first, error);
    }
  }

  // --- traffic ---------------------------------------------------------------------------

  #post(message: JsonRpcMessage): Promise<void> {
    const transport = this.#transport;
    if (!transport) return Promise.reject(new RemoteLinkError('closed', 'no transport'));
    const wire = message as unknown as JSONRPCMessage;
    if (!(transport instanceof StreamableHTTPClientTransport) || !isRequest(message)) return transport.send(wire);
    const id = message.id;
    this.#awaiting.add(id);
    return transport.send(wire, { onRequestStreamEnd: () => this.#requestStreamEnded(id) }).catch((error: unknown) => {
      this.#awaiting.delete(id);
      throw error;
    });
  }

  #receive(message: JSONRPCMessage): void {
    if (this.#closed) return;
    const m = message as unknown as JsonRpcMessage;
    if (this.#awaiting.size > 0 && isResponse(m) && m.id !== null) this.#awaiting.delete(m.id);
    this.#handlers.onMessage(m);
  }

  /** A POST's event stream ended; if it carried no reply, say so rather than leave the request hanging. */
  #requestStreamEnded(id: JsonRpcId): void {
    if (this.#closed || !this.#awaiting.delete(id)) return;
    this.#ctx.logger.warn({ id }, 'the server ended a response stream without answering the request');
    this.#handlers.onMessage(
      errorResponse(id, ErrorCode.UpstreamUnavailable, `upstream "${this.#ctx.name}" ended the response stream without answering`),
    );
  }

  #markDelivered(): void {
    if (this.#delivered || this.#closed || this.#mode === 'probe') return;
    this.#delivered = true;
    this.#events.delivered(this.#mode);
  }

  #sendFailed(message: JsonRpcMessage, error: unknown): void {
    if (this.#closed) return; // our own close aborted it
    if (error instanceof InsufficientScopeError && isRequest(message) && this.#stepUp(message, error)) return;
    const failure = this.#postFailure(message, error);
    const isInitialize = 'method' in message && message.method === 'initialize';
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

  #postFailure(message: JsonRpcMessage, error: unknown): RemoteLinkError {
    const shown = redactUrl(this.#ctx.url.href);
    const status = httpStatusOf(error);
    const isInitialize = 'method' in message && message.method === 'initialize';
    if (status === 404 && !isInitialize && this.#hasSession()) {
      return new RemoteLinkError(
        'session-expired',
        `session expired: ${shown} answered HTTP 404 for our session (the server restarted or dropped it); a new link must initialize again`,
        { status, cause: error },
      );
    }
    if (error instanceof SdkError && error.code === SdkErrorCode.ClientHttpUnexpectedContent) {
      const type = (error.data as { contentType?: unknown } | undefined)?.contentType;
      return new RemoteLinkError(
        'protocol',
        `${shown} answered with ${typeof type === 'string' ? type : 'no content type'}, not JSON or an event stream (a login page? check the URL and the configured headers)`,
        { cause: error },
      );
    }
    return describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs);
  }

  #hasSession(): boolean {
    const t = this.#transport;
    return t instanceof SSEClientTransport || (t !== undefined && t.sessionId !== undefined);
  }

  // --- event streams ---------------------------------------------------------------------

  // Sees every GET of this link: the standalone event stream (Streamable HTTP), its
  // reconnections and resumptions, and the legacy SSE stream.
  readonly #observer: FetchObserver = {
    onResponse: (method, status, url) => {
      if (method !== 'GET' || this.#closed || !this.#isStreamUrl(url)) return;
      if (status >= 200 && status < 300) {
        this.#streamFailure = undefined;
        this.#streamSeen = true;
      } else if (status >= 400 && status !== 405) {
        this.#streamFailed(this.#streamStatusFailure(status));
      }
    },
    onError: (method, error, url) => {
      if (method !== 'GET' || this.#closed || isAbort(error) || !this.#isStreamUrl(url)) return;
      this.#streamFailed(describeFailure(error, this.#ctx.url, this.#ctx.timeoutMs));
    },
  };

  /** A GET of the event stream, not one of the OAuth client's metadata lookups (same fetch). */
  #isStreamUrl(url: URL): boolean {
    return url.origin === this.#ctx.url.origin && url.pathname === this.#ctx.url.pathname;
  }

  /**
   * A GET failed. The SDK retries a lost stream (through #retryStream) but not the first GET
   * after initialize, so a failure that cannot heal ends the link here, whichever GET it was.
   */
  #streamFailed(failure: RemoteLinkError): void {
    this.#streamFailure = failure;
    if (!(this.#transport instanceof StreamableHTTPClientTransport)) return; // legacy SSE: start() or #transportError decide
    if (closesLink(failure)) {
      this.#finish(new RemoteLinkError(failure.code, `lost the event stream: ${failure.message}`, { status: failure.status, cause: failure }));
    } else if (!this.#streamSeen) {
      this.#ctx.logger.warn({ reason: failure.message }, 'no standalone event stream from the remote server; notifications outside requests will be missed');
    }
  }

  #streamStatusFailure(status: number): RemoteLinkError {
    const shown = redactUrl(this.#ctx.url.href);
    if (status === 404 && this.#transport instanceof StreamableHTTPClientTransport) {
      // An expired session, from a server known to serve GET streams. Some servers answer a
      // GET they do not support with 404 instead of 405 (stateless ones too, which have no
      // session at all): that must not end the link.
      if (this.#streamSeen && this.#hasSession()) {
        return new RemoteLinkError('session-expired', `session expired: ${shown} answered HTTP 404 for our session's event stream; a new link must initialize again`, { status });
      }
      return new RemoteLinkError('protocol', `${shown} answered HTTP 404 to the event stream GET (a server without one should answer 405)`, { status });
    }
    return describeStatus(status, this.#ctx.url);
  }

  /** The Streamable HTTP transport's reconnection hook: retry a lost stream, or close the link. */
  #retryStream(reconnect: () => void, delay: number, attempt: number): (() => void) | undefined {
    if (this.#closed) return undefined;
    const failure = this.#streamFailure;
    if (attempt > 0 && failure && closesLink(failure)) {
      this.#finish(new RemoteLinkError(failure.code, `lost the event stream: ${failure.message}`, { status: failure.status, cause: failure }));
      return undefined;
    }
    if (attempt >= STREAM_RETRIES) {
      const why = failure ? failure.message : 'it keeps ending';
      this.#finish(
        new RemoteLinkError('connection-lost', `lost the event stream from ${redactUrl(this.#ctx.url.href)} and could not reopen it after ${attempt} attempts: ${why}`, {
          cause: failure,
        }),
      );
      return undefined;
    }
    const timer = setTimeout(reconnect, delay);
    timer.unref();
    return () => clearTimeout(timer);
  }

  #wire(transport: Transport): void {
    transport.onmessage = (message) => this.#receive(message);
    transport.onerror = (error) => this.#transportError(transport, error);
    transport.onclose = () => {
      if (transport === this.#transport && !this.#closed) {
        this.#finish(new RemoteLinkError('connection-lost', `the connection to ${redactUrl(this.#ctx.url.href)} closed`));
      }
    };
  }

  #transportError(transport: Transport, error: Error): void {
    if (this.#closed || transport !== this.#transport) return;
    if (transport instanceof SSEClientTransport && this.#sseOpen && error instanceof SseError) {
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
    // POST failures are handled where send() rejects, stream losses in #retryStream; what is
    // left is a malformed message from the server.
    if (error.name === 'ZodError' || error instanceof SyntaxError) {
      this.#ctx.logger.warn({ reason: error.message.slice(0, 300) }, 'ignored a malformed message from the remote server');
    } else {
      this.#ctx.logger.debug({ reason: error.message }, 'remote transport reported an error');
    }
  }

  // --- closing ---------------------------------------------------------------------------

  #finish(reason: RemoteLinkError, requested = false): void {
    if (this.#closed) return;
    this.#closed = reason;
    const transport = this.#transport;
    if (!requested) this.#ctx.logger.warn({ reason: reason.message, code: reason.code }, 'remote link closed');
    if (!this.#delivered && !requested) this.#events.failedEarly(reason);
    this.#teardown = (async () => {
      if (!transport) return;
      detach(transport);
      // MCP 2025-03-26: a client that no longer needs its session SHOULD DELETE it.
      if (requested && transport instanceof StreamableHTTPClientTransport && transport.sessionId !== undefined) {
        await transport.terminateSession().catch(() => undefined);
      }
      await transport.close().catch(() => undefined);
    })();
    try {
      this.#handlers.onClose(reason);
    } catch (error) {
      this.#ctx.logger.error({ err: error }, 'onClose handler threw');
    }
  }
}

function detach(transport: Transport): void {
  transport.onmessage = undefined;
  transport.onerror = undefined;
  transport.onclose = undefined;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error.cause instanceof Error && error.cause.name === 'AbortError'));
}


import {
  ErrorCode,
  errorResponse,
  progressTokenOf,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import { failureMessage, UpstreamError } from './errors.js';
import { LinkQueue } from './link-queue.js';
import { MuxChannel, type ChannelHost, type ChannelSource } from './mux-channel.js';
import { InFlight } from './in-flight.js';
import { FORWARD, INTERNAL, NOTIFY, Pending, SUBSCRIBE, type TrafficKind } from './pending.js';
import { ServerRequestTable } from './server-requests.js';
import { ServerTraffic } from './server-traffic.js';
import type { RoutingView } from './sole-target.js';
import { SubscriptionTable } from './subscriptions.js';
import type { ChannelHandlers, Link } from './types.js';

export { MuxChannel, type ChannelSource } from './mux-channel.js';

// Many channels over one link. A channel uses its own request ids and progress tokens;
// upstream sees one counter (`in-flight.ts`). Messages from the link are owned by the
// multiplexer and rewritten in place (`server-traffic.ts`, which also says who gets server
// requests and log lines); messages from a channel belong to its caller and are copied
// when they must change. This file: links coming and going, and channels to the link.

export interface MultiplexerOptions {
  /** The upstream's name, for error messages. */
  readonly name: string;
  readonly logger: Logger;
  /** A channel request not answered within this gets a -32001 reply and is cancelled upstream. */
  readonly requestTimeoutMs?: number | undefined;
  /** How long client traffic waits for a link when none is up, before an error reply (default 10 s). */
  readonly waitForLinkMs?: number | undefined;
  /** Most messages held while waiting for a link (default 10 000). */
  readonly maxQueued?: number | undefined;
  /** Called when client traffic is queued for want of a link (per-session links start on demand). */
  readonly onNeedLink?: (() => void) | undefined;
}

const DEFAULT_WAIT_FOR_LINK_MS = 10_000;
const DEFAULT_MAX_QUEUED = 10_000;

export class Multiplexer implements ChannelHost {
  readonly #name: string;
  readonly #log: Logger;
  readonly #timeoutMs: number | undefined;
  readonly #onNeedLink: (() => void) | undefined;

  #link: Link | undefined;
  /** The link is up and initialized: channel traffic flows. */
  #released = false;
  /** While set (and not released), channel requests fail at once instead of waiting. */
  #failFast: Error | undefined;
  #closed: Error | undefined;

  readonly #subscriptions = new SubscriptionTable();
  readonly #pending = new InFlight(this.#subscriptions);
  readonly #serverRequests = new ServerRequestTable();
  readonly #channels = new Set<MuxChannel>();
  /** Messages received from links so far: orders server requests against channel calls. */
  #seq = 0;
  /** URIs subscribed upstream on the link that went away: subscribed again on the next one. */
  #resubscribe: string[] = [];
  /** Channel traffic waiting for a link. */
  readonly #queue: LinkQueue;
  /** The link-to-channels half. */
  readonly #fromServer: ServerTraffic;

  constructor(options: MultiplexerOptions) {
    this.#name = options.name;
    this.#log = options.logger;
    this.#timeoutMs = options.requestTimeoutMs !== undefined && options.requestTimeoutMs > 0 ? options.requestTimeoutMs : undefined;
    this.#onNeedLink = options.onNeedLink;
    this.#queue = new LinkQueue({
      name: options.name,
      waitMs: options.waitForLinkMs ?? DEFAULT_WAIT_FOR_LINK_MS,
      maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
      subscriptions: this.#subscriptions,
    });
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the view's getter reads a private field
    const mux = this;
    // What `soleTarget` reads: made once, not per message.
    const routing: RoutingView = {
      pending: this.#pending.byId,
      channels: this.#channels,
      serverRequests: this.#serverRequests,
      get seq() {
        return mux.#seq;
      },
    };
    this.#fromServer = new ServerTraffic({
      name: this.#name,
      log: this.#log,
      inFlight: this.#pending,
      serverRequests: this.#serverRequests,
      subscriptions: this.#subscriptions,
      channels: this.#channels,
      routing,
      replyUpstream: (message) => this.#replyUpstream(message),
    });
  }

  get channelCount(): number {
    return this.#channels.size;
  }

  /** Requests in flight upstream, all channels together (internal ones included). */
  get inFlight(): number {
    return this.#pending.size;
  }

  // ---------------------------------------------------------------- owner side

  openChannel(handlers: ChannelHandlers, source: ChannelSource): MuxChannel {
    if (this.#closed !== undefined) throw this.#closed;
    const channel = new MuxChannel(this, handlers, source, this.#log);
    this.#channels.add(channel);
    return channel;
  }

  /** A new link is up; channel traffic keeps waiting until `release` (after the handshake). */
  attachLink(link: Link): void {
    this.#link = link;
    this.#released = false;
  }

  /** The handshake is done: flush what waited, subscribe again to what was subscribed. */
  release(): void {
    if (this.#link === undefined || this.#closed !== undefined) return;
    this.#released = true;
    this.#failFast = undefined;
    const uris = this.#resubscribe;
    this.#resubscribe = [];
    for (const uri of uris) {
      if (this.#subscriptions.has(uri)) this.#internalFireAndForget('resources/subscribe', { uri });
    }
    for (const q of this.#queue.takeAll()) {
      if (!q.channel.closed) this.#dispatch(q.channel, q.message, q.kind, q.uri);
    }
  }

  /**
   * The link is gone: every request in flight gets an error reply now. Later channel traffic
   * waits for the next link (or fails at once under `setFailFast`). A call for a link that
   * is not the current one is ignored.
   */
  linkClosed(link: Link | undefined, reason: Error): void {
    if (link === undefined || link !== this.#link) return;
    if (this.#released) this.#resubscribe = this.#subscriptions.uris();
    this.#link = undefined;
    this.#released = false;
    const message = failureMessage(this.#name, reason);
    const pending = this.#pending.takeAll();
    this.#serverRequests.clear();
    for (const p of pending) this.#pending.fail(p, reason, ErrorCode.UpstreamUnavailable, message);
  }

  /** While no link is up: `reason` set, channel requests fail at once (and queued ones now). */
  setFailFast(reason: Error | undefined): void {
    this.#failFast = reason;
    if (reason !== undefined) this.failQueued(reason);
  }

  /** Error replies for every request waiting for a link. */
  failQueued(reason: Error): void {
    this.#queue.failAll(reason);
  }

  /** Ends everything: requests in flight or waiting get an error reply, channels their onClose. */
  close(reason: Error): void {
    if (this.#closed !== undefined) return;
    const link = this.#link;
    this.linkClosed(link, reason);
    this.#link = undefined;
    this.failQueued(reason);
    this.#closed = reason;
    const channels = [...this.#channels];
    this.#channels.clear();
    this.#subscriptions.clear();
    for (const channel of channels) channel.end(reason);
  }

  /** A request of the multiplexer's owner (initialize), sent at once on the attached link. */
  request(method: string, params: Record<string, unknown> | undefined, timeoutMs?: number): Promise<Record<string, unknown>> {
    const link = this.#link;
    if (link === undefined || this.#closed !== undefined) {
      return Promise.reject(this.#closed ?? new UpstreamError('unavailable', this.#name, 'is not connected'));
    }
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const p = new Pending(undefined, 0, method, undefined, INTERNAL, undefined, { resolve, reject });
      const uid = this.#pending.add(p);
      if (timeoutMs !== undefined && timeoutMs > 0) p.timer = setTimeout(this.#onTimeout, timeoutMs, uid, timeoutMs).unref();
      const out: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id: uid, method } : { jsonrpc: '2.0', id: uid, method, params };
      link.send(out).catch((err: unknown) => this.#sendFailed(uid, err));
    });
  }

  /** A notification of the owner (notifications/initialized), sent at once on the attached link. */
  notify(method: string, params?: Record<string, unknown>): void {
    const link = this.#link;
    if (link === undefined) return;
    const out: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    link.send(out).catch(this.#onSendError);
  }

  // ---------------------------------------------------------------- link -> channels

  /** Every message the link delivers. */
  handleMessage(message: JsonRpcMessage): void {
    if (this.#closed !== undefined) return;
    this.#seq++;
    this.#fromServer.route(message);
  }

  // ---------------------------------------------------------------- channels -> link

  /** @internal Everything a channel sends. */
  fromChannel(channel: MuxChannel, message: JsonRpcMessage): void {
    if (channel.closed) return;
    if ('method' in message) {
      const id = (message as Partial<JsonRpcRequest>).id;
      if (id !== undefined && id !== null) this.#clientRequest(channel, message as JsonRpcRequest);
      else this.#clientNotification(channel, message);
    } else if ('result' in message || 'error' in message) {
      this.#clientResponse(channel, message);
    }
  }

  #clientRequest(channel: MuxChannel, request: JsonRpcRequest): void {
    switch (request.method) {
      case 'initialize':
        // The Upstream did the handshake; a client that sends it anyway gets the same answer.
        this.#replyLater(channel, { jsonrpc: '2.0', id: request.id, result: channel.initializeResult });
        return;
      case 'resources/subscribe': {
        const uri = request.params?.uri;
        if (typeof uri === 'string') {
          // Answered here when someone already holds the subscription upstream.
          if (this.#subscriptions.join(uri, channel)) this.#replyLater(channel, { jsonrpc: '2.0', id: request.id, result: {} });
          else this.#dispatch(channel, request, SUBSCRIBE, uri);
          return;
        }
        break;
      }
      case 'resources/unsubscribe': {
        const uri = request.params?.uri;
        // Answered here when the channel was not subscribed, or others still are.
        if (typeof uri === 'string' && !this.#subscriptions.leave(uri, channel)) {
          this.#replyLater(channel, { jsonrpc: '2.0', id: request.id, result: {} });
          return;
        }
        break;
      }
    }
    this.#dispatch(channel, request, FORWARD, undefined);
  }

  /** Forwards now, waits for a link, or fails, as the link's state says. */
  #dispatch(channel: MuxChannel, message: JsonRpcMessage, kind: TrafficKind, uri: string | undefined): void {
    if (this.#released) {
      if (kind === NOTIFY) (this.#link as Link).send(message).catch(this.#onSendError);
      else this.#forward(channel, message as JsonRpcRequest, kind, uri);
      return;
    }
    const reason = this.#closed ?? this.#failFast;
    if (reason !== undefined) {
      if (kind === SUBSCRIBE) this.#subscriptions.drop(uri, channel);
      if (kind !== NOTIFY) this.#replyLater(channel, errorResponse((message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, failureMessage(this.#name, reason)));
      return;
    }
    if (!this.#queue.add(channel, message, kind, uri)) {
      if (kind === SUBSCRIBE) this.#subscriptions.drop(uri, channel);
      if (kind !== NOTIFY) {
        const text = `upstream "${this.#name}" is not connected and too many messages are waiting for it`;
        this.#replyLater(channel, errorResponse((message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, text));
      }
      return;
    }
    this.#onNeedLink?.();
  }

  #forward(channel: MuxChannel, request: JsonRpcRequest, kind: TrafficKind, uri: string | undefined): void {
    const token = progressTokenOf(request);
    const p = new Pending(channel, request.id, request.method, token, kind, uri, undefined);
    p.sentSeq = this.#seq;
    const uid = this.#pending.add(p);
    let params = request.params;
    if (token !== undefined) {
      // Our request id doubles as the progress token: unique on this link by construction.
      params = { ...params, _meta: { ...(params?._meta as Record<string, unknown>), progressToken: uid } };
    }
    if (this.#timeoutMs !== undefined) p.timer = setTimeout(this.#onTimeout, this.#timeoutMs, uid, this.#timeoutMs).unref();
    channel.inFlight++;
    const out: JsonRpcRequest =
      params === undefined ? { jsonrpc: '2.0', id: uid, method: request.method } : { jsonrpc: '2.0', id: uid, method: request.method, params };
    // A closure per request: a link may refuse one message without closing (a contract
    // breach, but a hung request is worse than a small allocation).
    (this.#link as Link).send(out).catch((err: unknown) => this.#sendFailed(uid, err));
  }

  #clientNotification(channel: MuxChannel, n: JsonRpcNotification): void {
    if (n.method === 'notifications/initialized') return;
    if (n.method === 'notifications/cancelled') {
      this.#clientCancelled(channel, n);
      return;
    }
    this.#dispatch(channel, n, NOTIFY, undefined);
  }

  #clientCancelled(channel: MuxChannel, n: JsonRpcNotification): void {
    const rid = n.params?.requestId;
    // MCP: the sender of a cancellation ignores any reply that still comes; so do we.
    const taken = this.#pending.takeClientRequest(channel, rid);
    if (taken === undefined) {
      this.#queue.cancel(channel, rid);
      return;
    }
    channel.inFlight--;
    if (taken.p.kind === SUBSCRIBE) this.#subscriptions.drop(taken.p.uri, channel);
    this.#link?.send({ jsonrpc: '2.0', method: n.method, params: { ...n.params, requestId: taken.uid } }).catch(this.#onSendError);
  }

  /** A channel's answer to a server-to-client request. */
  #clientResponse(channel: MuxChannel, response: JsonRpcResponse): void {
    const serverId = this.#serverRequests.take(response.id, channel);
    if (serverId === undefined) {
      this.#log.debug({ id: response.id }, 'client reply matches no server request; dropped');
      return;
    }
    const out: JsonRpcResponse =
      'error' in response ? { jsonrpc: '2.0', id: serverId, error: response.error } : { jsonrpc: '2.0', id: serverId, result: response.result };
    this.#replyUpstream(out);
  }

  /** @internal `Channel.close`: the client is gone; tidy up what it held upstream. */
  releaseChannel(channel: MuxChannel): void {
    if (channel.closed) return;
    this.#channels.delete(channel);
    const link = this.#released ? this.#link : undefined;
    for (const uid of this.#pending.takeChannel(channel)) {
      link?.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: uid, reason: 'client session closed' } }).catch(this.#onSendError);
    }
    channel.inFlight = 0;
    this.#queue.dropChannel(channel);
    for (const uri of this.#subscriptions.leaveAll(channel)) {
      if (link !== undefined) this.#internalFireAndForget('resources/unsubscribe', { uri });
    }
    for (const serverId of this.#serverRequests.release(channel)) {
      this.#replyUpstream(errorResponse(serverId, ErrorCode.InternalError, 'the client session closed'));
    }
    channel.end(new UpstreamError('closed', this.#name, 'channel closed'));
  }

  // ---------------------------------------------------------------- failures and helpers

  readonly #onTimeout = (uid: number, ms: number): void => {
    const p = this.#pending.take(uid);
    if (p === undefined) return;
    // MCP: initialize must not be cancelled.
    if (p.method !== 'initialize') {
      this.#link?.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: uid, reason: `no answer within ${ms} ms` } }).catch(this.#onSendError);
    }
    const error = new UpstreamError('timeout', this.#name, `did not answer ${p.method} within ${ms} ms`);
    this.#pending.fail(p, error, ErrorCode.RequestTimeout, error.message);
  };

  #sendFailed(uid: number, err: unknown): void {
    const p = this.#pending.take(uid);
    if (p === undefined) return;
    const reason = err instanceof Error ? err : new Error(String(err));
    this.#pending.fail(p, reason, ErrorCode.UpstreamUnavailable, failureMessage(this.#name, reason));
  }

  #internalFireAndForget(method: string, params: Record<string, unknown>): void {
    this.request(method, params, this.#timeoutMs).catch((err: unknown) => this.#log.warn({ err, method }, 'upstream refused an internal request'));
  }

  #replyUpstream(message: JsonRpcResponse): void {
    this.#link?.send(message).catch(this.#onSendError);
  }

  /** Replies made here, not by the server, arrive after `send` returns, like real ones. */
  #replyLater(channel: MuxChannel, message: JsonRpcResponse): void {
    queueMicrotask(() => channel.deliver(message));
  }

  readonly #onSendError = (err: unknown): void => {
    this.#log.debug({ err }, 'upstream link refused a message');
  };
}

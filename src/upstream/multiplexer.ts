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
import { FORWARD, INTERNAL, NOTIFY, Pending, SUBSCRIBE, type TrafficKind } from './pending.js';
import { ServerRequestTable } from './server-requests.js';
import { AMBIGUOUS_TARGET, soleTarget, type RoutingView } from './sole-target.js';
import { SubscriptionTable } from './subscriptions.js';
import type { ChannelHandlers, Link } from './types.js';

export { MuxChannel, type ChannelSource } from './mux-channel.js';

// Many channels over one link. What each side sees:
// - a channel uses its own request ids and progress tokens; upstream sees one integer
//   counter, used both as the request id and as the progress token of that request, so
//   one Map keyed by number answers "whose reply / whose progress is this";
// - server-to-client requests get a multiplexer id too, so that a channel's reply finds the
//   server's id, and ids reused by a restarted server cannot be confused;
// - messages from the link are owned by the multiplexer and rewritten in place (id, token);
//   messages from a channel belong to its caller and are copied when they must change.
// A notification meant for several channels is delivered as one object: handlers must not
// mutate what they receive.
//
// Server-to-client requests and log lines carry no marker of the call they belong to: they
// go only to an unambiguous target (`sole-target.ts`, decision 0012), else a request is
// refused to the server and a log line dropped.

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

  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #serverRequests = new ServerRequestTable();
  readonly #channels = new Set<MuxChannel>();
  /** Messages received from links so far: orders server requests against channel calls. */
  #seq = 0;
  readonly #subscriptions = new SubscriptionTable();
  /** URIs subscribed upstream on the link that went away: subscribed again on the next one. */
  #resubscribe: string[] = [];
  /** Channel traffic waiting for a link. */
  readonly #queue: LinkQueue;
  /** What `soleTarget` reads: made once, not per message. */
  readonly #routing: RoutingView;

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
    this.#routing = {
      pending: this.#pending,
      channels: this.#channels,
      serverRequests: this.#serverRequests,
      get seq() {
        return mux.#seq;
      },
    };
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
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#serverRequests.clear();
    for (const p of pending) {
      if (p.timer !== undefined) clearTimeout(p.timer);
      if (p.waiter !== undefined) {
        p.waiter.reject(reason);
      } else if (p.channel !== undefined) {
        p.channel.inFlight--;
        if (p.kind === SUBSCRIBE) this.#subscriptions.drop(p.uri, p.channel);
        p.channel.deliver(errorResponse(p.clientId, ErrorCode.UpstreamUnavailable, message));
      }
    }
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
      const uid = this.#nextId++;
      const p = new Pending(undefined, uid, method, undefined, INTERNAL, undefined, { resolve, reject });
      if (timeoutMs !== undefined && timeoutMs > 0) p.timer = setTimeout(this.#onTimeout, timeoutMs, uid, timeoutMs).unref();
      this.#pending.set(uid, p);
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
    if ('method' in message) {
      const id = (message as Partial<JsonRpcRequest>).id;
      if (id !== undefined && id !== null) this.#serverRequest(message as JsonRpcRequest);
      else this.#serverNotification(message);
    } else {
      this.#serverResponse(message);
    }
  }

  #serverResponse(message: JsonRpcResponse): void {
    const uid = message.id;
    const p = typeof uid === 'number' ? this.#pending.get(uid) : undefined;
    if (p === undefined) {
      // Answers to cancelled or timed-out requests land here too.
      this.#log.debug({ id: uid }, 'upstream reply matches no request in flight; dropped');
      return;
    }
    this.#pending.delete(uid as number);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.waiter !== undefined) {
      if ('error' in message) {
        const e = message.error;
        p.waiter.reject(new UpstreamError('request_failed', this.#name, `answered ${p.method} with error ${e.code}: ${e.message}`, { rpcError: e }));
      } else {
        p.waiter.resolve(message.result);
      }
      return;
    }
    const channel = p.channel as MuxChannel;
    channel.inFlight--;
    if (p.kind === SUBSCRIBE && 'error' in message) this.#subscriptions.forget(p.uri);
    message.id = p.clientId;
    channel.deliver(message);
  }

  #serverRequest(request: JsonRpcRequest): void {
    if (request.method === 'ping') {
      this.#replyUpstream({ jsonrpc: '2.0', id: request.id, result: {} });
      return;
    }
    const channel = soleTarget(this.#routing, true);
    if (channel === undefined) {
      this.#answerWithoutChannel(request);
      return;
    }
    if (channel === null) {
      this.#log.debug({ method: request.method }, 'server request refused: several sessions could have caused it');
      this.#replyUpstream(errorResponse(request.id, ErrorCode.InternalError, AMBIGUOUS_TARGET));
      return;
    }
    // URL-mode elicitation: its completion notification goes to the same channel.
    const eid = request.method === 'elicitation/create' ? request.params?.elicitationId : undefined;
    request.id = this.#serverRequests.add(channel, request.id, typeof eid === 'string' ? eid : undefined);
    channel.askedSeq = this.#seq;
    channel.deliver(request);
  }

  #answerWithoutChannel(request: JsonRpcRequest): void {
    // A shared server asks for roots right after initialize, before any session exists.
    if (request.method === 'roots/list') {
      this.#replyUpstream({ jsonrpc: '2.0', id: request.id, result: { roots: [] } });
      return;
    }
    this.#replyUpstream(errorResponse(request.id, ErrorCode.InternalError, `no client session is connected to answer ${request.method}`));
  }

  #serverNotification(n: JsonRpcNotification): void {
    const method = n.method;
    const params = n.params;
    if (method === 'notifications/progress') {
      const token = params?.progressToken;
      const p = typeof token === 'number' ? this.#pending.get(token) : undefined;
      if (p === undefined || p.clientToken === undefined || p.channel === undefined) return;
      p.timer?.refresh();
      (params as Record<string, unknown>).progressToken = p.clientToken;
      p.channel.deliver(n);
      return;
    }
    if (method === 'notifications/resources/updated') {
      const uri = params?.uri;
      const subscribers = typeof uri === 'string' ? this.#subscriptions.subscribers(uri) : undefined;
      if (subscribers !== undefined) for (const channel of subscribers) channel.deliver(n);
      return;
    }
    if (method === 'notifications/cancelled') {
      this.#serverCancelled(n);
      return;
    }
    if (method === 'notifications/elicitation/complete') {
      const eid = params?.elicitationId;
      const channel = typeof eid === 'string' ? this.#serverRequests.takeElicitation(eid) : undefined;
      if (channel !== undefined) {
        channel.deliver(n);
        return;
      }
    }
    if (method.endsWith('/list_changed')) {
      for (const channel of this.#channels) channel.deliver(n);
      return;
    }
    // notifications/message and anything unknown: only to an unambiguous target, as a log
    // line may quote what one session sent (see `soleTarget`).
    const channel = soleTarget(this.#routing, false);
    if (channel) channel.deliver(n);
    else if (channel === null) this.#log.debug({ method }, 'server notification dropped: several sessions could have caused it');
  }

  /** The server withdrew one of its own requests: tell the channel that holds it. */
  #serverCancelled(n: JsonRpcNotification): void {
    const params = n.params;
    const held = this.#serverRequests.withdraw(params?.requestId);
    if (held === undefined) return;
    (params as Record<string, unknown>).requestId = held.id;
    held.channel.deliver(n);
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
          if (this.#subscribe(channel, request, uri)) return;
          this.#dispatch(channel, request, SUBSCRIBE, uri);
          return;
        }
        break;
      }
      case 'resources/unsubscribe': {
        const uri = request.params?.uri;
        if (typeof uri === 'string' && this.#unsubscribe(channel, request, uri)) return;
        break;
      }
    }
    this.#dispatch(channel, request, FORWARD, undefined);
  }

  /** Returns true when answered here (someone already holds the subscription upstream). */
  #subscribe(channel: MuxChannel, request: JsonRpcRequest, uri: string): boolean {
    if (!this.#subscriptions.join(uri, channel)) return false;
    this.#replyLater(channel, { jsonrpc: '2.0', id: request.id, result: {} });
    return true;
  }

  /** Returns true when answered here (not subscribed, or others still are). */
  #unsubscribe(channel: MuxChannel, request: JsonRpcRequest, uri: string): boolean {
    if (this.#subscriptions.leave(uri, channel)) return false;
    this.#replyLater(channel, { jsonrpc: '2.0', id: request.id, result: {} });
    return true;
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
    const uid = this.#nextId++;
    const token = progressTokenOf(request);
    let params = request.params;
    if (token !== undefined) {
      // Our request id doubles as the progress token: unique on this link by construction.
      params = { ...params, _meta: { ...(params?._meta as Record<string, unknown>), progressToken: uid } };
    }
    const p = new Pending(channel, request.id, request.method, token, kind, uri, undefined);
    p.sentSeq = this.#seq;
    if (this.#timeoutMs !== undefined) p.timer = setTimeout(this.#onTimeout, this.#timeoutMs, uid, this.#timeoutMs).unref();
    this.#pending.set(uid, p);
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
    for (const [uid, p] of this.#pending) {
      if (p.channel !== channel || p.clientId !== rid) continue;
      // MCP: the sender of a cancellation ignores any reply that still comes; so do we.
      this.#pending.delete(uid);
      if (p.timer !== undefined) clearTimeout(p.timer);
      channel.inFlight--;
      if (p.kind === SUBSCRIBE) this.#subscriptions.drop(p.uri, channel);
      this.#link?.send({ jsonrpc: '2.0', method: n.method, params: { ...n.params, requestId: uid } }).catch(this.#onSendError);
      return;
    }
    this.#queue.cancel(channel, rid);
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
    for (const [uid, p] of this.#pending) {
      if (p.channel !== channel) continue;
      this.#pending.delete(uid);
      if (p.timer !== undefined) clearTimeout(p.timer);
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
    const p = this.#pending.get(uid);
    if (p === undefined) return;
    this.#pending.delete(uid);
    // MCP: initialize must not be cancelled.
    if (p.method !== 'initialize') {
      this.#link?.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: uid, reason: `no answer within ${ms} ms` } }).catch(this.#onSendError);
    }
    const error = new UpstreamError('timeout', this.#name, `did not answer ${p.method} within ${ms} ms`);
    if (p.waiter !== undefined) {
      p.waiter.reject(error);
    } else if (p.channel !== undefined) {
      p.channel.inFlight--;
      if (p.kind === SUBSCRIBE) this.#subscriptions.drop(p.uri, p.channel);
      p.channel.deliver(errorResponse(p.clientId, ErrorCode.RequestTimeout, error.message));
    }
  };

  #sendFailed(uid: number, err: unknown): void {
    const p = this.#pending.get(uid);
    if (p === undefined) return;
    this.#pending.delete(uid);
    if (p.timer !== undefined) clearTimeout(p.timer);
    const reason = err instanceof Error ? err : new Error(String(err));
    if (p.waiter !== undefined) {
      p.waiter.reject(reason);
    } else if (p.channel !== undefined) {
      p.channel.inFlight--;
      if (p.kind === SUBSCRIBE) this.#subscriptions.drop(p.uri, p.channel);
      p.channel.deliver(errorResponse(p.clientId, ErrorCode.UpstreamUnavailable, failureMessage(this.#name, reason)));
    }
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

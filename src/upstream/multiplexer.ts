import {
  ErrorCode,
  errorResponse,
  progressTokenOf,
  type JsonRpcId,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import { failureMessage, UpstreamError } from './errors.js';
import { MuxChannel, type ChannelHost, type ChannelSource } from './mux-channel.js';
import { ServerRequestTable } from './server-requests.js';
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
// Server-to-client requests and log lines carry no marker of the call they belong to (stdio
// has none), and the channels of a shared link may belong to different principals. Guessing
// (the oldest call in flight, say) handed one session's sampling prompt to another session,
// which could answer it and so write into the first one's tool result. So they are
// delivered only when the target is unambiguous (see `#soleTarget`); otherwise a request is
// refused to the server and a log line dropped. `sharing: per-session` routes exactly.

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

const FORWARD = 0;
const SUBSCRIBE = 1;
const INTERNAL = 2;
/** A channel notification (waits in the queue like requests do). */
const NOTIFY = 3;

const DEFAULT_WAIT_FOR_LINK_MS = 10_000;
const DEFAULT_MAX_QUEUED = 10_000;
interface InternalWaiter {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** Calls during which servers ask the client for something (sampling, elicitation, roots). */
const ASKING_METHODS = new Set(['tools/call', 'prompts/get', 'resources/read']);
const AMBIGUOUS_TARGET =
  'the gateway cannot tell which client this request is for (several sessions share this upstream); ' +
  'use sharing: per-session for servers that ask clients for sampling/elicitation/roots';

/** One request in flight upstream, keyed by its upstream id. Fixed shape for the hot path. */
class Pending {
  timer: NodeJS.Timeout | undefined = undefined;
  /** The multiplexer's count of link messages when this request went upstream. */
  sentSeq = 0;
  constructor(
    readonly channel: MuxChannel | undefined,
    readonly clientId: JsonRpcId,
    readonly method: string,
    /** The channel's own progress token, when it asked for progress. */
    readonly clientToken: string | number | undefined,
    readonly kind: number,
    readonly uri: string | undefined,
    readonly waiter: InternalWaiter | undefined,
  ) {}
}

interface Queued {
  readonly channel: MuxChannel;
  readonly message: JsonRpcMessage;
  readonly kind: number;
  readonly uri: string | undefined;
  readonly deadline: number;
}

export class Multiplexer implements ChannelHost {
  readonly #name: string;
  readonly #log: Logger;
  readonly #timeoutMs: number | undefined;
  readonly #waitMs: number;
  readonly #maxQueued: number;
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
  #queue: Queued[] = [];
  #queueTimer: NodeJS.Timeout | undefined;

  constructor(options: MultiplexerOptions) {
    this.#name = options.name;
    this.#log = options.logger;
    this.#timeoutMs = options.requestTimeoutMs !== undefined && options.requestTimeoutMs > 0 ? options.requestTimeoutMs : undefined;
    this.#waitMs = options.waitForLinkMs ?? DEFAULT_WAIT_FOR_LINK_MS;
    this.#maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.#onNeedLink = options.onNeedLink;
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
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    if (this.#queueTimer !== undefined) clearTimeout(this.#queueTimer);
    this.#queueTimer = undefined;
    for (const q of queue) {
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
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queue = [];
    if (this.#queueTimer !== undefined) clearTimeout(this.#queueTimer);
    this.#queueTimer = undefined;
    const message = failureMessage(this.#name, reason);
    for (const q of queue) {
      if (q.kind === SUBSCRIBE) this.#subscriptions.drop(q.uri, q.channel);
      if (q.kind !== NOTIFY) q.channel.deliver(errorResponse((q.message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, message));
    }
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
    const channel = this.#soleTarget(true);
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

  /**
   * The one channel a server request (`asking`) or a log line may go to: the only channel
   * with a call in flight that could have caused it (for requests a tools/call, prompts/get
   * or resources/read; for log lines any request); with none in flight anywhere, the only
   * channel open. `null` when several channels qualify (ambiguous: refuse or drop, never
   * guess, as a guess can cross sessions and principals); `undefined` when none is open.
   */
  #soleTarget(asking: boolean): MuxChannel | null | undefined {
    let busy: MuxChannel | undefined;
    for (const p of this.#pending.values()) {
      if (p.channel === undefined || (asking && !ASKING_METHODS.has(p.method))) continue;
      if (busy === undefined) busy = p.channel;
      else if (busy !== p.channel) return this.#soleActive(asking);
    }
    if (busy !== undefined) return busy;
    if (this.#channels.size > 1) return null;
    for (const channel of this.#channels) return channel;
    return undefined;
  }

  /**
   * Several channels are busy. A client slow to answer (a person reading an elicitation, a
   * 2026 client that never retries its input_required) must not block every other session,
   * so a channel whose calls are all waiting on server requests it holds ("parked") is left
   * out, unless the message may be the rest of a burst to it. Servers ask several things at
   * once in one go, so a burst comes without other messages between; it counts as the
   * parked channel's when it follows that channel's last request directly and either no
   * other channel is live or a live one has a call older than that request (then nobody
   * can tell: refused). What remains must be one channel, else null. Residual guesses: a
   * parked call asking again later, on its own (not in a burst), goes to the one live
   * channel; so does the rest of a burst when a live channel's call went upstream between
   * its first request and the rest.
   */
  #soleActive(asking: boolean): MuxChannel | null {
    const calls = new Map<MuxChannel, { count: number; firstSent: number }>();
    for (const p of this.#pending.values()) {
      if (p.channel === undefined || (asking && !ASKING_METHODS.has(p.method))) continue;
      const c = calls.get(p.channel);
      if (c === undefined) calls.set(p.channel, { count: 1, firstSent: p.sentSeq });
      else {
        c.count++;
        c.firstSent = Math.min(c.firstSent, p.sentSeq);
      }
    }
    const parked: MuxChannel[] = [];
    const live: MuxChannel[] = [];
    for (const [channel, c] of calls) (this.#serverRequests.heldBy(channel) >= c.count ? parked : live).push(channel);
    // The message being handled is #seq; the one before it, #seq - 1.
    const burstOf = (channel: MuxChannel): boolean =>
      channel.askedSeq === this.#seq - 1 &&
      (live.length === 0 || live.some((other) => (calls.get(other) as { firstSent: number }).firstSent < channel.askedSeq));
    const targets = live.concat(parked.filter(burstOf));
    return targets.length === 1 ? (targets[0] as MuxChannel) : null;
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
    // line may quote what one session sent (see `#soleTarget`).
    const channel = this.#soleTarget(false);
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
  #dispatch(channel: MuxChannel, message: JsonRpcMessage, kind: number, uri: string | undefined): void {
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
    if (this.#queue.length >= this.#maxQueued) {
      if (kind === SUBSCRIBE) this.#subscriptions.drop(uri, channel);
      if (kind !== NOTIFY) {
        const text = `upstream "${this.#name}" is not connected and too many messages are waiting for it`;
        this.#replyLater(channel, errorResponse((message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, text));
      }
      return;
    }
    this.#queue.push({ channel, message, kind, uri, deadline: Date.now() + this.#waitMs });
    if (this.#queueTimer === undefined) this.#queueTimer = setTimeout(this.#expireQueue, this.#waitMs).unref();
    this.#onNeedLink?.();
  }

  #forward(channel: MuxChannel, request: JsonRpcRequest, kind: number, uri: string | undefined): void {
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
    const i = this.#queue.findIndex((q) => q.kind !== NOTIFY && q.channel === channel && (q.message as JsonRpcRequest).id === rid);
    if (i !== -1) {
      const [q] = this.#queue.splice(i, 1);
      if (q?.kind === SUBSCRIBE) this.#subscriptions.drop(q.uri, channel);
    }
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
    if (this.#queue.length > 0) this.#queue = this.#queue.filter((q) => q.channel !== channel);
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

  readonly #expireQueue = (): void => {
    this.#queueTimer = undefined;
    const now = Date.now();
    let n = 0;
    while (n < this.#queue.length && (this.#queue[n] as Queued).deadline <= now) n++;
    const expired = this.#queue.splice(0, n);
    const text = `upstream "${this.#name}" is not connected; gave up waiting after ${this.#waitMs} ms`;
    for (const q of expired) {
      if (q.kind === SUBSCRIBE) this.#subscriptions.drop(q.uri, q.channel);
      if (q.kind !== NOTIFY) q.channel.deliver(errorResponse((q.message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, text));
    }
    const next = this.#queue[0];
    if (next !== undefined) this.#queueTimer = setTimeout(this.#expireQueue, Math.max(0, next.deadline - now)).unref();
  };

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

import { ErrorCode, errorResponse, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import type { InFlight } from './in-flight.js';
import type { MuxChannel } from './mux-channel.js';
import { SUBSCRIBE } from './pending.js';
import type { ServerRequestTable } from './server-requests.js';
import { AMBIGUOUS_TARGET, soleTarget, type RoutingView } from './sole-target.js';
import type { SubscriptionTable } from './subscriptions.js';

/** What the link-to-channels routing reads and writes of its multiplexer. */
export interface ServerTrafficHost {
  /** The upstream's name, for error messages. */
  readonly name: string;
  readonly log: Logger;
  readonly inFlight: InFlight;
  readonly serverRequests: ServerRequestTable;
  readonly subscriptions: SubscriptionTable;
  readonly channels: ReadonlySet<MuxChannel>;
  /** What `soleTarget` reads; its `seq` numbers the message being routed. */
  readonly routing: RoutingView;
  /** Sends an answer of ours to the server (ping, a refused server request). */
  replyUpstream(message: JsonRpcResponse): void;
}

/**
 * The multiplexer's link-to-channels half: each message the server sends goes to the
 * channel it belongs to, its ids and progress token rewritten in place back to the
 * channel's own (the multiplexer owns messages from the link).
 *
 * - Server-to-client requests get a multiplexer id too, so that a channel's reply finds the
 *   server's id, and ids reused by a restarted server cannot be confused.
 * - A notification meant for several channels is delivered as one object: handlers must not
 *   mutate what they receive.
 * - Server-to-client requests and log lines carry no marker of the call they belong to: they
 *   go only to an unambiguous target (`sole-target.ts`, decision 0012), else a request is
 *   refused to the server and a log line dropped.
 */
export class ServerTraffic {
  readonly #h: ServerTrafficHost;

  constructor(host: ServerTrafficHost) {
    this.#h = host;
  }

  route(message: JsonRpcMessage): void {
    if ('method' in message) {
      const id = (message as Partial<JsonRpcRequest>).id;
      if (id !== undefined && id !== null) this.#request(message as JsonRpcRequest);
      else this.#notification(message);
    } else {
      this.#response(message);
    }
  }

  #response(message: JsonRpcResponse): void {
    const uid = message.id;
    const p = typeof uid === 'number' ? this.#h.inFlight.take(uid) : undefined;
    if (p === undefined) {
      // Answers to cancelled or timed-out requests land here too.
      this.#h.log.debug({ id: uid }, 'upstream reply matches no request in flight; dropped');
      return;
    }
    if (p.waiter !== undefined) {
      if ('error' in message) {
        const e = message.error;
        p.waiter.reject(new UpstreamError('request_failed', this.#h.name, `answered ${p.method} with error ${e.code}: ${e.message}`, { rpcError: e }));
      } else {
        p.waiter.resolve(message.result);
      }
      return;
    }
    const channel = p.channel as MuxChannel;
    channel.inFlight--;
    if (p.kind === SUBSCRIBE && 'error' in message) this.#h.subscriptions.forget(p.uri);
    message.id = p.clientId;
    channel.deliver(message);
  }

  #request(request: JsonRpcRequest): void {
    if (request.method === 'ping') {
      this.#h.replyUpstream({ jsonrpc: '2.0', id: request.id, result: {} });
      return;
    }
    const channel = soleTarget(this.#h.routing, true);
    if (channel === undefined) {
      this.#answerWithoutChannel(request);
      return;
    }
    if (channel === null) {
      this.#h.log.debug({ method: request.method }, 'server request refused: several sessions could have caused it');
      this.#h.replyUpstream(errorResponse(request.id, ErrorCode.InternalError, AMBIGUOUS_TARGET));
      return;
    }
    // URL-mode elicitation: its completion notification goes to the same channel.
    const eid = request.method === 'elicitation/create' ? request.params?.elicitationId : undefined;
    request.id = this.#h.serverRequests.add(channel, request.id, typeof eid === 'string' ? eid : undefined);
    channel.askedSeq = this.#h.routing.seq;
    channel.deliver(request);
  }

  #answerWithoutChannel(request: JsonRpcRequest): void {
    // A shared server asks for roots right after initialize, before any session exists.
    if (request.method === 'roots/list') {
      this.#h.replyUpstream({ jsonrpc: '2.0', id: request.id, result: { roots: [] } });
      return;
    }
    this.#h.replyUpstream(errorResponse(request.id, ErrorCode.InternalError, `no client session is connected to answer ${request.method}`));
  }

  #notification(n: JsonRpcNotification): void {
    const method = n.method;
    const params = n.params;
    if (method === 'notifications/progress') {
      const p = this.#h.inFlight.get(params?.progressToken);
      if (p === undefined || p.clientToken === undefined || p.channel === undefined) return;
      p.timer?.refresh();
      (params as Record<string, unknown>).progressToken = p.clientToken;
      p.channel.deliver(n);
      return;
    }
    if (method === 'notifications/resources/updated') {
      const uri = params?.uri;
      const subscribers = typeof uri === 'string' ? this.#h.subscriptions.subscribers(uri) : undefined;
      if (subscribers !== undefined) for (const channel of subscribers) channel.deliver(n);
      return;
    }
    if (method === 'notifications/cancelled') {
      this.#cancelled(n);
      return;
    }
    if (method === 'notifications/elicitation/complete') {
      const eid = params?.elicitationId;
      const channel = typeof eid === 'string' ? this.#h.serverRequests.takeElicitation(eid) : undefined;
      if (channel !== undefined) {
        channel.deliver(n);
        return;
      }
    }
    if (method.endsWith('/list_changed')) {
      for (const channel of this.#h.channels) channel.deliver(n);
      return;
    }
    // notifications/message and anything unknown: only to an unambiguous target, as a log
    // line may quote what one session sent (see `soleTarget`).
    const channel = soleTarget(this.#h.routing, false);
    if (channel) channel.deliver(n);
    else if (channel === null) this.#h.log.debug({ method }, 'server notification dropped: several sessions could have caused it');
  }

  /** The server withdrew one of its own requests: tell the channel that holds it. */
  #cancelled(n: JsonRpcNotification): void {
    const params = n.params;
    const held = this.#h.serverRequests.withdraw(params?.requestId);
    if (held === undefined) return;
    (params as Record<string, unknown>).requestId = held.id;
    held.channel.deliver(n);
  }
}

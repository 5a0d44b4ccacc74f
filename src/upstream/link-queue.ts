import { ErrorCode, errorResponse, type JsonRpcMessage, type JsonRpcRequest } from '../jsonrpc/index.js';
import { failureMessage } from './errors.js';
import type { MuxChannel } from './mux-channel.js';
import { NOTIFY, SUBSCRIBE, type TrafficKind } from './pending.js';
import type { SubscriptionTable } from './subscriptions.js';

/** One message of a channel waiting for a link. */
export interface Queued {
  readonly channel: MuxChannel;
  readonly message: JsonRpcMessage;
  readonly kind: TrafficKind;
  readonly uri: string | undefined;
  readonly deadline: number;
}

export interface LinkQueueOptions {
  /** The upstream's name, for error messages. */
  readonly name: string;
  /** How long a message waits before its error reply. */
  readonly waitMs: number;
  /** Most messages held at once. */
  readonly maxQueued: number;
  /** A queued `resources/subscribe` (kind SUBSCRIBE) holds its URI here: dropped with it. */
  readonly subscriptions: SubscriptionTable;
}

const NONE: readonly Queued[] = [];

/**
 * Channel traffic waiting for a link, in arrival order. A request that leaves the queue
 * without being sent (expired, failed, full) gets an error reply; a notification is
 * dropped. A message cancelled or whose channel closed is dropped without a reply.
 */
export class LinkQueue {
  readonly #name: string;
  readonly #waitMs: number;
  readonly #max: number;
  readonly #subscriptions: SubscriptionTable;
  #items: Queued[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LinkQueueOptions) {
    this.#name = options.name;
    this.#waitMs = options.waitMs;
    this.#max = options.maxQueued;
    this.#subscriptions = options.subscriptions;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Holds the message for at most `waitMs`; false when the queue is full (the caller refuses it). */
  add(channel: MuxChannel, message: JsonRpcMessage, kind: TrafficKind, uri: string | undefined): boolean {
    if (this.#items.length >= this.#max) return false;
    this.#items.push({ channel, message, kind, uri, deadline: Date.now() + this.#waitMs });
    if (this.#timer === undefined) this.#timer = setTimeout(this.#expire, this.#waitMs).unref();
    return true;
  }

  /** Empties the queue (a link is up): the caller sends what it gets, in order. */
  takeAll(): readonly Queued[] {
    const items = this.#items;
    if (items.length === 0) return NONE;
    this.#items = [];
    this.#stopTimer();
    return items;
  }

  /** Empties the queue with an error reply for every request. */
  failAll(reason: Error): void {
    const items = this.takeAll();
    if (items.length === 0) return;
    this.#refuse(items, failureMessage(this.#name, reason));
  }

  /** The channel cancelled a request still waiting: it is dropped, unanswered (MCP). */
  cancel(channel: MuxChannel, requestId: unknown): void {
    const i = this.#items.findIndex((q) => q.kind !== NOTIFY && q.channel === channel && (q.message as JsonRpcRequest).id === requestId);
    if (i !== -1) {
      const [q] = this.#items.splice(i, 1);
      if (q?.kind === SUBSCRIBE) this.#subscriptions.drop(q.uri, channel);
    }
  }

  /** The channel closed: everything it queued is dropped (its subscriptions are the caller's to release). */
  dropChannel(channel: MuxChannel): void {
    if (this.#items.length > 0) this.#items = this.#items.filter((q) => q.channel !== channel);
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #refuse(items: readonly Queued[], text: string): void {
    for (const q of items) {
      if (q.kind === SUBSCRIBE) this.#subscriptions.drop(q.uri, q.channel);
      if (q.kind !== NOTIFY) q.channel.deliver(errorResponse((q.message as JsonRpcRequest).id, ErrorCode.UpstreamUnavailable, text));
    }
  }

  readonly #expire = (): void => {
    this.#timer = undefined;
    const now = Date.now();
    let n = 0;
    while (n < this.#items.length && (this.#items[n] as Queued).deadline <= now) n++;
    const expired = this.#items.splice(0, n);
    this.#refuse(expired, `upstream "${this.#name}" is not connected; gave up waiting after ${this.#waitMs} ms`);
    const next = this.#items[0];
    if (next !== undefined) this.#timer = setTimeout(this.#expire, Math.max(0, next.deadline - now)).unref();
  };
}

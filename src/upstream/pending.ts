import type { JsonRpcId } from '../jsonrpc/index.js';
import type { MuxChannel } from './mux-channel.js';

// What the multiplexer keeps of each request it sent upstream, and the kinds of channel
// traffic it handles differently.

/** A channel request, forwarded as it is (ids and progress token rewritten). */
export const FORWARD = 0;
/** A channel's `resources/subscribe` that goes upstream: the channel holds the URI in the subscription table meanwhile. */
export const SUBSCRIBE = 1;
/** The multiplexer's own request (initialize, resubscribe, unsubscribe): answered to a waiter, not a channel. */
export const INTERNAL = 2;
/** A channel notification (waits in the queue like requests do). */
export const NOTIFY = 3;

export type TrafficKind = typeof FORWARD | typeof SUBSCRIBE | typeof INTERNAL | typeof NOTIFY;

/** Who awaits the answer to an internal request. */
export interface InternalWaiter {
  resolve(result: Record<string, unknown>): void;
  reject(error: Error): void;
}

/** One request in flight upstream, keyed by its upstream id. Fixed shape for the hot path. */
export class Pending {
  timer: NodeJS.Timeout | undefined = undefined;
  /** The multiplexer's count of link messages when this request went upstream. */
  sentSeq = 0;
  constructor(
    readonly channel: MuxChannel | undefined,
    readonly clientId: JsonRpcId,
    readonly method: string,
    /** The channel's own progress token, when it asked for progress. */
    readonly clientToken: string | number | undefined,
    readonly kind: TrafficKind,
    readonly uri: string | undefined,
    readonly waiter: InternalWaiter | undefined,
  ) {}
}

import { errorResponse } from '../jsonrpc/index.js';
import type { MuxChannel } from './mux-channel.js';
import { SUBSCRIBE, type Pending } from './pending.js';
import type { SubscriptionTable } from './subscriptions.js';

/**
 * The multiplexer's requests in flight upstream, keyed by the upstream id it gave each one
 * (one counter per link, also used as the request's progress token). Taking an entry out
 * stops its timer; failing one answers whoever waits for it.
 */
export class InFlight {
  /** Read as it is by the routing rule (`sole-target.ts`). */
  readonly byId = new Map<number, Pending>();
  readonly #subscriptions: SubscriptionTable;
  #nextId = 1;

  constructor(subscriptions: SubscriptionTable) {
    this.#subscriptions = subscriptions;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Records `p` under a fresh upstream id and returns that id. */
  add(p: Pending): number {
    const uid = this.#nextId++;
    this.byId.set(uid, p);
    return uid;
  }

  get(uid: unknown): Pending | undefined {
    return typeof uid === 'number' ? this.byId.get(uid) : undefined;
  }

  /** Removes the request (its answer, timeout or failure came); undefined when it is not in flight. */
  take(uid: number): Pending | undefined {
    const p = this.byId.get(uid);
    if (p === undefined) return undefined;
    this.byId.delete(uid);
    if (p.timer !== undefined) clearTimeout(p.timer);
    return p;
  }

  /** Removes every request (the link went away). */
  takeAll(): Pending[] {
    const all = [...this.byId.values()];
    this.byId.clear();
    for (const p of all) if (p.timer !== undefined) clearTimeout(p.timer);
    return all;
  }

  /** Removes the channel's request with client id `clientId`, returning it with its upstream id. */
  takeClientRequest(channel: MuxChannel, clientId: unknown): { uid: number; p: Pending } | undefined {
    for (const [uid, p] of this.byId) {
      if (p.channel !== channel || p.clientId !== clientId) continue;
      this.take(uid);
      return { uid, p };
    }
    return undefined;
  }

  /** Removes every request of the channel; returns their upstream ids. */
  takeChannel(channel: MuxChannel): number[] {
    const uids: number[] = [];
    for (const [uid, p] of this.byId) if (p.channel === channel) uids.push(uid);
    for (const uid of uids) this.take(uid);
    return uids;
  }

  /**
   * Ends a request that was taken out with an error: an internal request's waiter rejects
   * with `error`; a channel's request gets a JSON-RPC error reply (code, text) and a pending
   * subscription of the channel is dropped.
   */
  fail(p: Pending, error: Error, code: number, text: string): void {
    if (p.waiter !== undefined) {
      p.waiter.reject(error);
      return;
    }
    const channel = p.channel;
    if (channel === undefined) return;
    channel.inFlight--;
    if (p.kind === SUBSCRIBE) this.#subscriptions.drop(p.uri, channel);
    channel.deliver(errorResponse(p.clientId, code, text));
  }
}

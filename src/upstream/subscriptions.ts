import type { MuxChannel } from './mux-channel.js';

/**
 * Which channels hold a `resources/subscribe` on each URI. Upstream sees one subscription
 * per URI however many sessions asked: the first subscriber's request goes upstream, later
 * ones are answered here, and the unsubscribe goes upstream only when the last one leaves.
 */
export class SubscriptionTable {
  readonly #byUri = new Map<string, Set<MuxChannel>>();

  /** Adds the channel; true when the URI was already held upstream by someone (answer locally). */
  join(uri: string, channel: MuxChannel): boolean {
    let subscribers = this.#byUri.get(uri);
    const held = subscribers !== undefined && subscribers.size > 0;
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#byUri.set(uri, subscribers);
    }
    subscribers.add(channel);
    return held;
  }

  /** Removes the channel; true when it was the last one, so the unsubscribe must go upstream. */
  leave(uri: string, channel: MuxChannel): boolean {
    const subscribers = this.#byUri.get(uri);
    if (subscribers === undefined || !subscribers.delete(channel) || subscribers.size > 0) return false;
    this.#byUri.delete(uri);
    return true;
  }

  /** A subscribe of this channel failed or was withdrawn before upstream answered. */
  drop(uri: string | undefined, channel: MuxChannel): void {
    if (uri === undefined) return;
    const subscribers = this.#byUri.get(uri);
    if (subscribers === undefined) return;
    subscribers.delete(channel);
    if (subscribers.size === 0) this.#byUri.delete(uri);
  }

  /** The server refused the first subscription: nobody holds it (later joiners were told `{}` too early). */
  forget(uri: string | undefined): void {
    if (uri !== undefined) this.#byUri.delete(uri);
  }

  /** Removes the channel everywhere; returns the URIs nobody holds any more. */
  leaveAll(channel: MuxChannel): string[] {
    const emptied: string[] = [];
    for (const [uri, subscribers] of this.#byUri) {
      if (!subscribers.delete(channel) || subscribers.size > 0) continue;
      this.#byUri.delete(uri);
      emptied.push(uri);
    }
    return emptied;
  }

  subscribers(uri: string): ReadonlySet<MuxChannel> | undefined {
    return this.#byUri.get(uri);
  }

  has(uri: string): boolean {
    return this.#byUri.has(uri);
  }

  uris(): string[] {
    return [...this.#byUri.keys()];
  }

  clear(): void {
    this.#byUri.clear();
  }
}

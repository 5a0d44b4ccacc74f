/**
 * A fixed-window counter per key (client IP): at most `limit` hits per `windowMs`. Small
 * and in memory: a brute-force guard for one instance, not a quota system.
 */
export class RateLimiter {
  readonly #hits = new Map<string, { count: number; resetAt: number }>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
  }

  /** Counts a hit; returns the seconds to wait when the key is over its limit, else 0. */
  hit(key: string): number {
    const now = this.#now();
    let entry = this.#hits.get(key);
    if (!entry || entry.resetAt <= now) {
      if (this.#hits.size > 10_000) this.#prune(now);
      entry = { count: 0, resetAt: now + this.#windowMs };
      this.#hits.set(key, entry);
    }
    entry.count++;
    return entry.count > this.#limit ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  #prune(now: number): void {
    for (const [k, e] of this.#hits) if (e.resetAt <= now) this.#hits.delete(k);
  }
}

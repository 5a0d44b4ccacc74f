import type { Logger } from '../observability/index.js';

/** What every implementation takes besides where its data lives. */
export interface StoreOptions {
  readonly logger?: Logger;
  /** Epoch milliseconds; tests move it to check expiry. */
  readonly now?: () => number;
  /** How often expired rows are swept in the background; 0 turns it off. Default 10 minutes. */
  readonly sweepIntervalMs?: number;
}

export const DEFAULT_SWEEP_INTERVAL_MS = 10 * 60_000;
/** Besides the timer, every this many writes sweep too, so a busy store stays small. */
export const SWEEP_EVERY_WRITES = 1000;

/** Starts the background sweep; the timer never keeps the process alive. */
export function startSweeper(sweep: () => Promise<number>, options: StoreOptions): () => void {
  const every = options.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  if (every <= 0) return () => undefined;
  const timer = setInterval(() => {
    sweep().then(
      (n) => {
        if (n > 0) options.logger?.debug({ deleted: n }, 'store: swept expired records');
      },
      (err: unknown) => options.logger?.warn({ err }, 'store: sweep failed'),
    );
  }, every);
  timer.unref();
  return () => clearInterval(timer);
}

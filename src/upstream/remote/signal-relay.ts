/**
 * The SDK's transports hand one long-lived AbortSignal (the transport's) to every fetch, and
 * undici's fetch adds an `abort` listener to it per request that only a FinalizationRegistry
 * removes, after garbage collection: under load thousands pile up on one EventTarget
 * (Node's MaxListenersExceededWarning at 1500) and feed the collector. Instead each request
 * gets its own signal, and the long-lived one holds a single listener that aborts the
 * requests still registered. A request leaves the set once it can no longer need aborting
 * (`release`: its answer was read, its event stream closed, or it failed); never on garbage
 * collection of its Response, which the SDK may drop while still reading the stream.
 */
const relays = new WeakMap<AbortSignal, Set<AbortController>>();

export interface RelayedSignal {
  readonly signal: AbortSignal;
  /** The request no longer needs aborting (its body was read, ended, or it failed). */
  release(): void;
}

export function relaySignal(shared: AbortSignal): RelayedSignal {
  if (shared.aborted) return { signal: shared, release: () => undefined };
  let set = relays.get(shared);
  if (set === undefined) {
    const controllers = new Set<AbortController>();
    set = controllers;
    relays.set(shared, controllers);
    shared.addEventListener(
      'abort',
      () => {
        for (const controller of controllers) controller.abort(shared.reason);
        controllers.clear();
      },
      { once: true },
    );
  }
  const controller = new AbortController();
  set.add(controller);
  const owner = set;
  return {
    signal: controller.signal,
    release: () => owner.delete(controller),
  };
}

// oidc-provider 9 keeps each request's context in one AsyncLocalStorage
// (lib/helpers/als.js) and enters it for every request it serves. On Node 20 an entered
// AsyncLocalStorage turns on async hooks for the whole process, so from the first token
// request on, every promise of the MCP hot path pays for them: about 6% of the gateway's
// CPU per call with OAuth on (bench `--only auth`, docs/decisions/0005-performance.md).
// The gate below switches the storage off whenever no provider request is in flight; the
// provider's next `run` switches it on again by itself. Its store is read only while one of
// its own requests runs (client metadata document fetches), never in between.
import type { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from '../../observability/index.js';

export interface ProviderContextGate {
  /** Whether oidc-provider's storage was found (false: a later version moved it; hooks stay on). */
  readonly gating: boolean;
  /** Wraps one provider request: the storage is switched off once none is left. */
  around<T>(work: () => Promise<T>): Promise<T>;
}

// Not in the package's typings (it has no exports map, so the deep import resolves).
const ALS_MODULE: string = 'oidc-provider/lib/helpers/als.js';

export async function providerContextGate(logger: Logger): Promise<ProviderContextGate> {
  try {
    const mod = (await import(ALS_MODULE)) as { default?: unknown };
    const candidate = mod.default as Partial<AsyncLocalStorage<unknown>> | undefined;
    if (typeof candidate?.disable === 'function' && typeof candidate.run === 'function') return gateFor(candidate as AsyncLocalStorage<unknown>);
  } catch (err) {
    logger.debug({ err: (err as Error).message }, 'oidc-provider request context not found; its async hooks stay on');
  }
  return gateFor(undefined);
}

/** The gate around one storage (exported for tests). */
export function gateFor(storage: Pick<AsyncLocalStorage<unknown>, 'disable'> | undefined): ProviderContextGate {
  let inFlight = 0;
  const leave = (): void => {
    if (--inFlight === 0) storage?.disable();
  };
  return {
    gating: storage !== undefined,
    around<T>(work: () => Promise<T>): Promise<T> {
      inFlight++;
      let pending: Promise<T>;
      try {
        pending = work();
      } catch (err) {
        leave();
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
      return pending.finally(leave);
    },
  };
}

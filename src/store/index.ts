// The store room's door: `openStore` picks the implementation the config names.
import type { ResolvedConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import type { Store } from './contract.js';
import type { StoreOptions } from './options.js';

export {
  StoreError,
  type KeyValueStore,
  type LocalUser,
  type OAuthAdapter,
  type OAuthFilter,
  type OAuthPayload,
  type OAuthRecordInfo,
  type Store,
  type StoreErrorCode,
  type StoreKind,
  type UserStore,
} from './contract.js';
export { HASHED_MODELS, clientSecretMatches, validateUserName } from './codec.js';
export { MemoryStore } from './memory/memory-store.js';
export type { StoreOptions } from './options.js';

/**
 * Opens the store `serve` uses for this config: SQLite in `dataDir/gatehouse.db`
 * (created 0700 / 0600), PostgreSQL at the configured URL, or memory. The native and
 * network drivers are loaded only when chosen.
 */
export async function openStore(
  config: Pick<ResolvedConfig, 'store' | 'dataDir'>,
  logger?: Logger,
  options: Omit<StoreOptions, 'logger'> = {},
): Promise<Store> {
  const opts: StoreOptions = { ...options, ...(logger ? { logger } : {}) };
  let store: Store;
  switch (config.store.kind) {
    case 'memory': {
      const { MemoryStore } = await import('./memory/memory-store.js');
      store = new MemoryStore(opts);
      break;
    }
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite/sqlite-store.js');
      store = openSqliteStore({ ...opts, dataDir: config.dataDir });
      break;
    }
    case 'postgres': {
      const { openPostgresStore } = await import('./postgres/postgres-store.js');
      store = await openPostgresStore({ ...opts, url: config.store.url });
      break;
    }
  }
  logger?.debug({ store: store.location }, 'store opened');
  return store;
}

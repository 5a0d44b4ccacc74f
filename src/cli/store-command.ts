// Commands that act on the store `serve` would use (`users`, `clients`, `tokens`): same
// config, same --config / --data-dir, store errors turned into exit codes.
import { loadConfig, resolveConfig, type ResolvedConfig } from '../config/index.js';
import { createLogger } from '../observability/index.js';
import { openStore, StoreError, type Store } from '../store/index.js';
import { CliExit, ExitCode } from './exit.js';
import { configOverrides } from './flags.js';

export interface StoreFlags {
  config?: string | undefined;
  dataDir?: string | undefined;
  json?: boolean | undefined;
}

/**
 * What these commands read of the config: where the store is, the gateway's public URL and
 * routes (a client's resource), the ids of its clients. A reference elsewhere (a client's
 * secret, a server's header or timeout) need not resolve in the admin's shell: they never use
 * it, and where the schema wants a duration or a hash a stand-in takes its place (config/stand-ins.ts).
 */
const NEEDED = /^(?:store|dataDir|publicUrl|listen|log|openapi)(?:$|[.[])|^auth\.(?:mode|clients\[\d+\]\.(?:clientId|resource))$/;

/** The config `serve` would load; with no config file, its defaults (SQLite in ./.gatehouse). Opens no store. */
export async function storeConfig(flags: StoreFlags): Promise<ResolvedConfig> {
  const overrides = configOverrides(flags);
  const loaded = await loadConfig({ location: flags.config, overrides, optionalReferences: (path) => !NEEDED.test(path) });
  return loaded ?? resolveConfig({ format: 'native', location: undefined, baseDir: process.cwd(), doc: {} }, process.env, overrides);
}

/** Opens the store of `serve`'s config, runs `fn`, closes it; store errors become exit codes. */
export async function withStore<T>(flags: StoreFlags, what: string, fn: (store: Store, config: ResolvedConfig) => Promise<T>): Promise<T> {
  const config = await storeConfig(flags);
  if (config.store.kind === 'memory') {
    throw new CliExit(ExitCode.Usage, `the config says store: memory, which keeps nothing: ${what} can only be managed in a sqlite or postgres store`);
  }
  const logger = createLogger({ level: 'warn', format: config.log.format });
  let store: Store;
  try {
    store = await openStore(config, logger, { sweepIntervalMs: 0 });
  } catch (err) {
    throw asCliExit(err);
  }
  try {
    return await fn(store, config);
  } catch (err) {
    throw asCliExit(err);
  } finally {
    await store.close();
  }
}

export function asCliExit(err: unknown): unknown {
  if (!(err instanceof StoreError)) return err;
  const usage = err.code === 'invalid-name' || err.code === 'invalid-input';
  return new CliExit(usage ? ExitCode.Usage : ExitCode.Failure, err.message);
}


import { resolve } from 'node:path';

/** Flags that several commands share and that override config keys. */
export interface ConfigFlags {
  listen?: string | undefined;
  publicUrl?: string | undefined;
  dataDir?: string | undefined;
}

/**
 * Config overrides from command-line flags. A path on the command line is relative to
 * where the person typed it, not to the config file.
 */
export function configOverrides(flags: ConfigFlags): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (flags.listen) overrides.listen = flags.listen;
  if (flags.publicUrl) overrides.publicUrl = flags.publicUrl;
  if (flags.dataDir) overrides.dataDir = resolve(process.cwd(), flags.dataDir);
  return overrides;
}

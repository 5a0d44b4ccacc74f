import { stringify as toYaml } from 'yaml';
import {
  ConfigError,
  configJsonSchema,
  environmentDocument,
  findDefaultConfig,
  readNativeDocument,
  resolveConfig,
} from '../config/index.js';
import { providerWarnings, resolveProviders } from '../auth/providers/index.js';
import { CliExit, ExitCode } from './exit.js';

/** `gatehouse config check [FILE]`: every problem at once, exit 2 when there are any. */
export async function configCheck(file: string | undefined): Promise<void> {
  const location = file ?? findDefaultConfig(process.cwd());
  const native = location ? await readNativeDocument(location) : environmentDocument(process.env, process.cwd());
  if (!native) throw new CliExit(ExitCode.Usage, 'no config file given and none found (gatehouse.yaml, gatehouse.json, gatehouse.yml)');
  const cfg = resolveConfig(native);
  const names = cfg.servers.map((s) => `${s.name} (${s.kind === 'stdio' ? 'stdio' : s.transport})`);
  console.log(
    `${native.location ?? 'environment'}: valid (${native.format} format); ` +
      `${cfg.servers.length} server${cfg.servers.length === 1 ? '' : 's'}${names.length ? `: ${names.join(', ')}` : ''}; auth ${cfg.auth.mode}`,
  );
  // Valid, but probably not meant: a provider without allow rules lets nobody in.
  for (const warning of providerWarnings(resolveProviders(cfg.auth.providers))) console.error(`warning: ${warning}`);
}

export function configSchema(): void {
  console.log(JSON.stringify(configJsonSchema(), null, 2));
}

/**
 * `gatehouse config migrate FILE`: the same setup in the native format. References
 * (`env:`, `file:`, `${VAR}`) are kept as written, so no secret is printed.
 */
export async function configMigrate(file: string, output: string): Promise<void> {
  if (output !== 'yaml' && output !== 'json') throw new CliExit(ExitCode.Usage, `--output must be yaml or json, not "${output}"`);
  const native = await readNativeDocument(file);
  // Validate the converted document so migrate never prints a config `serve` would refuse;
  // a reference that cannot be resolved here (an unset variable) is not the document's fault.
  try {
    resolveConfig(native);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const unresolved = new Set(err.issues.filter((i) => /environment variable|cannot read/.test(i.message)).map((i) => i.path));
    const structural = err.issues.filter((i) => !unresolved.has(i.path));
    if (structural.length) throw new ConfigError(structural, file);
  }
  const text = output === 'json' ? JSON.stringify(native.doc, null, 2) : toYaml(native.doc);
  process.stdout.write(`${output === 'yaml' ? `# converted from ${native.format} format by gatehouse config migrate\n` : ''}${text}${text.endsWith('\n') ? '' : '\n'}`);
}

import { stringify as toYaml } from 'yaml';
import {
  ConfigError,
  ENVIRONMENT_VARIABLES,
  configJsonSchema,
  configWarnings,
  environmentDocument,
  findNativeDocument,
  parseListen,
  readNativeDocument,
  resolveConfig,
  type NativeDocument,
  type WarnedConfig,
} from '../config/index.js';
import { providerWarnings, resolveProviders } from '../auth/providers/index.js';
import { CliExit, ExitCode } from './exit.js';

/** `gatehouse config check [FILE]`: every problem at once, exit 2 when there are any. */
export async function configCheck(file: string | undefined): Promise<void> {
  const native = await findNativeDocument({ location: file });
  if (!native) {
    throw new CliExit(ExitCode.Usage, 'no config file given and none found (gatehouse.yaml, gatehouse.json, gatehouse.yml; or DOWNSTREAM_MCP_URL / UPSTREAM_URL, or a .env naming one)');
  }
  const cfg = resolveConfig(native);
  const names = cfg.servers.map((s) => `${s.name} (${s.kind === 'stdio' ? 'stdio' : s.transport})`);
  console.log(
    `${native.location ?? 'environment'}: valid (${native.format} format); ` +
      `${cfg.servers.length} server${cfg.servers.length === 1 ? '' : 's'}${names.length ? `: ${names.join(', ')}` : ''}; auth ${cfg.auth.mode}`,
  );
  // Keys of another format that Gatehouse dropped, then what is valid but probably not meant
  // (a provider without allow rules lets nobody in).
  for (const warning of cfg.warnings) console.error(`warning: ${warning}`);
  for (const warning of configWarnings(cfg)) console.error(`warning: ${warning}`);
  for (const warning of providerWarnings(resolveProviders(cfg.auth.providers))) console.error(`warning: ${warning}`);
}

export function configSchema(): void {
  console.log(JSON.stringify(configJsonSchema(), null, 2));
}

/**
 * `gatehouse config migrate FILE` (a Claude Desktop, TBXark or `.env` file) or `config migrate
 * --env` (this process's environment): the same setup in the native format. References
 * (`env:`, `file:`, `${VAR}`) are kept as written, so no secret is printed.
 */
export async function configMigrate(file: string | undefined, opts: { output: string; env?: boolean | undefined }): Promise<void> {
  const { output } = opts;
  if (output !== 'yaml' && output !== 'json') throw new CliExit(ExitCode.Usage, `--output must be yaml or json, not "${output}"`);
  if (file !== undefined && opts.env) throw new CliExit(ExitCode.Usage, 'give FILE or --env, not both');
  if (file === undefined && !opts.env) {
    throw new CliExit(ExitCode.Usage, 'give a FILE to convert (Claude Desktop, TBXark mcp-proxy or .env), or --env for the variables set here');
  }
  const native = file !== undefined ? await readNativeDocument(file) : environmentDocument(process.env, process.cwd());
  if (!native) {
    throw new CliExit(ExitCode.Usage, `--env: neither DOWNSTREAM_MCP_URL nor UPSTREAM_URL is set (the variables read: ${ENVIRONMENT_VARIABLES.join(', ')})`);
  }
  const from = native.location ?? 'environment';
  // Validate the converted document so migrate never prints a config `serve` would refuse;
  // a reference that cannot be resolved here (an unset variable) is not the document's fault.
  // A remote URL the URL policy refuses (plain http to another machine) is written as the
  // source had it, with a warning saying what serve needs: the source format may have no key
  // for it (a Claude Desktop entry has no allowHttp), the converted document does.
  let settings: WarnedConfig | undefined;
  const urlPolicy: string[] = [];
  try {
    settings = resolveConfig(native);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const unresolved = new Set(err.issues.filter((i) => /environment variable|cannot read/.test(i.message)).map((i) => i.path));
    const policy = err.issues.filter((i) => !unresolved.has(i.path) && isUrlPolicyIssue(i.path, i.message));
    const structural = err.issues.filter((i) => !unresolved.has(i.path) && !policy.includes(i));
    if (structural.length) throw new ConfigError(structural, from);
    // The converted document has the allowHttp key the source format lacks (its advice: ALLOW_INSECURE_HTTP, or migrate first).
    const advice = (i: { path: string; message: string }) => i.message.replace(/use https, or .*$/s, `use https, or set ${i.path.replace(/url$/, 'allowHttp')}: true`);
    for (const i of policy) urlPolicy.push(`${i.path}: ${advice(i)} (gatehouse serve refuses it as written)`);
    settings = writtenSettings(native);
  }
  // On stderr, so that stdout stays the document; in the YAML as comments too, so they travel with it.
  // What is valid but risky too (a TBXark `addr: ":9090"` with no tokens is auth none on every interface).
  const warnings = [...(native.warnings ?? []), ...urlPolicy, ...(settings ? configWarnings(settings) : [])];
  // A .env file's secrets are not copied into the document: whoever runs serve on it sets them.
  const text0 = JSON.stringify(native.doc);
  const fromFile = Object.keys(native.env ?? {}).filter((name) => text0.includes(`env:${name}`));
  if (fromFile.length) {
    warnings.push(
      `${fromFile.join(', ')}: kept as env: references, never written out; set them where gatehouse serve runs with this file (or write file:PATH)`,
    );
  }
  for (const warning of warnings) console.error(`warning: ${warning}`);
  const text = output === 'json' ? JSON.stringify(native.doc, null, 2) : toYaml(native.doc);
  const header = [`# converted from ${native.format} format by gatehouse config migrate`, ...warnings.map((w) => `# warning: ${w}`)].join('\n');
  process.stdout.write(`${output === 'yaml' ? `${header}\n` : ''}${text}${text.endsWith('\n') ? '' : '\n'}`);
}

/** What the URL policy (remote-url.ts) says of a server's http(s) URL, not the schema. */
function isUrlPolicyIssue(path: string, message: string): boolean {
  return /^servers\..+\.url$/.test(path) && /^(?:refusing plain http to |credentials in the URL are not accepted )/.test(message);
}

/** listen, auth.mode and auth.allowedIps as the converted document writes them, when a reference elsewhere kept it from resolving. */
function writtenSettings(native: NativeDocument): WarnedConfig | undefined {
  const { listen = '127.0.0.1:8080', auth } = native.doc as { listen?: unknown; auth?: { mode?: unknown; allowedIps?: unknown } };
  const mode = auth?.mode ?? 'oauth';
  const parsed = typeof listen === 'string' || typeof listen === 'number' ? parseListen(listen) : undefined;
  const allowedIps = Array.isArray(auth?.allowedIps) ? auth.allowedIps.filter((ip): ip is string => typeof ip === 'string') : undefined;
  return parsed && typeof mode === 'string' ? { listen: parsed, auth: { mode, allowedIps } } : undefined;
}

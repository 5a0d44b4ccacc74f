// `gatehouse serve --insecure`: TBXark mcp-proxy's `-insecure` ("allow insecure HTTPS connections
// by skipping TLS certificate verification", seed 003). Here it relaxes two things, and the
// start says which: the fetch of a `--config https://...` URL, and the default of
// `tls.rejectUnauthorized` of every remote server that does not set it (one that sets it keeps
// its value). As with a server's own tls settings (http-client.ts), that applies to everything
// on the remote server's origin: an authorization server on another origin stays verified, but
// a token endpoint on the server's own origin shares its TLS settings, so a client secret sent
// there goes over the unverified connection. The start says so.
import { findNativeDocument, resolveConfig, type ResolvedConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';

/** The config serve runs with `--insecure`, and the remote servers whose certificates go unchecked. */
export interface InsecureConfig {
  readonly config: ResolvedConfig | undefined;
  /** Remote servers that got `tls.rejectUnauthorized: false` from the flag. */
  readonly relaxed: readonly string[];
  /** Remote servers whose config set `tls.rejectUnauthorized: false` itself. */
  readonly alreadyRelaxed: readonly string[];
}

/** loadConfig's steps (config/load.ts), with the config URL fetched unverified and the servers' default relaxed. */
export async function loadInsecureConfig(location: string | undefined, overrides: Record<string, unknown>): Promise<InsecureConfig> {
  const native = await findNativeDocument({ location, insecure: true });
  if (!native) return { config: undefined, relaxed: [], alreadyRelaxed: [] };
  const { doc, relaxed } = relaxRemoteServers(native.doc);
  const config = resolveConfig({ ...native, doc }, process.env, overrides);
  const alreadyRelaxed = config.servers.filter((s) => s.kind === 'remote' && !s.tls.rejectUnauthorized && !relaxed.includes(s.name)).map((s) => s.name);
  return { config, relaxed, alreadyRelaxed };
}

/** `servers.NAME.tls.rejectUnauthorized: false` for each remote server (one with a `url`) that does not set it. */
export function relaxRemoteServers(doc: Record<string, unknown>): { doc: Record<string, unknown>; relaxed: string[] } {
  const servers = doc.servers;
  if (!isObject(servers)) return { doc, relaxed: [] };
  const relaxed: string[] = [];
  const next: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(servers)) {
    next[name] = server;
    if (!isObject(server) || server.url === undefined) continue;
    const tls = server.tls;
    if (tls !== undefined && !(isObject(tls) && !('rejectUnauthorized' in tls))) continue; // set (or not an object: the schema says so)
    next[name] = { ...server, tls: { ...(tls ?? {}), rejectUnauthorized: false } };
    relaxed.push(name);
  }
  return { doc: { ...doc, servers: next }, relaxed };
}

/**
 * The warning at start: what goes unverified, so that nobody leaves the flag on unknowingly.
 * Whatever the log level: a log line when warnings are logged, else a plain line on stderr
 * (`--log-level error` or `log.level: silent` must not hide it).
 */
export function warnInsecure(logger: Logger, loaded: InsecureConfig, location: string | undefined, stderr: NodeJS.WritableStream = process.stderr): void {
  const what = [
    ...(location !== undefined && /^https:/i.test(location) ? [`the config URL ${location}`] : []),
    ...(loaded.relaxed.length > 0 ? [`remote server${loaded.relaxed.length > 1 ? 's' : ''} ${loaded.relaxed.join(', ')}`] : []),
  ];
  const oauth =
    loaded.relaxed.length > 0
      ? ' (an OAuth token endpoint on another origin stays verified; one on the server\'s own origin shares its TLS settings: client secrets go over the unverified connection)'
      : '';
  const message =
    `INSECURE: --insecure is on: TLS certificates are not verified for ${what.length > 0 ? what.join(' and ') : 'nothing here (no https config URL, no remote server without its own tls.rejectUnauthorized)'}; ` +
    `anyone on the network path can read and change that traffic${oauth}. Set tls.ca (or tls.rejectUnauthorized per server) and drop --insecure`;
  if (logger.isLevelEnabled('warn')) logger.warn({ relaxed: loaded.relaxed, alreadyRelaxed: loaded.alreadyRelaxed }, message);
  else stderr.write(`warning: ${message}\n`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

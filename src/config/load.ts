import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fromClaudeDesktop, fromEnvironment, fromTbxark, hasEnvironmentConfig, isClaudeDesktopDocument, isTbxarkDocument } from './compat/index.js';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { resolveReferences } from './references.js';
import type { ConfigFormat, ResolvedConfig, ResolvedServer, ResolvedStore } from './resolved.js';
import { GatehouseConfigSchema, type GatehouseConfigParsed } from './schema.js';

/** Names `serve` looks for in the working directory when no `--config` is given. */
export const DEFAULT_CONFIG_FILES = ['gatehouse.yaml', 'gatehouse.json', 'gatehouse.yml'] as const;

export interface LoadOptions {
  /** A path or an http(s) URL. */
  readonly location?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Command-line overrides, applied on top of the document (e.g. `--listen`). */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

/** A document as read, in its native form but with references still unresolved. */
export interface NativeDocument {
  readonly format: ConfigFormat;
  readonly location: string | undefined;
  readonly baseDir: string;
  readonly doc: Record<string, unknown>;
}

/** Finds `gatehouse.yaml|json|yml` in `cwd`, or undefined. */
export function findDefaultConfig(cwd: string): string | undefined {
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Reads a config file or URL and turns any accepted format into the native document. */
export async function readNativeDocument(location: string, cwd = process.cwd()): Promise<NativeDocument> {
  const isUrl = /^https?:\/\//i.test(location);
  let text: string;
  let baseDir = cwd;
  if (isUrl) {
    let res: Response;
    try {
      res = await fetch(location, { signal: AbortSignal.timeout(15_000), redirect: 'follow' });
    } catch (err) {
      throw new ConfigError([{ path: '', message: `cannot fetch ${location}: ${(err as Error).message}` }]);
    }
    if (!res.ok) throw new ConfigError([{ path: '', message: `cannot fetch ${location}: HTTP ${res.status}` }]);
    text = await res.text();
  } else {
    const file = resolve(cwd, location);
    baseDir = dirname(file);
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError([{ path: '', message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
    }
  }
  const raw = parseDocument(text, location);
  return { ...toNative(raw), location, baseDir };
}

function parseDocument(text: string, location: string): Record<string, unknown> {
  let raw: unknown;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both.
    raw = text.trim() === '' ? {} : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError([{ path: '', message: `not valid YAML or JSON: ${(err as Error).message.split('\n')[0]}` }], location);
  }
  if (raw === null || raw === undefined) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: '', message: 'the top level must be an object' }], location);
  }
  return raw as Record<string, unknown>;
}

/** Recognises the accepted formats and converts them to the native one. */
export function toNative(raw: Record<string, unknown>): { format: ConfigFormat; doc: Record<string, unknown> } {
  if (isTbxarkDocument(raw)) return { format: 'tbxark', doc: fromTbxark(raw) };
  if (isClaudeDesktopDocument(raw)) return { format: 'claude-desktop', doc: fromClaudeDesktop(raw) };
  return { format: 'native', doc: raw };
}

/** The environment-only setup of the older single-upstream proxies, if its variables are set. */
export function environmentDocument(env: Readonly<Record<string, string | undefined>>, cwd: string): NativeDocument | undefined {
  if (!hasEnvironmentConfig(env)) return undefined;
  return { format: 'environment', location: undefined, baseDir: cwd, doc: fromEnvironment(env) };
}

/**
 * Validates a native document: resolves references, applies the schema, reports every
 * problem at once (ConfigError), and returns a frozen ResolvedConfig. No side effects.
 */
export function resolveConfig(
  native: NativeDocument,
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Readonly<Record<string, unknown>> = {},
): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const merged = { ...native.doc, ...overrides };
  const envNamesRead = new Set<string>();
  const resolved = resolveReferences(merged, { env, baseDir: native.baseDir, envNamesRead }, issues);
  const parsed = GatehouseConfigSchema.safeParse(resolved);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push({ path: formatPath(issue.path), message: issue.message });
  }
  if (issues.length || !parsed.success) throw new ConfigError(dedupe(issues), native.location);
  return freeze(build(parsed.data, native, [...envNamesRead].sort()));
}

/** Everything `serve` does to find and load its configuration. */
export async function loadConfig(options: LoadOptions = {}): Promise<ResolvedConfig | undefined> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const location = options.location ?? env.MCP_GATEHOUSE_CONFIG ?? findDefaultConfig(cwd);
  const native = location ? await readNativeDocument(location, cwd) : environmentDocument(env, cwd);
  if (!native) return undefined;
  return resolveConfig(native, env, options.overrides);
}

function build(cfg: GatehouseConfigParsed, native: NativeDocument, secretEnvNames: readonly string[]): ResolvedConfig {
  const servers: ResolvedServer[] = Object.entries(cfg.servers).map(([name, s]): ResolvedServer => {
    const common = { name, tools: s.tools, tokens: s.tokens, description: s.description };
    if ('command' in s) {
      return {
        kind: 'stdio',
        ...common,
        command: s.command,
        args: s.args,
        env: s.env,
        cwd: s.cwd ? resolve(native.baseDir, s.cwd) : undefined,
        sharing: s.sharing,
      };
    }
    return {
      kind: 'remote',
      ...common,
      url: s.url,
      transport: s.transport,
      headers: s.headers,
      // A `ca` that is a path is relative to the config file, like every other path in it.
      tls: { rejectUnauthorized: s.tls.rejectUnauthorized, ca: s.tls.ca && !s.tls.ca.startsWith('-----BEGIN') ? resolve(native.baseDir, s.tls.ca) : s.tls.ca },
      timeoutMs: s.timeout,
      allowHttp: s.allowHttp,
      oauth: s.oauth
        ? {
            grant: s.oauth.grant,
            clientId: s.oauth.clientId,
            clientSecret: s.oauth.clientSecret,
            scope: s.oauth.scope,
            resource: s.oauth.resource,
            tokenUrl: s.oauth.tokenUrl,
            issuer: s.oauth.issuer,
            privateKey: s.oauth.privateKey,
          }
        : undefined,
    };
  });
  const store: ResolvedStore =
    cfg.store === 'sqlite' ? { kind: 'sqlite' } : cfg.store === 'memory' ? { kind: 'memory' } : { kind: 'postgres', url: cfg.store };
  return {
    source: { format: native.format, location: native.location },
    listen: cfg.listen,
    publicUrl: cfg.publicUrl?.replace(/\/+$/, ''),
    trustProxy: cfg.trustProxy,
    clientIpHeader: cfg.clientIpHeader,
    dataDir: resolve(native.baseDir, cfg.dataDir),
    store,
    log: cfg.log,
    maxBodySize: cfg.maxBodySize,
    maxSessionsPerClient: cfg.maxSessionsPerClient,
    shutdownTimeoutMs: cfg.shutdownTimeout,
    auth: cfg.auth,
    servers,
    openapi: cfg.openapi,
    cors: cfg.cors,
    secretEnvNames,
  };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function freeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freeze(v);
  }
  return value;
}

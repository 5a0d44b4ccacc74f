import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  fromClaudeDesktop,
  fromEnvironment,
  fromTbxark,
  hasEnvironmentConfig,
  isClaudeDesktopDocument,
  isTbxarkDocument,
  parseDotEnv,
} from './compat/index.js';
import { allowHttpAdvice } from './allow-http-advice.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { resolveReferences, type ReferenceContext } from './references.js';
import { parseWithStandIns } from './stand-ins.js';
import { checkWhatServeRefuses, type ServeFiles } from './serve-checks.js';
import type { ConfigFormat, ResolvedConfig, ResolvedServer, ResolvedStore } from './resolved.js';
import { DEFAULT_CORS_ORIGINS, type GatehouseConfigParsed } from './schema.js';
import { dedupe, describeIssue } from './issues.js';

/** Names `serve` looks for in the working directory when no `--config` is given. */
export const DEFAULT_CONFIG_FILES = ['gatehouse.yaml', 'gatehouse.json', 'gatehouse.yml'] as const;

export interface LoadOptions {
  /** A path or an http(s) URL. */
  readonly location?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Command-line overrides, applied on top of the document (e.g. `--listen`). */
  readonly overrides?: Readonly<Record<string, unknown>>;
  /** See ResolveOptions.optionalReferences. */
  readonly optionalReferences?: ResolveOptions['optionalReferences'];
  /** `serve --insecure`: an https config URL is fetched without verifying its certificate. */
  readonly insecure?: boolean | undefined;
}

/** A document as read, in its native form but with references still unresolved. */
export interface NativeDocument {
  readonly format: ConfigFormat;
  readonly location: string | undefined;
  readonly baseDir: string;
  readonly doc: Record<string, unknown>;
  /** What the conversion from another format dropped or changed, one line each, naming the key. */
  readonly warnings?: readonly string[];
  /** Variables from a `.env` file: references read them where the process environment has none. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Finds `gatehouse.yaml|json|yml` in `cwd`, or undefined. */
export function findDefaultConfig(cwd: string): string | undefined {
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Reads a config file or URL and turns any accepted format into the native document. A `.env`
 * file is read with `env` over it (dotenv's rule): `serve` and `config check` pass the process
 * environment; the default, none, converts the file alone (`config migrate FILE`).
 */
export async function readNativeDocument(
  location: string,
  cwd = process.cwd(),
  env: Readonly<Record<string, string | undefined>> = {},
  fetchOptions: { readonly insecure?: boolean | undefined } = {},
): Promise<NativeDocument> {
  const isUrl = /^https?:\/\//i.test(location);
  let text: string;
  let baseDir = cwd;
  if (isUrl) {
    let res: Response;
    try {
      res = await fetchConfig(location, fetchOptions.insecure === true);
    } catch (err) {
      // undici says "fetch failed"; the reason (ECONNREFUSED, a certificate error) is its cause.
      const cause = (err as Error).cause;
      const why = cause instanceof Error ? `${(err as Error).message}: ${cause.message}` : (err as Error).message;
      const hint = !fetchOptions.insecure && /certificate|self.signed/i.test(why) ? ' (serve --insecure skips the certificate check)' : '';
      throw new ConfigError([{ path: '', message: `cannot fetch ${location}: ${why}${hint}` }]);
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
  if (looksLikeDotEnv(text, location)) {
    const native = dotEnvDocument(text, location, baseDir, env);
    if (!native) throw new ConfigError([{ path: '', message: 'a .env setup needs DOWNSTREAM_MCP_URL (or UPSTREAM_URL): the remote MCP server to serve' }], location);
    return native;
  }
  const raw = parseDocument(text, location);
  try {
    return { ...toNative(raw), location, baseDir };
  } catch (error) {
    // A converter's refusal (a TBXark token list mcp-proxy would not read) names the file too.
    if (error instanceof ConfigError && !error.message.startsWith('invalid configuration in ')) throw new ConfigError(error.issues, location);
    throw error;
  }
}

/** The config URL; with `insecure` (serve --insecure, TBXark's -insecure) its TLS certificate is not verified. */
async function fetchConfig(location: string, insecure: boolean): Promise<Response> {
  const init = { signal: AbortSignal.timeout(15_000), redirect: 'follow' as const };
  if (!insecure) return fetch(location, init);
  const { Agent, fetch: undiciFetch } = await import('undici');
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const res = await undiciFetch(location, { ...init, dispatcher });
    return new Response(await res.text(), { status: res.status, statusText: res.statusText });
  } finally {
    await dispatcher.close();
  }
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
export function toNative(raw: Record<string, unknown>): { format: ConfigFormat; doc: Record<string, unknown>; warnings: string[] } {
  if (isTbxarkDocument(raw)) return { format: 'tbxark', ...fromTbxark(raw) };
  if (isClaudeDesktopDocument(raw)) return { format: 'claude-desktop', ...fromClaudeDesktop(raw) };
  return { format: 'native', doc: raw, warnings: [] };
}

/** The environment-only setup of the older single-upstream proxies, if its variables are set. */
export function environmentDocument(env: Readonly<Record<string, string | undefined>>, cwd: string): NativeDocument | undefined {
  if (!hasEnvironmentConfig(env)) return undefined;
  return { format: 'environment', location: undefined, baseDir: cwd, ...fromEnvironment(env) };
}

/**
 * What a `./.env` found beside us gives when it names no upstream itself (seed 000 on a platform
 * that sets the URL, the file the client): the downstream's credentials and the client Claude
 * and ChatGPT log in with. Where to listen and the public URL are left to the environment:
 * another program's `.env` (a web app's, a dev server's) sets PORT, HOST or PUBLIC_URL for itself.
 */
const WITHOUT_UPSTREAM = ['LTPA_TOKEN', 'REJECT_UNAUTHORIZED', 'OAUTH_CLIENT_ID', 'OAUTH_CLIENT_SECRET', 'OAUTH_REDIRECT_URIS', 'GATEHOUSE_TOKEN'];
const DEPLOYMENT = ['PORT', 'HOST', 'PUBLIC_URL', 'RENDER_EXTERNAL_URL'];

/**
 * The same setup from a `.env` file (KEY=VALUE lines), as the older proxies read theirs. The
 * process environment wins over the file, as with dotenv. Undefined when the file and the
 * environment together name no upstream (DOWNSTREAM_MCP_URL or UPSTREAM_URL). A file `found`
 * beside us that names none gives only WITHOUT_UPSTREAM.
 */
export function dotEnvDocument(
  text: string,
  location: string,
  baseDir: string,
  env: Readonly<Record<string, string | undefined>>,
  options: { found?: boolean } = {},
): NativeDocument | undefined {
  const parsed = parseDotEnv(text);
  // A `.env` found beside us may be another program's: unreadable lines matter only when it is
  // ours, and one that names no upstream does not choose where we listen.
  const foreign = options.found === true && !hasEnvironmentConfig(parsed.values);
  if (parsed.problems.length && foreign) return environmentDocument(env, baseDir);
  if (parsed.problems.length) throw new ConfigError(parsed.problems.map((p) => ({ path: `line ${p.line}`, message: p.message })), location);
  const set = definedOnly(env);
  const values = foreign ? Object.fromEntries(Object.entries(parsed.values).filter(([k]) => WITHOUT_UPSTREAM.includes(k))) : parsed.values;
  const merged = { ...values, ...set };
  if (!hasEnvironmentConfig(merged)) return undefined;
  const { doc, warnings } = fromEnvironment(merged);
  // Said, so that another program's `.env` cannot lend us its client or credentials unseen.
  const taken = foreign ? Object.keys(values).filter((k) => !(k in set)) : [];
  if (taken.length) {
    warnings.push(
      `${taken.join(', ')} taken from ${location}, which names no DOWNSTREAM_MCP_URL or UPSTREAM_URL (the environment does); ` +
        'if the file is another program\'s, remove them from it or set them in the environment',
    );
  }
  const unused = foreign ? DEPLOYMENT.filter((k) => k in parsed.values && !(k in set)) : [];
  if (unused.length) {
    warnings.push(
      `${unused.join(', ')} in ${location}: not used, since the file names no DOWNSTREAM_MCP_URL or UPSTREAM_URL and may be another program's; ` +
        'set them in the environment, or name the upstream in the file',
    );
  }
  return { format: 'environment', location, baseDir, doc, warnings, env: values };
}

/** A `.env` file by its name (`.env`, `.env.production`, `prod.env`) or by its lines (every one KEY=VALUE). */
export function looksLikeDotEnv(text: string, location: string): boolean {
  const name = location.split(/[\\/]/).pop() ?? '';
  if (/^\.env(\..+)?$|\.env$/.test(name)) return true;
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return lines.length > 0 && lines.every((l) => /^(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*=/.test(l));
}

/** The variables that are set; an empty one counts as unset, so it does not hide the file's value. */
function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
}

/** How resolveConfig treats references (LoadOptions passes them on). */
export interface ResolveOptions {
  /** Where `./.env` is, to say so when a missing variable is set there but not read (default: the working directory). */
  readonly cwd?: string | undefined;
  /**
   * Paths where a reference that cannot be resolved is no problem, for a command that never
   * reads the value (the store commands and a server's secrets). The value is left as written,
   * or a stand-in the schema takes where it refuses the text (stand-ins.ts).
   */
  readonly optionalReferences?: ((path: string) => boolean) | undefined;
}

/**
 * Validates a native document: resolves references, applies the schema and what `serve` would
 * refuse (serve-checks.ts), reports every problem at once (ConfigError), and returns a frozen
 * ResolvedConfig. No side effects.
 */
export function resolveConfig(
  native: NativeDocument,
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Readonly<Record<string, unknown>> = {},
  options: ResolveOptions = {},
): ResolvedConfig {
  const issues: ConfigIssue[] = [];
  const merged = { ...native.doc, ...overrides };
  const envNamesRead = new Set<string>();
  const unresolved = new Set<string>();
  const variables = native.env ? { ...native.env, ...definedOnly(env) } : env;
  const ctx = { env: variables, baseDir: native.baseDir, envNamesRead, optional: options.optionalReferences, unresolved };
  // An optional reference left as written where the schema wants a URL, a duration, a hash...: a stand-in, never used.
  const { doc: resolved, parsed } = parseWithStandIns(resolveReferences(merged, ctx, issues), unresolved);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) issues.push(...describeIssue(issue, resolved));
  }
  const howToAllowHttp = allowHttpAdvice(native);
  // A store command (optionalReferences) starts no gateway: what serve alone refuses (an
  // upstream's URL policy, its tls.ca file, a client's resource) is no reason to refuse it.
  const files = options.optionalReferences ? { ca: new Map<string, string>() } : checkWhatServeRefuses(resolved, native.baseDir, issues, howToAllowHttp);
  const under = (path: string) => [...unresolved].some((u) => path === u || path.startsWith(`${u}.`) || path.startsWith(`${u}[`));
  const kept = issues.filter((i) => !under(i.path));
  if (kept.length || !parsed.success) {
    // What the schema says of an optional reference left as written ("env:X" is no scrypt
    // hash, "${T}" no duration) hides the cause: say that the reference is not resolved instead.
    const reported = kept.length ? kept : unresolvedCauses(merged, ctx, issues, under);
    throw new ConfigError(notReadFromDotEnv(dedupe(reported), native, options.cwd ?? process.cwd()), native.location);
  }
  return freeze(build(parsed.data, native, [...envNamesRead].sort(), files));
}

/** `issues`, each under an unresolved optional reference replaced by that reference's own problem. */
function unresolvedCauses(merged: unknown, ctx: ReferenceContext, issues: ConfigIssue[], under: (path: string) => boolean): ConfigIssue[] {
  const causes: ConfigIssue[] = [];
  resolveReferences(merged, { ...ctx, envNamesRead: new Set(), optional: undefined, unresolved: undefined }, causes);
  return issues.flatMap((issue) => {
    if (!under(issue.path)) return [issue];
    const own = causes.filter((c) => issue.path === c.path || issue.path.startsWith(`${c.path}.`) || issue.path.startsWith(`${c.path}[`));
    return own.length ? own : [issue];
  });
}

/**
 * A variable a config file names but the environment lacks, while `./.env` sets it: that file
 * is read only without a config file (decision 0004), which the error says, with what to do.
 */
function notReadFromDotEnv(issues: ConfigIssue[], native: NativeDocument, cwd: string): ConfigIssue[] {
  const missing = issues.map((i) => /^environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set$/.exec(i.message)?.[1]);
  // Without a config file ./.env was read already (or set aside as another program's, with a warning).
  if (native.env !== undefined || native.format === 'environment' || !missing.some(Boolean)) return issues;
  let inDotEnv: Record<string, string>;
  try {
    inDotEnv = parseDotEnv(readFileSync(resolve(cwd, '.env'), 'utf8')).values;
  } catch {
    return issues;
  }
  return issues.map((issue, i) => {
    const name = missing[i];
    if (name === undefined || !(name in inDotEnv)) return issue;
    return { ...issue, message: `${issue.message} (./.env sets it, but ./.env is read only when there is no config file: export it, or use file:)` };
  });
}

/**
 * The document `serve` would use: `location`, else MCP_GATEHOUSE_CONFIG, else gatehouse.yaml|json|yml
 * here, else the environment-only setup (the variables, else `./.env`). Undefined: none (the demo).
 */
export async function findNativeDocument(options: LoadOptions = {}): Promise<NativeDocument | undefined> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const location = options.location ?? env.MCP_GATEHOUSE_CONFIG ?? findDefaultConfig(cwd);
  if (location) return readNativeDocument(location, cwd, env, { insecure: options.insecure });
  // `./.env` and the environment together, the environment winning (dotenv's rule).
  return localDotEnv(env, cwd) ?? environmentDocument(env, cwd);
}

/** Everything `serve` does to find and load its configuration. */
export async function loadConfig(options: LoadOptions = {}): Promise<ResolvedConfig | undefined> {
  const native = await findNativeDocument(options);
  if (!native) return undefined;
  return resolveConfig(native, options.env ?? process.env, options.overrides, { cwd: options.cwd, optionalReferences: options.optionalReferences });
}

/** `./.env`, when there is no config file and it or the environment names an upstream (the older proxies' setup). */
function localDotEnv(env: Readonly<Record<string, string | undefined>>, cwd: string): NativeDocument | undefined {
  const file = resolve(cwd, '.env');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return dotEnvDocument(text, file, cwd, env, { found: true });
}

function build(cfg: GatehouseConfigParsed, native: NativeDocument, secretEnvNames: readonly string[], files: ServeFiles): ResolvedConfig {
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
      // A `ca` that is a path (relative to the config file) was read when checked: PEM text here.
      tls: { rejectUnauthorized: s.tls.rejectUnauthorized, ca: files.ca.get(name) },
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
            audience: s.oauth.audience,
            authStyle: s.oauth.authStyle,
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
    // The default list lets claude.ai and chatgpt.com pages call: not with auth.mode none, where
    // nothing else would stand between their pages and the tools (decision 0015). A list the
    // operator writes is theirs.
    cors: { origins: cfg.cors.origins ?? (cfg.auth.mode === 'none' ? [] : [...DEFAULT_CORS_ORIGINS]) },
    secretEnvNames,
    warnings: [...(native.warnings ?? [])],
  };
}

function freeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freeze(v);
  }
  return value;
}

// The options of `gatehouse connect|login|logout`: flags, then a JSON config file
// (`--config FILE` or MCP_PROXY_CONFIG), then the environment (CONTRACT.md), so that a
// desktop client's `env` block alone can set everything. All problems are reported at once.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { z } from 'zod';

import { ConfigError, parseDuration, type ConfigIssue } from '../config/index.js';
import { resolveReference } from '../config/references.js';
import { redactUrl } from '../observability/index.js';

/** Flags of connect and login as commander hands them over (CONTRACT.md). */
export interface ConnectFlags {
  config?: string | undefined;
  transport?: string | undefined;
  header?: string[] | undefined;
  allowHttp?: boolean | undefined;
  clientId?: string | undefined;
  clientSecret?: string | undefined;
  clientMetadataUrl?: string | undefined;
  privateKey?: string | undefined;
  grant?: string | undefined;
  scope?: string | undefined;
  resource?: string | undefined;
  callbackPort?: string | undefined;
  browserCommand?: string | undefined;
  tokenStore?: string | undefined;
  expectedIssuer?: string | undefined;
  tokenUrl?: string | undefined;
  authorizationUrl?: string | undefined;
  traceFile?: string | undefined;
  timeout?: string | undefined;
  logLevel?: string | undefined;
}

export const TRANSPORTS = ['auto', 'streamable-http', 'sse'] as const;
export const GRANTS = ['authorization_code', 'client_credentials', 'device_code'] as const;
export const TOKEN_STORES = ['keychain', 'file', 'memory'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Everything connect/login need, after references, file and environment fallbacks and checks. */
export interface ResolvedConnect {
  readonly url: string;
  readonly transport: (typeof TRANSPORTS)[number];
  readonly headers: Record<string, string>;
  readonly allowHttp: boolean;
  readonly grant: (typeof GRANTS)[number];
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly clientMetadataUrl: string | undefined;
  /** The key's text (PEM or JWK), read from `--private-key FILE`. */
  readonly privateKey: string | undefined;
  readonly scope: string | undefined;
  readonly resource: string | undefined;
  readonly callbackPort: number | undefined;
  readonly browserCommand: string | undefined;
  readonly tokenStore: (typeof TOKEN_STORES)[number];
  readonly expectedIssuer: string | undefined;
  readonly tokenUrl: string | undefined;
  readonly authorizationUrl: string | undefined;
  readonly traceFile: string | undefined;
  readonly timeoutMs: number;
  readonly logLevel: string;
}

/**
 * The JSON config of `connect` (`--config FILE`): the flags' names in camelCase, plus
 * `headers` as an object. Any string may be an `env:NAME` / `file:PATH` reference (paths
 * relative to the file).
 */
export const ConnectFileSchema = z.strictObject({
  url: z.string().optional(),
  transport: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  allowHttp: z.boolean().optional(),
  clientId: z.string().optional(),
  clientSecret: z.string().optional(),
  clientMetadataUrl: z.string().optional(),
  privateKey: z.string().optional(),
  grant: z.string().optional(),
  scope: z.string().optional(),
  resource: z.string().optional(),
  callbackPort: z.union([z.number(), z.string()]).optional(),
  browserCommand: z.string().optional(),
  tokenStore: z.string().optional(),
  expectedIssuer: z.string().optional(),
  tokenUrl: z.string().optional(),
  authorizationUrl: z.string().optional(),
  traceFile: z.string().optional(),
  timeout: z.string().optional(),
  logLevel: z.string().optional(),
});
type ConnectFile = z.infer<typeof ConnectFileSchema>;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and checks the JSON config; problems go to `issues`. */
function readConnectFile(path: string, issues: ConfigIssue[]): ConnectFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    issues.push({ path: '--config', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    issues.push({ path: '--config', message: `${path} is not JSON: ${error instanceof Error ? error.message : String(error)}` });
    return {};
  }
  const parsed = ConnectFileSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const bad = new Set<string>();
  for (const issue of parsed.error.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const key of keys) {
      issues.push({ path: `${path}: ${key.map(String).join('.') || '(top level)'}`, message: issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message });
      if (key[0] !== undefined) bad.add(String(key[0]));
    }
  }
  // Keep the good keys, so that their own problems are reported in the same run.
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  const rest = ConnectFileSchema.safeParse(Object.fromEntries(Object.entries(value).filter(([k]) => !bad.has(k))));
  return rest.success ? rest.data : {};
}

/**
 * Resolves flags, then the JSON config file, then the environment (UPSTREAM_URL, OAUTH2_*,
 * LOG_LEVEL) where a flag is absent; every value may be an `env:NAME` / `file:PATH`
 * reference. All problems at once (ConfigError, exit 2).
 */
export function resolveConnectFlags(urlArg: string | undefined, flags: ConnectFlags, env: Env = process.env): ResolvedConnect {
  const issues: ConfigIssue[] = [];
  const cwdCtx = { env, baseDir: process.cwd() };
  const ref = (value: string | undefined, path: string): string | undefined => (value === undefined ? undefined : resolveReference(value, cwdCtx, path, issues));

  const configPath = ref(flags.config, '--config') ?? nonEmpty(env.MCP_PROXY_CONFIG);
  const file: ConnectFile = configPath === undefined ? {} : readConnectFile(resolve(configPath), issues);
  const fileCtx = { env, baseDir: configPath === undefined ? process.cwd() : dirname(resolve(configPath)) };
  const fromFile = (value: string | undefined, key: string): string | undefined =>
    value === undefined ? undefined : resolveReference(value, fileCtx, `${configPath}: ${key}`, issues);

  /** Flag, else the config file's key, else the environment variable. */
  const pick = (flag: string | undefined, fileValue: string | undefined, fileKey: string, envName: string | undefined, path: string): string | undefined => {
    if (flag !== undefined) return ref(flag, path);
    if (fileValue !== undefined) return fromFile(fileValue, fileKey);
    const fromEnv = envName === undefined ? undefined : nonEmpty(env[envName]);
    return fromEnv === undefined ? undefined : resolveReference(fromEnv, cwdCtx, envName!, issues);
  };

  const url = pick(urlArg, file.url, 'url', 'UPSTREAM_URL', 'URL');
  if (url === undefined) issues.push({ path: 'URL', message: 'required (the remote MCP server; or set UPSTREAM_URL, or url in --config)' });
  else checkHttpUrl(url, 'URL', issues);

  const transport = pick(flags.transport, file.transport, 'transport', undefined, '--transport') ?? 'auto';
  if (!(TRANSPORTS as readonly string[]).includes(transport)) issues.push({ path: '--transport', message: `must be one of ${TRANSPORTS.join(', ')}` });

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(file.headers ?? {})) {
    if (!isHeaderName(name)) issues.push({ path: `${configPath}: headers.${name}`, message: 'not a valid header name' });
    else headers[name] = resolveReference(value, fileCtx, `${configPath}: headers.${name}`, issues, true);
  }
  for (const [i, raw] of (flags.header ?? []).entries()) {
    const path = `--header[${i}]`;
    const colon = raw.indexOf(':');
    const name = colon > 0 ? raw.slice(0, colon).trim() : '';
    if (!isHeaderName(name)) {
      issues.push({ path, message: 'must be "Name: value"' });
      continue;
    }
    headers[name] = resolveReference(raw.slice(colon + 1).trim(), cwdCtx, path, issues, true);
  }

  const grant = pick(flags.grant, file.grant, 'grant', 'OAUTH2_GRANT', '--grant') ?? 'authorization_code';
  if (!(GRANTS as readonly string[]).includes(grant)) issues.push({ path: '--grant', message: `must be one of ${GRANTS.join(', ')}` });
  const clientId = pick(flags.clientId, file.clientId, 'clientId', 'OAUTH2_CLIENT_ID', '--client-id');
  const clientSecret = pick(flags.clientSecret, file.clientSecret, 'clientSecret', 'OAUTH2_CLIENT_SECRET', '--client-secret');
  const clientMetadataUrl = pick(flags.clientMetadataUrl, file.clientMetadataUrl, 'clientMetadataUrl', undefined, '--client-metadata-url');
  if (clientMetadataUrl !== undefined && !/^https:\/\/[^/]+\/.+/.test(clientMetadataUrl)) {
    issues.push({ path: '--client-metadata-url', message: 'must be an https URL with a path (it is the client_id)' });
  }
  const privateKeyFile = flags.privateKey !== undefined ? ref(flags.privateKey, '--private-key') : file.privateKey !== undefined ? resolve(fileCtx.baseDir, fromFile(file.privateKey, 'privateKey')!) : undefined;
  let privateKey: string | undefined;
  if (privateKeyFile !== undefined) {
    try {
      privateKey = readFileSync(privateKeyFile, 'utf8');
    } catch (error) {
      issues.push({ path: '--private-key', message: `cannot read ${privateKeyFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    }
  }
  if (grant === 'client_credentials') {
    if (clientId === undefined) issues.push({ path: '--client-id', message: 'required with --grant client_credentials' });
    if (clientSecret === undefined && privateKeyFile === undefined) {
      issues.push({ path: '--client-secret', message: 'required with --grant client_credentials (or --private-key)' });
    }
  }
  if (clientSecret !== undefined && clientId === undefined) issues.push({ path: '--client-secret', message: 'needs --client-id' });

  const scope = pick(flags.scope, file.scope, 'scope', 'OAUTH2_SCOPE', '--scope');
  const resource = pick(flags.resource, file.resource, 'resource', undefined, '--resource');
  if (resource !== undefined && !URL.canParse(resource)) issues.push({ path: '--resource', message: 'not a valid URL' });

  // Servers without discovery (RFC 8414 metadata missing): the person names the endpoints.
  const tokenUrl = pick(flags.tokenUrl, file.tokenUrl, 'tokenUrl', 'OAUTH2_TOKEN_URL', '--token-url');
  const authorizationUrl = pick(flags.authorizationUrl, file.authorizationUrl, 'authorizationUrl', 'OAUTH2_AUTHORIZATION_URL', '--authorization-url');
  if (tokenUrl !== undefined) checkHttpUrl(tokenUrl, '--token-url', issues);
  if (authorizationUrl !== undefined) checkHttpUrl(authorizationUrl, '--authorization-url', issues);
  if (authorizationUrl !== undefined && tokenUrl === undefined) issues.push({ path: '--authorization-url', message: 'needs --token-url as well' });
  if (tokenUrl !== undefined && grant === 'authorization_code') {
    if (authorizationUrl === undefined) issues.push({ path: '--authorization-url', message: 'required with --token-url for the browser login (or use --grant client_credentials)' });
    // Without metadata there is no registration endpoint to register at.
    if (clientId === undefined) issues.push({ path: '--client-id', message: 'required with --token-url (no discovery: no dynamic registration)' });
  }
  if (tokenUrl !== undefined && grant === 'device_code') {
    issues.push({ path: '--token-url', message: 'device_code needs the device authorization endpoint from the server metadata; drop --token-url' });
  }

  const portText = pick(flags.callbackPort, file.callbackPort === undefined ? undefined : String(file.callbackPort), 'callbackPort', undefined, '--callback-port');
  let callbackPort: number | undefined;
  if (portText !== undefined) {
    callbackPort = Number(portText);
    if (!Number.isInteger(callbackPort) || callbackPort < 1 || callbackPort > 65535) issues.push({ path: '--callback-port', message: 'must be a port number (1-65535)' });
  }

  const tokenStore = pick(flags.tokenStore, file.tokenStore, 'tokenStore', undefined, '--token-store') ?? 'keychain';
  if (!(TOKEN_STORES as readonly string[]).includes(tokenStore)) issues.push({ path: '--token-store', message: `must be one of ${TOKEN_STORES.join(', ')}` });

  let timeoutMs = 60_000;
  const timeoutText = pick(flags.timeout, file.timeout, 'timeout', undefined, '--timeout');
  if (timeoutText !== undefined) {
    const parsed = parseDuration(timeoutText);
    if (parsed === undefined || parsed <= 0) issues.push({ path: '--timeout', message: 'must be a duration such as 30s or 2m' });
    else timeoutMs = parsed;
  }

  const logLevel = pick(flags.logLevel, file.logLevel, 'logLevel', 'LOG_LEVEL', '--log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) issues.push({ path: '--log-level', message: `must be one of ${LOG_LEVELS.join(', ')}` });

  const traceText = pick(flags.traceFile, file.traceFile, 'traceFile', undefined, '--trace-file');
  const traceFile = traceText === undefined ? undefined : flags.traceFile !== undefined ? resolve(traceText) : resolve(fileCtx.baseDir, traceText);

  if (issues.length > 0) throw new ConfigError(issues);
  return {
    url: url!,
    transport: transport as ResolvedConnect['transport'],
    headers,
    allowHttp: flags.allowHttp === true || file.allowHttp === true,
    grant: grant as ResolvedConnect['grant'],
    clientId,
    clientSecret,
    clientMetadataUrl,
    privateKey,
    scope,
    resource,
    callbackPort,
    browserCommand: pick(flags.browserCommand, file.browserCommand, 'browserCommand', undefined, '--browser-command'),
    tokenStore: tokenStore as ResolvedConnect['tokenStore'],
    expectedIssuer: pick(flags.expectedIssuer, file.expectedIssuer, 'expectedIssuer', undefined, '--expected-issuer'),
    tokenUrl,
    authorizationUrl,
    traceFile,
    timeoutMs,
    logLevel,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function isHeaderName(name: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name);
}

function checkHttpUrl(value: string, path: string, issues: ConfigIssue[]): void {
  try {
    const parsed = new URL(value);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') issues.push({ path, message: `must be http(s), not ${parsed.protocol}` });
  } catch {
    issues.push({ path, message: `not a valid URL: ${redactUrl(value)}` });
  }
}

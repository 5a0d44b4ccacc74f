// The options of `gatehouse connect|login|logout`: flags, then a JSON config file
// (`--config FILE` or MCP_PROXY_CONFIG), then the environment (CONTRACT.md), so that a
// desktop client's `env` block can set most of it. All problems are reported at once.
// The two stdio bridges Gatehouse replaces are read as they document themselves:
// mcp-oauth2-proxy (seed 001): its nested file `{ upstream, oauth2, log, ... }`, where the
// environment wins over the file, OAUTH2_CALLBACK_PORT, ALLOW_INSECURE_HTTP, UPSTREAM_TIMEOUT_MS;
// the Go mcp-proxy (seed 002): `-u/--url`, `-i`, `-s` (cli.ts) and, with `-u/--url`, the
// GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET default credentials.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import { ConfigError, parseDuration, type ConfigIssue } from '../config/index.js';
import { resolveReference } from '../config/references.js';
import { redactUrl } from '../observability/index.js';
import { AUTH_STYLES, type AuthStyle } from '../auth/client/token-request.js';
import { readConnectFile, SEED_IGNORED, type ReadFile } from './connect-file.js';

/** Flags of connect and login as commander hands them over (CONTRACT.md). */
export interface ConnectFlags {
  /** `-u/--url URL` (the Go mcp-proxy's form), the same as the URL argument. */
  url?: string | undefined;
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
  audience?: string | undefined;
  authStyle?: string | undefined;
  traceFile?: string | undefined;
  timeout?: string | undefined;
  logLevel?: string | undefined;
}

export const TRANSPORTS = ['auto', 'streamable-http', 'sse'] as const;
export const GRANTS = ['authorization_code', 'client_credentials', 'device_code'] as const;
export const TOKEN_STORES = ['keychain', 'file', 'memory'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * The environment variables connect and login read, by flag (CONTRACT.md, plus those of the
 * seeds). `--help` and README list these; a flag not named here has no variable (use the
 * JSON file, whose path MCP_PROXY_CONFIG can give).
 */
export const CONNECT_ENV: Readonly<Record<string, readonly string[]>> = {
  '--url': ['UPSTREAM_URL'],
  '--config': ['MCP_PROXY_CONFIG'],
  '--grant': ['OAUTH2_GRANT'],
  '--client-id': ['OAUTH2_CLIENT_ID', 'GOOGLE_CLIENT_ID'],
  '--client-secret': ['OAUTH2_CLIENT_SECRET', 'GOOGLE_CLIENT_SECRET'],
  '--scope': ['OAUTH2_SCOPE'],
  '--token-url': ['OAUTH2_TOKEN_URL'],
  '--authorization-url': ['OAUTH2_AUTHORIZATION_URL'],
  '--audience': ['OAUTH2_AUDIENCE'],
  '--auth-style': ['OAUTH2_AUTH_STYLE'],
  '--callback-port': ['OAUTH2_CALLBACK_PORT'],
  '--browser-command': ['BROWSER'],
  '--allow-http': ['ALLOW_INSECURE_HTTP'],
  '--timeout': ['UPSTREAM_TIMEOUT_MS'],
  '--log-level': ['LOG_LEVEL'],
};

/** mcp-oauth2-proxy's default loopback callback port: its users registered http://127.0.0.1:53682/callback. */
export const SEED_CALLBACK_PORT = 53682;

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
  /**
   * The port to try when `callbackPort` is not set and no registration is stored: 53682
   * when a pre-registered client id came the mcp-oauth2-proxy way (OAUTH2_CLIENT_ID, or its
   * nested file), whose redirect URI was registered with that port.
   */
  readonly defaultCallbackPort: number | undefined;
  readonly browserCommand: string | undefined;
  readonly tokenStore: (typeof TOKEN_STORES)[number];
  readonly expectedIssuer: string | undefined;
  readonly tokenUrl: string | undefined;
  readonly authorizationUrl: string | undefined;
  /** `--audience`: sent on the token request (client_credentials), the authorization request and the code exchange. */
  readonly audience: string | undefined;
  /** `--auth-style`: how the client secret goes to the token endpoint (auth/client/token-request.ts). */
  readonly authStyle: AuthStyle | undefined;
  readonly traceFile: string | undefined;
  readonly timeoutMs: number;
  readonly logLevel: string;
  /** Things worth a warning in the log: settings of the seeds that are read but have no effect here. */
  readonly warnings: readonly string[];
  /** Things worth an info line: where a setting came from when that may surprise. */
  readonly notes: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** mcp-oauth2-proxy's booleans (ALLOW_INSECURE_HTTP=true); anything else is named as a problem. */
function parseBool(value: string, path: string, issues: ConfigIssue[]): boolean | undefined {
  const text = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(text)) return true;
  if (['0', 'false', 'no', 'off'].includes(text)) return false;
  issues.push({ path, message: 'must be true or false' });
  return undefined;
}

/**
 * Resolves flags, then the JSON config file, then the environment (UPSTREAM_URL, OAUTH2_*,
 * LOG_LEVEL, ...: CONNECT_ENV) where a flag is absent; a file in mcp-oauth2-proxy's nested
 * shape yields to the environment instead, as it does there. Every value may be an
 * `env:NAME` / `file:PATH` reference. All problems at once (ConfigError, exit 2).
 */
export function resolveConnectFlags(urlArg: string | undefined, flags: ConnectFlags, env: Env = process.env): ResolvedConnect {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  const cwdCtx = { env, baseDir: process.cwd() };
  const ref = (value: string | undefined, path: string): string | undefined => (value === undefined ? undefined : resolveReference(value, cwdCtx, path, issues));

  const configPath = ref(flags.config, '--config') ?? nonEmpty(env.MCP_PROXY_CONFIG);
  const read: ReadFile = configPath === undefined ? { values: {}, seedShape: false } : readConnectFile(resolve(configPath), issues, warnings);
  const file = read.values;
  const fileCtx = { env, baseDir: configPath === undefined ? process.cwd() : dirname(resolve(configPath)) };
  const fromFile = (value: string | undefined, key: string): string | undefined =>
    value === undefined ? undefined : resolveReference(value, fileCtx, `${configPath}: ${key}`, issues);

  /** Where each setting came from, by its flag. */
  const sources: Record<string, 'flag' | 'file' | 'env'> = {};
  /** Flag, else the config file's key, else the environment variable (mcp-oauth2-proxy's file: the environment first). */
  const pick = (flag: string | undefined, fileValue: string | undefined, fileKey: string, envName: string | undefined, path: string): string | undefined => {
    if (flag !== undefined) {
      sources[path] = 'flag';
      return ref(flag, path);
    }
    const fromEnv = envName === undefined ? undefined : nonEmpty(env[envName]);
    if (fileValue !== undefined && !(read.seedShape && fromEnv !== undefined)) {
      sources[path] = 'file';
      return fromFile(fileValue, fileKey);
    }
    if (fromEnv === undefined) return undefined;
    sources[path] = 'env';
    return resolveReference(fromEnv, cwdCtx, envName!, issues);
  };

  // The Go mcp-proxy's -u/--url is the URL argument by another name.
  if (flags.url !== undefined && urlArg !== undefined && flags.url !== urlArg) {
    issues.push({ path: '--url', message: 'the URL is given twice (as the argument and with -u/--url): give it once' });
  }
  const url = pick(flags.url ?? urlArg, file.url, 'url', 'UPSTREAM_URL', 'URL');
  if (url === undefined) issues.push({ path: 'URL', message: 'required (the remote MCP server; or -u URL, or set UPSTREAM_URL, or url in --config)' });
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

  let allowHttp = flags.allowHttp === true;
  if (!allowHttp) {
    const text = nonEmpty(env.ALLOW_INSECURE_HTTP);
    const fromEnv = text === undefined ? undefined : parseBool(text, 'ALLOW_INSECURE_HTTP', issues);
    allowHttp = (read.seedShape ? (fromEnv ?? file.allowHttp) : (file.allowHttp ?? fromEnv)) ?? false;
  }

  const grant = pick(flags.grant, file.grant, 'grant', 'OAUTH2_GRANT', '--grant') ?? 'authorization_code';
  if (!(GRANTS as readonly string[]).includes(grant)) issues.push({ path: '--grant', message: `must be one of ${GRANTS.join(', ')}` });
  let clientId = pick(flags.clientId, file.clientId, 'clientId', 'OAUTH2_CLIENT_ID', '--client-id');
  let clientSecret = pick(flags.clientSecret, file.clientSecret, 'clientSecret', 'OAUTH2_CLIENT_SECRET', '--client-secret');
  // The Go mcp-proxy's defaults (`--client-id env:GOOGLE_CLIENT_ID`), read when it is invoked
  // its way (-u/--url): a GOOGLE_CLIENT_ID left in a shell must not become the client of
  // every other server.
  if (flags.url !== undefined) {
    const googleId = nonEmpty(env.GOOGLE_CLIENT_ID);
    const googleSecret = nonEmpty(env.GOOGLE_CLIENT_SECRET);
    if (clientId === undefined && googleId !== undefined) {
      clientId = resolveReference(googleId, cwdCtx, 'GOOGLE_CLIENT_ID', issues);
      notes.push('the client id comes from GOOGLE_CLIENT_ID (the default of mcp-proxy -u)');
    }
    if (clientSecret === undefined && googleSecret !== undefined) {
      clientSecret = resolveReference(googleSecret, cwdCtx, 'GOOGLE_CLIENT_SECRET', issues);
      notes.push('the client secret comes from GOOGLE_CLIENT_SECRET (the default of mcp-proxy -u)');
    }
  }
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

  // mcp-oauth2-proxy's oauth2.audience and oauth2.authStyle (seed 001).
  const audience = pick(flags.audience, file.audience, 'audience', 'OAUTH2_AUDIENCE', '--audience');
  const authStyle = pick(flags.authStyle, file.authStyle, 'authStyle', 'OAUTH2_AUTH_STYLE', '--auth-style');
  if (authStyle !== undefined && !(AUTH_STYLES as readonly string[]).includes(authStyle)) {
    issues.push({ path: '--auth-style', message: 'must be header (HTTP Basic, client_secret_basic) or body (client_secret_post)' });
  }
  if (authStyle !== undefined && privateKeyFile !== undefined) issues.push({ path: '--auth-style', message: 'is for a client secret; --private-key signs a JWT instead' });
  // --auth-style applies to the device flow's requests too (device-flow.ts); --audience does not.
  if (grant === 'device_code' && audience !== undefined) issues.push({ path: '--audience', message: 'not sent by the device_code grant (use authorization_code or client_credentials)' });

  const portText = pick(flags.callbackPort, file.callbackPort === undefined ? undefined : String(file.callbackPort), 'callbackPort', 'OAUTH2_CALLBACK_PORT', '--callback-port');
  let callbackPort: number | undefined;
  if (portText !== undefined) {
    const port = Number(portText);
    // 0: any free port (as in mcp-oauth2-proxy).
    if (!Number.isInteger(port) || port < 0 || port > 65535) issues.push({ path: '--callback-port', message: 'must be a port number (1-65535, or 0 for any free port)' });
    else if (port !== 0) callbackPort = port;
  }
  // A client registered for mcp-oauth2-proxy has http://127.0.0.1:53682/callback as its redirect URI.
  let defaultCallbackPort: number | undefined;
  const seedClient = sources['--client-id'] === 'env' || (sources['--client-id'] === 'file' && read.seedShape);
  if (portText === undefined && grant === 'authorization_code' && clientId !== undefined && seedClient) {
    defaultCallbackPort = SEED_CALLBACK_PORT;
    notes.push(`the login callback listens on port ${SEED_CALLBACK_PORT} (mcp-oauth2-proxy's default, for a client id set its way); --callback-port or OAUTH2_CALLBACK_PORT to change`);
  }

  const tokenStore = pick(flags.tokenStore, file.tokenStore, 'tokenStore', undefined, '--token-store') ?? 'keychain';
  if (!(TOKEN_STORES as readonly string[]).includes(tokenStore)) issues.push({ path: '--token-store', message: `must be one of ${TOKEN_STORES.join(', ')}` });

  let timeoutMs = 60_000;
  const timeoutText = pick(flags.timeout, file.timeout, 'timeout', 'UPSTREAM_TIMEOUT_MS', '--timeout');
  if (timeoutText !== undefined) {
    const parsed = parseDuration(timeoutText);
    if (parsed === undefined || parsed <= 0) issues.push({ path: '--timeout', message: 'must be a duration such as 30s or 2m (a bare number is milliseconds)' });
    else timeoutMs = parsed;
  }

  const logLevel = pick(flags.logLevel, file.logLevel, 'logLevel', 'LOG_LEVEL', '--log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) issues.push({ path: '--log-level', message: `must be one of ${LOG_LEVELS.join(', ')}` });

  const traceText = pick(flags.traceFile, file.traceFile, 'traceFile', undefined, '--trace-file');
  const traceFile = traceText === undefined ? undefined : flags.traceFile !== undefined ? resolve(traceText) : resolve(fileCtx.baseDir, traceText);

  // mcp-oauth2-proxy's variables for things done differently here: said, not silently dropped.
  for (const [section, keys] of Object.entries(SEED_IGNORED)) {
    for (const [key, skip] of Object.entries(keys)) {
      const value = nonEmpty(env[skip.env]);
      if (value !== undefined && value !== String(skip.quietWhen)) warnings.push(`${skip.env} (mcp-oauth2-proxy's ${section}.${key}) has no effect: ${skip.why}`);
    }
  }

  if (issues.length > 0) throw new ConfigError(issues);
  return {
    url: url!,
    transport: transport as ResolvedConnect['transport'],
    headers,
    allowHttp,
    grant: grant as ResolvedConnect['grant'],
    clientId,
    clientSecret,
    clientMetadataUrl,
    privateKey,
    scope,
    resource,
    callbackPort,
    defaultCallbackPort,
    browserCommand: pick(flags.browserCommand, file.browserCommand, 'browserCommand', undefined, '--browser-command'),
    tokenStore: tokenStore as ResolvedConnect['tokenStore'],
    expectedIssuer: pick(flags.expectedIssuer, file.expectedIssuer, 'expectedIssuer', undefined, '--expected-issuer'),
    tokenUrl,
    authorizationUrl,
    audience,
    authStyle: authStyle as AuthStyle | undefined,
    traceFile,
    timeoutMs,
    logLevel,
    warnings,
    notes,
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

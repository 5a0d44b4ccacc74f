// `gatehouse connect|login|logout`: the stdio bridge and its outbound OAuth client.
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { AuthProvider, OAuthClientProvider } from '@modelcontextprotocol/client';

import { ConfigError, parseDuration, type ConfigIssue, type ResolvedRemoteServer } from '../config/index.js';
import { resolveReference } from '../config/references.js';
import { createLogger, redactUrl, type Logger } from '../observability/index.js';
import type { InsufficientScopeChallenge } from '../upstream/remote/index.js';
import { CliExit, ExitCode } from './exit.js';

/** Flags of connect and login as commander hands them over (CONTRACT.md). */
export interface ConnectFlags {
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
  timeout?: string | undefined;
  logLevel?: string | undefined;
}

const TRANSPORTS = ['auto', 'streamable-http', 'sse'] as const;
const GRANTS = ['authorization_code', 'client_credentials'] as const;
const TOKEN_STORES = ['keychain', 'file', 'memory'] as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Everything connect/login need, after references, environment fallbacks and checks. */
export interface ResolvedConnect {
  readonly url: string;
  readonly transport: (typeof TRANSPORTS)[number];
  readonly headers: Record<string, string>;
  readonly allowHttp: boolean;
  readonly grant: (typeof GRANTS)[number];
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly clientMetadataUrl: string | undefined;
  readonly privateKey: string | undefined;
  readonly scope: string | undefined;
  readonly resource: string | undefined;
  readonly callbackPort: number | undefined;
  readonly browserCommand: string | undefined;
  readonly tokenStore: 'file' | 'memory';
  readonly expectedIssuer: string | undefined;
  readonly timeoutMs: number;
  readonly logLevel: string;
}

/**
 * Resolves flags, then the environment (UPSTREAM_URL, OAUTH2_*, LOG_LEVEL) where a flag is
 * absent; every value may be an `env:NAME` / `file:PATH` reference. All problems at once.
 */
export function resolveConnectFlags(
  urlArg: string | undefined,
  flags: ConnectFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedConnect {
  const issues: ConfigIssue[] = [];
  const ctx = { env, baseDir: process.cwd() };
  const ref = (value: string | undefined, path: string): string | undefined =>
    value === undefined ? undefined : resolveReference(value, ctx, path, issues);
  const pick = (flag: string | undefined, envName: string, path: string): string | undefined => {
    if (flag !== undefined) return ref(flag, path);
    const fromEnv = env[envName];
    return fromEnv === undefined || fromEnv === '' ? undefined : ref(fromEnv, envName);
  };

  const url = pick(urlArg, 'UPSTREAM_URL', 'URL');
  if (url === undefined) issues.push({ path: 'URL', message: 'required (the remote MCP server; or set UPSTREAM_URL)' });
  else {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') issues.push({ path: 'URL', message: `must be http(s), not ${parsed.protocol}` });
    } catch {
      issues.push({ path: 'URL', message: `not a valid URL: ${redactUrl(url)}` });
    }
  }

  const transport = ref(flags.transport, '--transport') ?? 'auto';
  if (!(TRANSPORTS as readonly string[]).includes(transport)) issues.push({ path: '--transport', message: `must be one of ${TRANSPORTS.join(', ')}` });

  const headers: Record<string, string> = {};
  for (const [i, raw] of (flags.header ?? []).entries()) {
    const path = `--header[${i}]`;
    const colon = raw.indexOf(':');
    const name = colon > 0 ? raw.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      issues.push({ path, message: 'must be "Name: value"' });
      continue;
    }
    headers[name] = resolveReference(raw.slice(colon + 1).trim(), ctx, path, issues, true);
  }

  const grant = pick(flags.grant, 'OAUTH2_GRANT', '--grant') ?? 'authorization_code';
  if (!(GRANTS as readonly string[]).includes(grant)) {
    issues.push({ path: '--grant', message: grant === 'device_code' ? 'device_code is not available in this build yet' : `must be one of ${GRANTS.join(', ')}` });
  }
  const clientId = pick(flags.clientId, 'OAUTH2_CLIENT_ID', '--client-id');
  const clientSecret = pick(flags.clientSecret, 'OAUTH2_CLIENT_SECRET', '--client-secret');
  const clientMetadataUrl = ref(flags.clientMetadataUrl, '--client-metadata-url');
  if (clientMetadataUrl !== undefined && !/^https:\/\/[^/]+\/.+/.test(clientMetadataUrl)) {
    issues.push({ path: '--client-metadata-url', message: 'must be an https URL with a path (it is the client_id)' });
  }
  const privateKeyFile = ref(flags.privateKey, '--private-key');
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

  const scope = pick(flags.scope, 'OAUTH2_SCOPE', '--scope');
  const resource = ref(flags.resource, '--resource');
  if (resource !== undefined && !URL.canParse(resource)) issues.push({ path: '--resource', message: 'not a valid URL' });

  const portText = ref(flags.callbackPort, '--callback-port');
  let callbackPort: number | undefined;
  if (portText !== undefined) {
    callbackPort = Number(portText);
    if (!Number.isInteger(callbackPort) || callbackPort < 1 || callbackPort > 65535) issues.push({ path: '--callback-port', message: 'must be a port number (1-65535)' });
  }

  let tokenStore = ref(flags.tokenStore, '--token-store') ?? 'file';
  if (!(TOKEN_STORES as readonly string[]).includes(tokenStore)) issues.push({ path: '--token-store', message: `must be one of ${TOKEN_STORES.join(', ')}` });
  // The keychain arrives later; until then it means the encrypted file.
  if (tokenStore === 'keychain') tokenStore = 'file';

  let timeoutMs = 60_000;
  const timeoutText = ref(flags.timeout, '--timeout');
  if (timeoutText !== undefined) {
    const parsed = parseDuration(timeoutText);
    if (parsed === undefined || parsed <= 0) issues.push({ path: '--timeout', message: 'must be a duration such as 30s or 2m' });
    else timeoutMs = parsed;
  }

  const logLevel = pick(flags.logLevel, 'LOG_LEVEL', '--log-level') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) issues.push({ path: '--log-level', message: `must be one of ${LOG_LEVELS.join(', ')}` });

  if (env.OAUTH2_TOKEN_URL) issues.push({ path: 'OAUTH2_TOKEN_URL', message: 'servers without discovery (--token-url) are not supported in this build yet' });

  if (issues.length > 0) throw new ConfigError(issues);
  return {
    url: url!,
    transport: transport as ResolvedConnect['transport'],
    headers,
    allowHttp: flags.allowHttp === true,
    grant: grant as ResolvedConnect['grant'],
    clientId,
    clientSecret,
    clientMetadataUrl,
    privateKey,
    scope,
    resource,
    callbackPort,
    browserCommand: ref(flags.browserCommand, '--browser-command'),
    tokenStore: tokenStore as 'file' | 'memory',
    expectedIssuer: ref(flags.expectedIssuer, '--expected-issuer'),
    timeoutMs,
    logLevel,
  };
}

/** Human lines for the person at the terminal (the authorization URL): stderr, never stdout. */
function notify(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** stdout belongs to JSON-RPC: a library that logs with console.log must not corrupt it. */
function guardStdout(): void {
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
}

async function checkUrl(config: ResolvedConnect): Promise<URL> {
  const { checkRemoteUrl, RemoteLinkError } = await import('../upstream/remote/index.js');
  try {
    return checkRemoteUrl(config.url, { allowHttp: config.allowHttp });
  } catch (error) {
    if (error instanceof RemoteLinkError) throw new CliExit(ExitCode.Usage, error.message);
    throw error;
  }
}

async function createStore(config: ResolvedConnect) {
  const { createFileTokenStore, createMemoryTokenStore } = await import('../auth/client/index.js');
  return config.tokenStore === 'memory' ? createMemoryTokenStore() : createFileTokenStore();
}

/** The authorization_code session (browser login), or undefined for the other setups. */
async function createSession(config: ResolvedConnect, logger: Logger) {
  const { OAuthSession, openBrowser } = await import('../auth/client/index.js');
  const session = new OAuthSession({
    serverUrl: config.url,
    store: await createStore(config),
    logger: logger.child({ component: 'oauth' }),
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    clientMetadataUrl: config.clientMetadataUrl,
    scope: config.scope,
    resource: config.resource,
    callbackPort: config.callbackPort,
    openBrowser: (url) => openBrowser(url, { command: config.browserCommand, browserEnv: process.env.BROWSER, notify }),
  });
  await session.load();
  return session;
}

/** client_credentials: the SDK's providers (secret, or private_key_jwt with --private-key). */
async function createMachineProvider(config: ResolvedConnect): Promise<OAuthClientProvider> {
  const { ClientCredentialsProvider, PrivateKeyJwtProvider } = await import('@modelcontextprotocol/client');
  const clientId = config.clientId!;
  const issuer = config.expectedIssuer === undefined ? {} : { expectedIssuer: config.expectedIssuer };
  if (config.privateKey !== undefined) {
    const { key, algorithm } = parsePrivateKey(config.privateKey);
    return new PrivateKeyJwtProvider({ clientId, privateKey: key, algorithm, scope: config.scope, clientName: 'Gatehouse', ...issuer });
  }
  return new ClientCredentialsProvider({ clientId, clientSecret: config.clientSecret!, scope: config.scope, clientName: 'Gatehouse', ...issuer });
}

/** A PEM or JWK private key, and the JWS algorithm that fits it. */
function parsePrivateKey(text: string): { key: string | Record<string, unknown>; algorithm: string } {
  const trimmed = text.trim();
  let key: string | Record<string, unknown> = trimmed;
  let jwkAlg: string | undefined;
  let object;
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      key = jwk;
      jwkAlg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
      object = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else {
      object = createPrivateKey(trimmed);
    }
  } catch (error) {
    throw new CliExit(ExitCode.Usage, `--private-key: not a PEM or JWK private key (${error instanceof Error ? error.message : String(error)})`);
  }
  if (jwkAlg) return { key, algorithm: jwkAlg };
  switch (object.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return { key, algorithm: 'RS256' };
    case 'ec': {
      const curve = object.asymmetricKeyDetails?.namedCurve;
      return { key, algorithm: curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256' };
    }
    case 'ed25519':
      return { key, algorithm: 'EdDSA' };
    default:
      throw new CliExit(ExitCode.Usage, `--private-key: unsupported key type ${object.asymmetricKeyType ?? 'unknown'}`);
  }
}

function hasStaticAuthorization(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
}

/** `gatehouse connect URL`: a stdio MCP server forwarding everything to the remote one. */
export async function connectCommand(urlArg: string | undefined, flags: ConnectFlags): Promise<void> {
  guardStdout();
  const config = resolveConnectFlags(urlArg, flags);
  const logger = createLogger({ level: config.logLevel });
  await checkUrl(config);

  // OAuth unless the user gave the credentials as a static Authorization header.
  let authProvider: OAuthClientProvider | AuthProvider | undefined;
  let onInsufficientScope: ((challenge: InsufficientScopeChallenge) => Promise<boolean>) | undefined;
  if (config.grant === 'client_credentials') authProvider = await createMachineProvider(config);
  else if (!hasStaticAuthorization(config.headers)) {
    const session = await createSession(config, logger);
    authProvider = session.authProvider();
    onInsufficientScope = (challenge) => session.stepUp(challenge);
  }

  const { createRemoteLinkFactory, RemoteLinkError } = await import('../upstream/remote/index.js');
  const { startBridge } = await import('../bridge/index.js');
  const server: ResolvedRemoteServer = {
    kind: 'remote',
    name: 'remote',
    url: config.url,
    transport: config.transport,
    headers: config.headers,
    tls: { rejectUnauthorized: true, ca: undefined },
    timeoutMs: config.timeoutMs,
    allowHttp: config.allowHttp,
    oauth: undefined,
    tools: undefined,
    tokens: undefined,
    description: undefined,
  };
  let factory;
  try {
    factory = createRemoteLinkFactory(server, { logger, allowHttp: config.allowHttp, authProvider, onInsufficientScope });
  } catch (error) {
    if (error instanceof RemoteLinkError) throw new CliExit(ExitCode.Usage, error.message);
    throw error;
  }

  let bridge;
  try {
    bridge = await startBridge({ factory, input: process.stdin, output: process.stdout, logger });
  } catch (error) {
    await factory.close().catch(() => undefined);
    throw new CliExit(ExitCode.Failure, `cannot connect to ${redactUrl(config.url)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  logger.info({ url: redactUrl(config.url), transport: config.transport }, 'bridge ready');
  const active = bridge;
  process.once('SIGINT', () => void active.stop());
  process.once('SIGTERM', () => void active.stop());
  process.stdout.on('error', () => void active.stop()); // EPIPE: the client is gone

  const end = await bridge.done;
  await factory.close().catch(() => undefined);
  if (end.kind === 'link-closed') {
    throw new CliExit(ExitCode.Failure, `the connection to the remote MCP server ended: ${end.reason.message}`);
  }
  logger.info({ reason: end.kind }, 'bridge closed');
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(ExitCode.Ok);
}

/** `gatehouse login URL`: runs the login now and stores the tokens. */
export async function loginCommand(urlArg: string | undefined, flags: ConnectFlags): Promise<void> {
  const config = resolveConnectFlags(urlArg, flags);
  const logger = createLogger({ level: config.logLevel });
  await checkUrl(config);
  if (config.grant === 'client_credentials') {
    const { auth } = await import('@modelcontextprotocol/client');
    const result = await auth(await createMachineProvider(config), { serverUrl: config.url, scope: config.scope });
    if (result !== 'AUTHORIZED') throw new CliExit(ExitCode.Failure, 'the authorization server did not issue a token');
    notify(`gatehouse: client credentials accepted by the authorization server of ${redactUrl(config.url)} (machine tokens are not stored)`);
    return;
  }
  const session = await createSession(config, logger);
  try {
    await session.authorize({ force: true });
  } catch (error) {
    throw new CliExit(ExitCode.Failure, `login failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  notify(`gatehouse: logged in to ${redactUrl(config.url)}${config.tokenStore === 'memory' ? ' (memory token store: nothing kept)' : ''}`);
}

/** `gatehouse logout URL`: forgets tokens and the client registration for URL. */
export async function logoutCommand(urlArg: string | undefined, flags: Pick<ConnectFlags, 'tokenStore' | 'logLevel'>): Promise<void> {
  const config = resolveConnectFlags(urlArg, { tokenStore: flags.tokenStore, logLevel: flags.logLevel }, { ...process.env, OAUTH2_TOKEN_URL: undefined, OAUTH2_GRANT: undefined, OAUTH2_CLIENT_SECRET: undefined });
  const store = await createStore(config);
  const removed = await store.remove(config.url);
  notify(removed ? `gatehouse: forgot the tokens and client registration for ${redactUrl(config.url)}` : `gatehouse: nothing stored for ${redactUrl(config.url)}`);
}

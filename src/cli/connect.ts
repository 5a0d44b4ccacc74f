// `gatehouse connect|login|logout`: the stdio bridge and its outbound OAuth client.
import type { AuthProvider, FetchLike, OAuthDiscoveryState } from '@modelcontextprotocol/client';

import type { ClientBinding, TokenStore, Tracer } from '../auth/client/index.js';
import type { ResolvedRemoteServer } from '../config/index.js';
import { createLogger, redactUrl, routeSdkWarnings, type Logger } from '../observability/index.js';
import type { InsufficientScopeChallenge } from '../upstream/remote/index.js';
import { resolveConnectFlags, type ConnectFlags, type ResolvedConnect } from './connect-options.js';
import { CliExit, ExitCode } from './exit.js';

export { resolveConnectFlags, type ConnectFlags, type ResolvedConnect } from './connect-options.js';

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
    if (error instanceof RemoteLinkError) throw new CliExit(ExitCode.Usage, error.code === 'insecure-url' && /--allow-http/.test(error.message) ? `${error.message}, or ALLOW_INSECURE_HTTP=true` : error.message);
    throw error;
  }
}

async function createStore(config: ResolvedConnect, logger: Logger): Promise<TokenStore> {
  const { openTokenStore } = await import('../auth/client/index.js');
  return openTokenStore(config.tokenStore, {
    onFallback: (reason) => logger.warn({ reason }, 'OS keychain not available: tokens go to the encrypted file store, its key in a separate file (--token-store file to silence this)'),
  });
}

/** What every OAuth piece of one run shares: the trace file and a fetch that records to it. */
interface OAuthRunContext {
  readonly tracer: Tracer;
  readonly fetchFn: FetchLike | undefined;
  readonly discovery: OAuthDiscoveryState | undefined;
}

async function createRunContext(config: ResolvedConnect): Promise<OAuthRunContext> {
  const { createFileTracer, noTracer, staticDiscoveryState, tracedFetch } = await import('../auth/client/index.js');
  let tracer: Tracer = noTracer;
  if (config.traceFile !== undefined) {
    try {
      tracer = createFileTracer(config.traceFile);
    } catch (error) {
      throw new CliExit(ExitCode.Usage, `--trace-file: cannot open ${config.traceFile}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  const discovery =
    config.tokenUrl === undefined
      ? undefined
      : staticDiscoveryState({ tokenUrl: config.tokenUrl, authorizationUrl: config.authorizationUrl, issuer: config.expectedIssuer });
  return { tracer, fetchFn: tracer === noTracer ? undefined : tracedFetch(fetch, tracer), discovery };
}

/** The authorization_code (browser) or device_code session, with stored tokens. */
async function createSession(config: ResolvedConnect, logger: Logger, run: OAuthRunContext) {
  const { OAuthSession, openBrowser } = await import('../auth/client/index.js');
  const session = new OAuthSession({
    serverUrl: config.url,
    store: await createStore(config, logger),
    logger: logger.child({ component: 'oauth' }),
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    authStyle: config.authStyle,
    audience: config.audience,
    // SEP-2352: a --client-id client's id and secret go to this authorization server only.
    expectedIssuer: config.expectedIssuer,
    clientMetadataUrl: config.clientMetadataUrl,
    scope: config.scope,
    resource: config.resource,
    callbackPort: config.callbackPort,
    defaultCallbackPort: config.defaultCallbackPort,
    openBrowser: (url) => openBrowser(url, { command: config.browserCommand, browserEnv: process.env.BROWSER, notify }),
    grant: config.grant === 'device_code' ? 'device_code' : 'authorization_code',
    notify,
    staticDiscovery: run.discovery,
    fetchFn: run.fetchFn,
    tracer: run.tracer,
  });
  await session.load();
  return session;
}

/** client_credentials (secret, or private_key_jwt with --private-key): tokens in memory, renewed ahead of expiry. */
async function createMachineSession(config: ResolvedConnect, logger: Logger, run: OAuthRunContext): Promise<AuthProvider & { token(): Promise<string | undefined> }> {
  const { keptBinding, MachineSession, openTokenStoreForReading, parsePrivateKey } = await import('../auth/client/index.js');
  let privateKey;
  if (config.privateKey !== undefined) {
    try {
      privateKey = parsePrivateKey(config.privateKey);
    } catch (error) {
      throw new CliExit(ExitCode.Usage, `--private-key: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const metadata = run.discovery?.authorizationServerMetadata;
  // SEP-2352: the binding a browser or device login kept for this client in the token store
  // (read only: a machine run stores nothing) binds this run too; a --token-url it does not
  // own is refused here, before anything is sent (client-binding.ts keptBinding).
  let kept: ClientBinding | undefined;
  if (config.tokenStore !== 'memory' && config.expectedIssuer === undefined) {
    const store = openTokenStoreForReading(config.tokenStore, { onFallback: (reason) => logger.debug({ reason }, 'OS keychain not available: the token file key is read from its file') });
    try {
      kept = await keptBinding(store, { clientId: config.clientId!, serverUrl: config.url, tokenUrl: metadata && { issuer: metadata.issuer, endpoint: metadata.token_endpoint }, logger });
    } catch (error) {
      if (error instanceof Error && error.name === 'AuthorizationServerMismatchError') throw new CliExit(ExitCode.Failure, `login failed: ${error.message}`);
      throw error;
    }
  }
  return new MachineSession({
    serverUrl: config.url,
    clientId: config.clientId!,
    clientSecret: config.clientSecret,
    authStyle: config.authStyle,
    audience: config.audience,
    privateKey,
    scope: config.scope,
    resource: config.resource,
    // With --token-url the authorization server is known: the secret goes nowhere else.
    expectedIssuer: config.expectedIssuer ?? metadata?.issuer ?? kept?.issuer,
    expectedIssuerSetting: '--expected-issuer',
    advise: kept && ((error) => kept.advise(error)),
    discovery: run.discovery,
    fetchFn: run.fetchFn,
    tracer: run.tracer,
    logger: logger.child({ component: 'oauth' }),
  });
}

/** The OAuth client's own refusal behind a closed link (not the MCP server's): said as it is. */
function loginFailure(error: unknown): Error | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    if (['DeviceFlowError', 'AuthorizationResponseError', 'PkceNotSupportedError', 'AuthorizationServerMismatchError', 'ClientAuthMethodError'].includes(current.name)) return current;
    current = current.cause;
  }
  return undefined;
}

function hasStaticAuthorization(headers: Record<string, string>): boolean {
  return Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
}

/** The logger of one run, after saying what the options' resolution found worth saying. */
function runLogger(config: ResolvedConnect): Logger {
  const logger = createLogger({ level: config.logLevel });
  // The SDK's own warnings ([mcp-sdk] ...) become log lines too, for the life of the command.
  routeSdkWarnings(logger);
  for (const warning of config.warnings) logger.warn(warning);
  for (const note of config.notes) logger.info(note);
  return logger;
}

/** `gatehouse connect URL`: a stdio MCP server forwarding everything to the remote one. */
export async function connectCommand(urlArg: string | undefined, flags: ConnectFlags): Promise<void> {
  guardStdout();
  const config = resolveConnectFlags(urlArg, flags);
  const logger = runLogger(config);
  await checkUrl(config);

  // OAuth unless the user gave the credentials as a static Authorization header.
  const run = await createRunContext(config);
  let authProvider: AuthProvider | undefined;
  let onInsufficientScope: ((challenge: InsufficientScopeChallenge) => Promise<boolean>) | undefined;
  if (config.grant === 'client_credentials') authProvider = await createMachineSession(config, logger, run);
  else if (!hasStaticAuthorization(config.headers)) {
    const session = await createSession(config, logger, run);
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
    factory = createRemoteLinkFactory(server, {
      logger,
      allowHttp: config.allowHttp,
      authProvider,
      onInsufficientScope,
      tracer: config.traceFile === undefined ? undefined : run.tracer,
    });
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
  run.tracer.close();
  if (end.kind === 'link-closed') {
    const login = loginFailure(end.reason);
    if (login) throw new CliExit(ExitCode.Failure, `login failed: ${login.message}`);
    // The OAuth client could not reach its authorization server: the MCP server is not to blame.
    const { failedOAuthRequest } = await import('../auth/client/index.js');
    const oauth = failedOAuthRequest(end.reason);
    if (oauth !== undefined && new URL(oauth.url).host !== new URL(config.url).host) throw new CliExit(ExitCode.Failure, `no access token for ${redactUrl(config.url)}: ${end.reason.message}`);
    throw new CliExit(ExitCode.Failure, `the connection to the remote MCP server ended: ${end.reason.message}`);
  }
  logger.info({ reason: end.kind }, 'bridge closed');
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit(ExitCode.Ok);
}

/** `gatehouse login URL`: runs the login now and stores the tokens. */
export async function loginCommand(urlArg: string | undefined, flags: ConnectFlags): Promise<void> {
  const config = resolveConnectFlags(urlArg, flags);
  const logger = runLogger(config);
  await checkUrl(config);
  const run = await createRunContext(config);
  try {
    if (config.grant === 'client_credentials') {
      const machine = await createMachineSession(config, logger, run);
      try {
        if ((await machine.token()) === undefined) throw new Error('the authorization server issued no access token');
      } catch (error) {
        throw new CliExit(ExitCode.Failure, `client credentials refused: ${error instanceof Error ? error.message : String(error)}`);
      }
      notify(`gatehouse: client credentials accepted by the authorization server of ${redactUrl(config.url)} (machine tokens are not stored)`);
      return;
    }
    const session = await createSession(config, logger, run);
    try {
      await session.authorize({ force: true });
    } catch (error) {
      throw new CliExit(ExitCode.Failure, `login failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    notify(`gatehouse: logged in to ${redactUrl(config.url)}${config.tokenStore === 'memory' ? ' (memory token store: nothing kept)' : ''}`);
  } finally {
    run.tracer.close();
  }
}

/** `gatehouse logout URL`: forgets tokens and the client registration for URL. */
export async function logoutCommand(urlArg: string | undefined, flags: Pick<ConnectFlags, 'url' | 'tokenStore' | 'logLevel' | 'config'>): Promise<void> {
  // Only the URL and the store matter here: grant and credential settings are not checked.
  const env = { ...process.env, OAUTH2_TOKEN_URL: undefined, OAUTH2_AUTHORIZATION_URL: undefined, OAUTH2_GRANT: undefined, OAUTH2_CLIENT_SECRET: undefined, GOOGLE_CLIENT_SECRET: undefined };
  const config = resolveConnectFlags(urlArg, { url: flags.url, tokenStore: flags.tokenStore, logLevel: flags.logLevel, config: flags.config }, env);
  const logger = createLogger({ level: config.logLevel });
  // Removing needs no key: the keychain is not asked (nor a key created in it) to forget a file.
  const store = await createStore({ ...config, tokenStore: config.tokenStore === 'memory' ? 'memory' : 'file' }, logger);
  const removed = await store.remove(config.url);
  notify(removed ? `gatehouse: forgot the tokens, the client registration and the authorization server a --client-id client was bound to, for ${redactUrl(config.url)}` : `gatehouse: nothing stored for ${redactUrl(config.url)}`);
}

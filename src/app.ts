// The composition root: builds every part from the resolved config and wires them
// together. Only this file knows all the rooms.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { protectedResourceList, type ResolvedConfig, type ResolvedServer } from './config/index.js';
import { Gateway, type GatewayOptions } from './gateway/index.js';
import type { AuthorizationServer } from './auth/server/index.js';
import { forwardedHostWatch } from './auth/server/public-url-warnings.js';
import {
  basePathShadows,
  createEdge,
  createHttpApp,
  createMcpListener,
  createStaticTokenAuthenticator,
  guardAuthRoutes,
  requestedPathLogger,
  servedBasePath,
  startHttpServer,
  type RunningServer,
} from './http/index.js';
import { clientSecretMatches, openStore } from './store/index.js';
import { Metrics, type Logger } from './observability/index.js';
import { createStdioLinkFactory, createUpstream, type Upstream } from './upstream/index.js';
import { createOpenApiBridge, type OpenApiBridge } from './openapi/index.js';
import { VERSION } from './version.js';

export interface GatehouseApp {
  readonly url: string;
  readonly port: number;
  readonly gateway: Gateway;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** Graceful stop: no new calls, in-flight ones finish (bounded), children stop. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  /** Gateway settings that are not config keys (tests shorten intervals with them). */
  readonly gateway?: Pick<GatewayOptions, 'incompleteRetryMs'>;
}

/** Every route the authorization server protects: each server's and the aggregate, MCP and (openapi.enabled) REST. */
export function protectedResources(config: ResolvedConfig): { path: string; server?: string; surface?: 'mcp' | 'rest' }[] {
  return protectedResourceList(config.servers.map((s) => s.name), config.openapi.enabled);
}

/** `auth.mode: oauth`: the store, persisted keys, and the authorization server on top. */
async function startAuthorizationServer(config: ResolvedConfig, logger: Logger, releases: (() => Promise<void>)[]): Promise<AuthorizationServer> {
  // Loaded only in oauth mode: oidc-provider is the heaviest dependency we have.
  const { createAuthorizationServer, generateServerKeys, loadOrCreateKeys, storeUserDirectory } = await import('./auth/server/index.js');
  const store = await openStore(config, logger);
  releases.push(() => store.close());
  // A memory store keeps nothing, so its keys need not outlive the process either.
  const keys = config.store.kind === 'memory' ? generateServerKeys() : loadOrCreateKeys(config.dataDir);
  const as = await createAuthorizationServer({
    config,
    logger: logger.child({ component: 'oauth' }),
    resources: protectedResources(config),
    adapter: (model) => store.oauthAdapter(model),
    keys,
    users: storeUserDirectory(store.users, config),
    clientSecretMatches,
  });
  releases.unshift(() => as.close());
  return as;
}

/** Builds one upstream; `releases` collects what must be released at shutdown beside it. */
export async function buildUpstream(
  server: ResolvedServer,
  logger: Logger,
  releases: (() => Promise<void>)[] = [],
  /** ResolvedConfig.secretEnvNames: kept from stdio children. */
  withheldEnv: readonly string[] = [],
): Promise<Upstream> {
  // The base logger: each part below adds `{ upstream: name }` itself (once per line).
  const clientInfo = { name: 'gatehouse', version: VERSION };
  if (server.kind === 'stdio') {
    return createUpstream({
      name: server.name,
      linkFactory: createStdioLinkFactory(server, logger, { withheldEnv }),
      sharing: server.sharing,
      logger,
      clientInfo,
    });
  }
  // Remote servers get one upstream session per client session: the server then sees each
  // client apart, and server-to-client requests come back on the right stream.
  // Loaded only when a remote server is configured (the SDK client and undici weigh ~35 MiB).
  const { createRemoteLinkFactory } = await import('./upstream/remote/index.js');
  const linkFactory = createRemoteLinkFactory(server, { logger, allowHttp: server.allowHttp });
  releases.push(() => linkFactory.close());
  return createUpstream({
    name: server.name,
    linkFactory,
    sharing: 'per-session',
    logger,
    clientInfo,
    requestTimeoutMs: server.timeoutMs,
  });
}

export async function startGatehouse({ config, logger, gateway: tuning }: StartOptions): Promise<GatehouseApp> {
  // publicUrl's path, served under as well as at the root (http/base-path.ts); a path that
  // cannot be is refused before any server starts.
  const basePath = servedBasePath(config.publicUrl);
  const shadowed = basePathShadows(basePath, {
    servers: config.servers.map((s) => s.name),
    callbackPaths: config.auth.providers.flatMap((p) => (p.callbackPath === undefined ? [] : [p.callbackPath])),
  });
  if (shadowed !== undefined) logger.warn({ event: 'base_path_shadows_routes', basePath }, shadowed);
  const releases: (() => Promise<void>)[] = [];
  const upstreams = new Map<string, Upstream>();
  for (const s of config.servers) upstreams.set(s.name, await buildUpstream(s, logger, releases, config.secretEnvNames));
  const closeUpstreams = async () => {
    await Promise.all([...upstreams.values()].map((u) => u.close()));
    await Promise.all(releases.map((r) => r().catch(() => undefined)));
  };
  // Start every upstream; one that fails to start is logged and retried by its supervisor,
  // the gateway still serves the others.
  await Promise.all(
    [...upstreams.values()].map((u) =>
      u.start().catch((err: unknown) => logger.warn({ upstream: u.name, err: (err as Error).message }, 'upstream did not start')),
    ),
  );

  const gateway = new Gateway({ ...tuning, servers: config.servers, upstreams, logger, maxSessionsPerPrincipal: config.maxSessionsPerClient });
  const edge = createEdge(config);
  const metrics = new Metrics();
  const requests = metrics.counter('gatehouse_http_requests_total', 'MCP HTTP requests answered, by route kind and status.');
  metrics.gauge('gatehouse_sessions', 'Open client sessions (2025 revisions and legacy SSE).', () => [[{}, gateway.sessionCount]]);
  metrics.gauge('gatehouse_upstream_up', 'Whether each upstream is ready (1) or not (0).', () =>
    [...upstreams].map(([server, u]) => [{ server }, u.state === 'ready' ? 1 : 0] as [Record<string, string>, number]),
  );
  const readiness = { check: () => Object.fromEntries([...upstreams].map(([name, u]) => [name, u.state])) };
  const app = createHttpApp({ config, edge, readiness, logger, metrics });
  // Requests under publicUrl's path get the same routes, logging the path as requested.
  const underLogger = basePath ? requestedPathLogger(logger, basePath) : undefined;
  const appUnder = underLogger ? createHttpApp({ config, edge, readiness, logger: underLogger, metrics }) : undefined;
  // Listen first: with `listen: ...:0` and no publicUrl, the issuer needs the real port.
  let route: (req: IncomingMessage, res: ServerResponse) => boolean = (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"error":"starting"}');
    return true;
  };
  let routeUnder = route;
  let server: RunningServer;
  let openapi: OpenApiBridge | undefined;
  try {
    server = await startHttpServer(app.fetch, (req, res) => route(req, res), config.listen.host, config.listen.port, {
      basePath: appUnder ? { path: basePath, fetch: appUnder.fetch, fast: (req, res) => routeUnder(req, res) } : undefined,
    });
  } catch (err) {
    await closeUpstreams();
    throw err;
  }
  try {
    const bound = config.publicUrl || config.listen.port !== 0 ? config : { ...config, listen: { ...config.listen, port: server.port } };
    const as = config.auth.mode === 'oauth' ? await startAuthorizationServer(bound, logger, releases) : undefined;
    const authenticator = as?.authenticator ?? createStaticTokenAuthenticator(config);
    const mcpFor = (log: Logger) =>
      createMcpListener({
        config,
        mcp: gateway,
        authenticator,
        edge,
        logger: log,
        requests,
        ...(as ? { challenge: (path: string, error?: Parameters<AuthorizationServer['challenge']>[1]) => as.challenge(path, error) } : {}),
      });
    const auth = as ? guardAuthRoutes(config, edge, (req, res) => as.listener(req, res)) : undefined;
    openapi = config.openapi.enabled
      ? createOpenApiBridge({
          config,
          gateway,
          authenticator: as?.restAuthenticator ?? createStaticTokenAuthenticator(config),
          edge,
          logger,
          requests,
          issuer: as?.issuer,
          challenge: as ? (path, error) => as.challenge(path, error) : undefined,
        })
      : undefined;
    // OAuth without publicUrl behind a proxy naming another host: said once (public-url-warnings.ts).
    const watch = as ? forwardedHostWatch(config, as.issuer, logger.child({ component: 'oauth' })) : undefined;
    // The authorization server's guards (rate limits) and listener are one for both: neither logs paths.
    const routesFor = (log: Logger, rest: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined) => {
      const mcp = mcpFor(log);
      return (req: IncomingMessage, res: ServerResponse): boolean => {
        watch?.(req);
        return (auth?.(req, res) ?? false) || (rest?.(req, res) ?? false) || mcp(req, res);
      };
    };
    route = routesFor(logger, openapi?.listener);
    if (underLogger) routeUnder = routesFor(underLogger, openapi?.listenerFor(underLogger));
  } catch (err) {
    await server.close(0);
    await closeUpstreams();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    gateway,
    upstreams,
    close: () =>
      (closing ??= (async () => {
        const grace = config.shutdownTimeoutMs;
        const stopListening = server.close(grace);
        await Promise.all([openapi?.close(grace), gateway.close(grace)]);
        await closeUpstreams();
        await stopListening;
      })()),
  };
}

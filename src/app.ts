// The composition root: builds every part from the resolved config and wires them
// together. Only this file knows all the rooms.
import type { ResolvedConfig, ResolvedServer } from './config/index.js';
import { Gateway } from './gateway/index.js';
import { createEdge, createHttpApp, createMcpListener, createStaticTokenAuthenticator, startHttpServer, type RunningServer } from './http/index.js';
import { Metrics, type Logger } from './observability/index.js';
import { createStdioLinkFactory, createUpstream, type Upstream } from './upstream/index.js';
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
}

/** Builds one upstream; `releases` collects what must be released at shutdown beside it. */
export async function buildUpstream(server: ResolvedServer, logger: Logger, releases: (() => Promise<void>)[] = []): Promise<Upstream> {
  const log = logger.child({ upstream: server.name });
  const clientInfo = { name: 'gatehouse', version: VERSION };
  if (server.kind === 'stdio') {
    return createUpstream({
      name: server.name,
      linkFactory: createStdioLinkFactory(server, log),
      sharing: server.sharing,
      logger: log,
      clientInfo,
    });
  }
  // Remote servers get one upstream session per client session: the server then sees each
  // client apart, and server-to-client requests come back on the right stream.
  // Loaded only when a remote server is configured (the SDK client and undici weigh ~35 MiB).
  const { createRemoteLinkFactory } = await import('./upstream/remote/index.js');
  const linkFactory = createRemoteLinkFactory(server, { logger: log, allowHttp: server.allowHttp });
  releases.push(() => linkFactory.close());
  return createUpstream({
    name: server.name,
    linkFactory,
    sharing: 'per-session',
    logger: log,
    clientInfo,
    requestTimeoutMs: server.timeoutMs,
  });
}

export async function startGatehouse({ config, logger }: StartOptions): Promise<GatehouseApp> {
  const releases: (() => Promise<void>)[] = [];
  const upstreams = new Map<string, Upstream>();
  for (const s of config.servers) upstreams.set(s.name, await buildUpstream(s, logger, releases));
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

  const gateway = new Gateway({ servers: config.servers, upstreams, logger });
  const edge = createEdge(config);
  const metrics = new Metrics();
  const requests = metrics.counter('gatehouse_http_requests_total', 'MCP HTTP requests answered, by route kind and status.');
  metrics.gauge('gatehouse_sessions', 'Open client sessions (2025 revisions and legacy SSE).', () => [[{}, gateway.sessionCount]]);
  metrics.gauge('gatehouse_upstream_up', 'Whether each upstream is ready (1) or not (0).', () =>
    [...upstreams].map(([server, u]) => [{ server }, u.state === 'ready' ? 1 : 0] as [Record<string, string>, number]),
  );
  const app = createHttpApp({
    config,
    edge,
    readiness: { check: () => Object.fromEntries([...upstreams].map(([name, u]) => [name, u.state])) },
    logger,
    metrics,
  });
  const mcp = createMcpListener({ config, mcp: gateway, authenticator: createStaticTokenAuthenticator(config), edge, logger, requests });
  let server: RunningServer;
  try {
    server = await startHttpServer(app.fetch, mcp, config.listen.host, config.listen.port);
  } catch (err) {
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
        await gateway.close(grace);
        await closeUpstreams();
        await stopListening;
      })()),
  };
}

import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { HttpBindings } from '@hono/node-server';
import type { ResolvedConfig } from '../config/index.js';
import type { Logger } from '../observability/index.js';
import { redactPathToken, redactUrl } from '../observability/index.js';
import { servedBasePath } from './base-path.js';
import { problemBody, type Edge } from './edge.js';

export interface Readiness {
  /** Per server: `ready`, `starting`, `restarting`, `down`. */
  check(): Record<string, string>;
}

export interface HttpAppOptions {
  readonly config: ResolvedConfig;
  readonly edge: Edge;
  readonly readiness: Readiness;
  readonly logger: Logger;
  /** Prometheus exposition for `/metrics`. */
  readonly metrics?: { render(): string };
}

export type HttpEnv = { Bindings: HttpBindings; Variables: { clientIp: string | undefined } };

const problem = (status: number, error: string, description: string): Response =>
  new Response(problemBody(error, description), { status, headers: { 'content-type': 'application/json' } });

/**
 * The hono app for every route but MCP's (those are served by mcp-listener.ts on the hot
 * path): operations today, the authorization server and pages later. Guards run first.
 */
export function createHttpApp(options: HttpAppOptions): Hono<HttpEnv> {
  const { config, edge, logger } = options;
  const app = new Hono<HttpEnv>();

  // A request's path for the log: `?token=` redacted, and with tokenInUrl the path token of
  // `/{server}/{token}/...` whatever the status (a misspelt MCP route is a 404 here, a large
  // body a 413 before any route), and of `/.well-known/{name}/{server}/{token}/...` (redactPathToken).
  const basePath = servedBasePath(config.publicUrl);
  const logged = (pathAndQuery: string): string => {
    const path = redactUrl(pathAndQuery);
    return config.auth.tokenInUrl ? redactPathToken(path, basePath) : path;
  };

  app.onError((err, c) => {
    logger.error({ err: err.message, path: logged(c.req.path) }, 'unhandled error');
    return problem(500, 'server_error', 'internal error');
  });
  app.notFound((c) => problem(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));

  app.use('*', async (c, next) => {
    const admitted = edge(c.env?.incoming?.socket?.remoteAddress, c.req.raw.headers);
    if (!admitted.ok) return problem(admitted.status, admitted.error, admitted.description);
    c.set('clientIp', admitted.ip);
    c.header('x-content-type-options', 'nosniff');
    const started = performance.now();
    await next();
    if (logger.isLevelEnabled('debug')) {
      const url = new URL(c.req.url);
      logger.debug({ method: c.req.method, path: logged(url.pathname + url.search), status: c.res.status, ms: Math.round(performance.now() - started), ip: admitted.ip }, 'request');
    }
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: config.maxBodySize,
      onError: () => problem(413, 'payload_too_large', `request bodies are limited to ${config.maxBodySize} bytes`),
    }),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const servers = options.readiness.check();
    const ready = Object.values(servers).every((s) => s === 'ready');
    return c.json({ status: ready ? 'ready' : 'not ready', servers }, ready ? 200 : 503);
  });
  app.get('/metrics', (c) => {
    if (!options.metrics) return problem(404, 'not_found', 'metrics are off');
    return c.body(options.metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
  return app;
}

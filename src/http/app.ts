import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { HttpBindings } from '@hono/node-server';
import type { ResolvedConfig } from '../config/index.js';
import type { McpCall } from '../gateway/index.js';
import type { Logger } from '../observability/index.js';
import { redactUrl } from '../observability/index.js';
import { resolveBaseUrl, resolveClientIp } from './client-ip.js';
import { allowedHostnames, checkHostAndOrigin } from './guards.js';
import { IpSet } from './ip.js';
import { presentedToken, type Authenticator } from './static-tokens.js';

/** What the HTTP edge needs from the MCP gateway (implemented by gateway/). */
export interface McpEndpoints {
  hasServer(name: string): boolean;
  handleStreamable(call: McpCall): Promise<Response>;
  handleSseOpen(call: McpCall): Response;
  handleSseMessage(call: McpCall): Promise<Response>;
}

export interface Readiness {
  /** Per server: `ready`, `starting`, `restarting`, `down`. */
  check(): Record<string, string>;
}

export interface HttpAppOptions {
  readonly config: ResolvedConfig;
  readonly mcp: McpEndpoints;
  readonly authenticator: Authenticator;
  readonly readiness: Readiness;
  readonly logger: Logger;
}

type Env = { Bindings: HttpBindings; Variables: { clientIp: string | undefined; trustedHop: boolean } };

const problem = (_c: unknown, status: number, error: string, description: string, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify({ error, error_description: description }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });

/** The hono app: guards first, then the MCP routes and the operational ones. */
export function createHttpApp(options: HttpAppOptions): Hono<Env> {
  const { config, mcp, authenticator, logger } = options;
  const trusted = new IpSet(config.trustProxy);
  const allowedIps = config.auth.allowedIps.length ? new IpSet(config.auth.allowedIps) : undefined;
  const hostnames = allowedHostnames(config.listen.host, config.publicUrl);
  const app = new Hono<Env>();

  app.onError((err, c) => {
    logger.error({ err: err.message, path: redactUrl(c.req.path) }, 'unhandled error');
    return problem(c, 500, 'server_error', 'internal error');
  });
  app.notFound((c) => problem(c, 404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));

  // Who is calling, and may they knock at all?
  app.use('*', async (c, next) => {
    const remote = c.env?.incoming?.socket?.remoteAddress;
    const ip = resolveClientIp(remote, c.req.raw.headers, trusted);
    c.set('clientIp', ip);
    c.set('trustedHop', trusted.has(remote));
    if (allowedIps && !allowedIps.has(ip)) return problem(c, 403, 'access_denied', 'your address may not use this gateway');
    const rebinding = checkHostAndOrigin(c.req.raw.headers, hostnames);
    if (rebinding) return problem(c, 403, 'access_denied', rebinding);
    c.header('x-content-type-options', 'nosniff');
    const started = performance.now();
    await next();
    if (logger.isLevelEnabled('debug')) {
      const url = new URL(c.req.url);
      logger.debug(
        { method: c.req.method, path: redactUrl(url.pathname + url.search), status: c.res.status, ms: Math.round(performance.now() - started), ip },
        'request',
      );
    }
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: config.maxBodySize,
      onError: (c) => problem(c, 413, 'payload_too_large', `request bodies are limited to ${config.maxBodySize} bytes`),
    }),
  );

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => {
    const servers = options.readiness.check();
    const ready = Object.values(servers).every((s) => s === 'ready');
    return c.json({ status: ready ? 'ready' : 'not ready', servers }, ready ? 200 : 503);
  });

  const call = async (c: Context<Env>, server: string | undefined, kind: 'mcp' | 'sse' | 'message', pathToken?: string): Promise<Response> => {
    if (server !== undefined && !mcp.hasServer(server)) return problem(c, 404, 'not_found', `unknown server "${server}"`);
    const req = c.req.raw;
    const decision = pathToken !== undefined
      ? await authenticator.authenticate(withBearer(req, pathToken, config.auth.tokenInUrl), server)
      : await authenticator.authenticate(req, server);
    if (!decision.ok) {
      const challenge = `Bearer realm="gatehouse", error="${decision.error}", error_description="${decision.description}"`;
      return problem(c, decision.status, decision.error, decision.description, { 'www-authenticate': challenge });
    }
    const mcpCall: McpCall = {
      request: req,
      server,
      allowedServers: decision.allowedServers,
      principal: decision.principal,
      baseUrl: resolveBaseUrl(config.publicUrl, req.url, req.headers, c.get('trustedHop')),
      routePrefix: `${server === undefined ? '' : `/${server}`}${pathToken !== undefined ? `/${pathToken}` : ''}`,
    };
    if (kind === 'mcp') return mcp.handleStreamable(mcpCall);
    if (kind === 'sse') return mcp.handleSseOpen(mcpCall);
    return mcp.handleSseMessage(mcpCall);
  };

  app.all('/mcp', (c) => call(c, undefined, 'mcp'));
  app.get('/sse', (c) => call(c, undefined, 'sse'));
  app.post('/message', (c) => call(c, undefined, 'message'));
  app.post('/messages', (c) => call(c, undefined, 'message'));
  app.all('/:server/mcp', (c) => call(c, c.req.param('server'), 'mcp'));
  app.get('/:server/sse', (c) => call(c, c.req.param('server'), 'sse'));
  app.post('/:server/message', (c) => call(c, c.req.param('server'), 'message'));
  app.post('/:server/messages', (c) => call(c, c.req.param('server'), 'message'));
  if (config.auth.tokenInUrl) {
    // TBXark mcp-proxy's `name/{token}` routes, for clients that cannot send headers.
    app.all('/:server/:token/mcp', (c) => call(c, c.req.param('server'), 'mcp', c.req.param('token')));
    app.get('/:server/:token/sse', (c) => call(c, c.req.param('server'), 'sse', c.req.param('token')));
    app.post('/:server/:token/message', (c) => call(c, c.req.param('server'), 'message', c.req.param('token')));
  }
  return app;
}

/** The same request with a path token presented as a bearer token (header wins if present). */
function withBearer(req: Request, token: string, allowed: boolean): Request {
  if (!allowed || presentedToken(req, false)) return req;
  const headers = new Headers(req.headers);
  headers.set('authorization', `Bearer ${token}`);
  return new Request(req, { headers });
}

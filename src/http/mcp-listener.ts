import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from '../config/index.js';
import type { InboundRequest, McpCall, Reply } from '../gateway/index.js';
import type { Counter, Logger } from '../observability/index.js';
import { redactUrl } from '../observability/index.js';
import { resolveBaseUrl } from './client-ip.js';
import { headerView, readBody } from './node-request.js';
import { CORS_ROUTE, problemBody, type Edge } from './edge.js';
import { queryToken as urlToken, type Authenticator } from './static-tokens.js';

/** What the HTTP edge needs from the MCP gateway (implemented by gateway/). */
export interface McpEndpoints {
  hasServer(name: string): boolean;
  handleStreamable(call: McpCall): Promise<Reply>;
  handleSseOpen(call: McpCall): Reply;
  handleSseMessage(call: McpCall): Promise<Reply>;
}

type Kind = 'mcp' | 'sse' | 'message';
interface McpRoute {
  readonly server: string | undefined;
  readonly kind: Kind;
  readonly pathToken: string | undefined;
}

// A Map, not an object literal: `/__proto__` or `/constructor` must not look like a route.
const KINDS: ReadonlyMap<string, Kind> = new Map([
  ['mcp', 'mcp'],
  ['sse', 'sse'],
  ['message', 'message'],
  ['messages', 'message'],
]);

/** `/mcp`, `/{server}/mcp`, `/{server}/{token}/mcp` (with tokenInUrl), and the SSE pair. */
export function matchMcpRoute(pathname: string, tokenInUrl: boolean): McpRoute | undefined {
  const parts = pathname.split('/');
  // parts[0] is '' for a leading slash.
  if (parts[0] !== '' || parts.length < 2 || parts.length > 4) return undefined;
  const kind = KINDS.get(parts[parts.length - 1]!);
  if (!kind) return undefined;
  const segments = parts.slice(1, -1).map((p) => safeDecode(p));
  if (segments.some((s) => s === undefined || s === '')) return undefined;
  if (segments.length === 0) return { server: undefined, kind, pathToken: undefined };
  if (segments.length === 1) return { server: segments[0], kind, pathToken: undefined };
  return tokenInUrl ? { server: segments[0], kind, pathToken: segments[1] } : undefined;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export interface McpListenerOptions {
  readonly config: ResolvedConfig;
  readonly mcp: McpEndpoints;
  readonly authenticator: Authenticator;
  readonly edge: Edge;
  readonly logger: Logger;
  /** Counts answers by route kind and status (`/metrics`). */
  readonly requests?: Counter;
  /**
   * The WWW-Authenticate value for a protected path (the authorization server's, with an
   * absolute `resource_metadata`); `error` only when a credential was presented.
   */
  readonly challenge?: (resourcePath: string, error?: { error: string; description?: string; scope?: string }) => string;
}

/**
 * The MCP routes, served straight on Node's request and response: this is the hot path, so
 * it builds no web Request or Response for the common JSON answer. Returns false for any
 * other path (the hono app serves those).
 */
export function createMcpListener(options: McpListenerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { config, mcp, authenticator, edge, logger } = options;
  const limit = config.maxBodySize;

  const handle = async (req: IncomingMessage, res: ServerResponse, route: McpRoute): Promise<void> => {
    const started = performance.now();
    const headers = headerView(req);
    const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
    let reply: Reply;
    try {
      reply = await serve(req, res, route, headers, url);
    } catch (err) {
      logger.error({ err: (err as Error).message, path: loggedPath(req.url, route) }, 'unhandled error');
      reply = problem(500, 'server_error', 'internal error');
    }
    try {
      // CORS (cors.ts): a page of an allowed origin may read every answer, 401s included.
      const cors = edge.cors.answerHeaders(headers.get('origin'));
      if (cors) reply = { ...reply, headers: { ...cors, ...reply.headers } }; // a preflight's own Vary stays
      writeReply(res, reply);
      const status = reply.status;
      options.requests?.incCached(`${route.kind}${status}`, () => ({ route: route.kind, status: String(status) }));
      if (logger.isLevelEnabled('debug')) {
        logger.debug(
          { method: req.method, path: loggedPath(req.url, route), status: reply.status, ms: Math.round(performance.now() - started) },
          'request',
        );
      }
    } catch (err) {
      // Nothing after the answer may take the process down (this runs outside any await chain).
      logger.error({ err: (err as Error).message, path: loggedPath(req.url, route) }, 'failed after answering a request');
    }
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, route: McpRoute, headers: InboundRequest['headers'], url: string): Promise<Reply> => {
    const admitted = edge(req.socket.remoteAddress, headers, CORS_ROUTE);
    if (!admitted.ok) return problem(admitted.status, admitted.error, admitted.description);
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return edge.cors.preflight(headers, METHODS[route.kind]);
    if ((route.kind === 'sse' && method !== 'GET') || (route.kind === 'message' && method !== 'POST')) {
      return problem(405, 'method_not_allowed', `${method} is not allowed here`, { allow: route.kind === 'sse' ? 'GET' : 'POST' });
    }
    // `/mcp/sse` and `/mcp/message` (seed 000's paths) are the aggregate's legacy SSE pair,
    // unless a server is named mcp; the endpoint event then names /mcp/message too.
    const alias = route.server === 'mcp' && route.kind !== 'mcp' && !mcp.hasServer('mcp');
    if (alias) route = { ...route, server: undefined };
    if (route.server !== undefined && !mcp.hasServer(route.server)) {
      return problem(404, 'not_found', `unknown server "${route.server}"`);
    }
    // Who is asking is decided from the headers and the URL alone, before the body is read: an
    // unauthenticated client cannot hold memory or a connection by sending a slow or large body.
    const credentials =
      route.pathToken !== undefined && !headers.get('authorization')
        ? { url, headers: { get: (n: string) => (n === 'authorization' ? `Bearer ${route.pathToken}` : headers.get(n)) } }
        : { url, headers };
    const answered = authenticator.authenticate(credentials, route.server);
    const decision = answered instanceof Promise ? await answered : answered;
    if (!decision.ok) {
      if (!req.complete) res.setHeader('connection', 'close'); // an unread body is not waited for
      const presented = headers.get('authorization') !== null || route.pathToken !== undefined || url.includes('token=');
      const err = presented
        ? { error: decision.error, description: decision.description, ...(decision.status === 403 ? { scope: 'mcp' } : {}) }
        : undefined;
      // The alias names its own resource (/mcp/sse, config's protectedResourceList): RFC 9728
      // §3.3 has the client refuse metadata whose `resource` is not the URL it connected to.
      const prefix = alias ? '/mcp' : route.server === undefined ? '' : `/${route.server}`;
      const challenge = options.challenge
        ? options.challenge(`${prefix}/${route.kind === 'mcp' ? 'mcp' : 'sse'}`, err)
        : `Bearer realm="gatehouse", error="${decision.error}", error_description="${decision.description}"`;
      return problem(decision.status, decision.error, decision.description, { 'www-authenticate': challenge });
    }
    let body = '';
    if (method === 'POST') {
      const read = await readBody(req, limit);
      if (read === undefined) {
        res.setHeader('connection', 'close');
        return problem(413, 'payload_too_large', `request bodies are limited to ${limit} bytes`);
      }
      body = read;
    }
    const request: InboundRequest = { method, url, headers, body };
    const call = new ListenerCall(
      request,
      route.server,
      decision.allowedServers,
      decision.principal,
      `${alias ? '/mcp' : route.server === undefined ? '' : `/${route.server}`}${route.pathToken !== undefined ? `/${route.pathToken}` : ''}`,
      route.kind === 'sse' ? queryToken(config.auth.tokenInUrl, route, headers, url) : undefined,
      config.publicUrl,
      admitted.trustedHop,
    );
    if (route.kind === 'mcp') return mcp.handleStreamable(call);
    if (route.kind === 'sse') return mcp.handleSseOpen(call);
    return mcp.handleSseMessage(call);
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = matchMcpRoute(path, config.auth.tokenInUrl);
    if (!route) return false;
    void handle(req, res, route);
    return true;
  };
}

/**
 * One call as the gateway reads it. A class, not an object literal with a `get baseUrl()`:
 * V8 builds such a literal on a slow path, and the getter's closure (holding the request, its
 * headers and the response) then outlived the call by a whole scavenge interval, so every
 * request's objects were promoted to the old generation (decision 0005, session 6). The
 * getter here lives on the prototype.
 */
class ListenerCall implements McpCall {
  constructor(
    readonly request: InboundRequest,
    readonly server: string | undefined,
    readonly allowedServers: readonly string[],
    readonly principal: string,
    readonly routePrefix: string,
    readonly queryToken: string | undefined,
    private readonly publicUrl: string | undefined,
    private readonly trustedHop: boolean,
  ) {}

  /** Only legacy SSE's endpoint event needs it: worked out when read, not on every call. */
  get baseUrl(): string {
    return resolveBaseUrl(this.publicUrl, this.request.url, this.request.headers, this.trustedHop);
  }
}

/**
 * The request's path for the log: `?token=` redacted (redactUrl, by the key as decoded), and the
 * path token of `/{server}/{token}/mcp` (auth.tokenInUrl) too; a path no route takes is app.ts's
 * (redactPathToken). DESIGN.md: no credential reaches the logs.
 */
function loggedPath(url: string | undefined, route: McpRoute): string {
  const path = redactUrl(url ?? '');
  if (route.pathToken === undefined) return path;
  const parts = path.split('?', 1)[0]!.split('/');
  // ['', server, token, kind]: the token is the segment before the route kind.
  if (parts.length === 4) parts[2] = '[REDACTED]';
  return parts.join('/') + path.slice(path.split('?', 1)[0]!.length);
}

/** What each route kind takes, for OPTIONS (CORS preflights). */
const METHODS: Readonly<Record<Kind, string>> = { mcp: 'GET, POST, DELETE, OPTIONS', sse: 'GET, OPTIONS', message: 'POST, OPTIONS' };

/** The `?token=` that authenticated a request, when it was that and not a header or the path. */
function queryToken(tokenInUrl: boolean, route: McpRoute, headers: InboundRequest['headers'], url: string): string | undefined {
  if (!tokenInUrl || route.pathToken !== undefined || headers.get('authorization') !== null) return undefined;
  return urlToken(url);
}

function problem(status: number, error: string, description: string, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: problemBody(error, description) };
}



const SECURITY_HEADERS: Readonly<Record<string, string>> = { 'x-content-type-options': 'nosniff' };

/** Writes a Reply: strings at once, streams chunk by chunk until either side ends. */
export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  if ('stream' in reply) {
    res.writeHead(reply.status, { ...SECURITY_HEADERS, ...reply.headers });
    res.flushHeaders();
    const reader = reply.stream.getReader();
    res.on('close', () => void reader.cancel().catch(() => undefined));
    const pump = (): void => {
      reader.read().then(
        ({ value, done }) => {
          if (done) {
            res.end();
            return;
          }
          if (!res.write(value)) res.once('drain', pump);
          else pump();
        },
        () => res.end(),
      );
    };
    pump();
    return;
  }
  const body = reply.body;
  // A flat [name, value, ...] list: node takes it as it is, without enumerating an object's keys.
  const headers: string[] = ['x-content-type-options', 'nosniff'];
  const own = reply.headers;
  for (const name in own) {
    if (name !== 'x-content-type-options' && name !== 'content-length') headers.push(name, own[name]!);
  }
  headers.push('content-length', body === null ? '0' : String(Buffer.byteLength(body)));
  res.writeHead(reply.status, headers);
  res.end(body ?? undefined);
}

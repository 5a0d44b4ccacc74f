import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from '../config/index.js';
import type { Reply } from '../gateway/index.js';
import { CORS_ROUTE, headerView, readBody, resolveBaseUrl, writeReply, type Authenticator, type Edge } from '../http/index.js';
import type { Counter, Logger } from '../observability/index.js';
import { redactUrl } from '../observability/index.js';
import { VERSION } from '../version.js';
import type { ArgumentValidator } from './arguments.js';
import { DocumentSource } from './document-handler.js';
import { handleToolCall } from './rest-handler.js';
import { problem, PROBLEM_TYPES, type RestAnswer } from './results.js';
import { matchOpenApiRoute, resourcePathOf, type OpenApiRoute } from './routes.js';
import type { ToolCatalog } from './tool-catalog.js';

// The OpenAPI bridge on raw Node req/res, beside the MCP listener: the same edge checks
// (IP allowlist, DNS-rebinding guard), the same authenticators, its own routes.

export interface OpenApiListenerOptions {
  readonly config: Pick<ResolvedConfig, 'auth' | 'maxBodySize' | 'publicUrl' | 'openapi' | 'servers'>;
  readonly catalog: ToolCatalog;
  readonly validator: ArgumentValidator;
  /** Decides REST calls: static tokens, and OAuth tokens whose audience is the REST resource. */
  readonly authenticator: Authenticator;
  readonly edge: Edge;
  readonly logger: Logger;
  /** The authorization server's issuer (auth.mode oauth): its endpoints go in securitySchemes. */
  readonly issuer?: string | undefined;
  /** The WWW-Authenticate value for a protected path (the authorization server's). */
  readonly challenge?: ((resourcePath: string, error?: { error: string; description?: string; scope?: string }) => string) | undefined;
  readonly requests?: Counter | undefined;
}

type HeaderView = { get(name: string): string | null };

export function createOpenApiListener(options: OpenApiListenerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  return openApiListener(options).listener;
}

/** The listener, and its document source (tests count the builds). */
export function openApiListener(options: OpenApiListenerOptions): { listener: (req: IncomingMessage, res: ServerResponse) => boolean; documents: DocumentSource } {
  const { config, catalog, authenticator, edge, logger } = options;
  const allServers = config.servers.map((s) => s.name);
  const known = new Set(allServers);
  // One server configured: bare tool names on the aggregate routes are its (rest-handler.ts targetOf).
  const soleServer = allServers.length === 1 ? allServers[0] : undefined;
  const settings = {
    title: config.openapi.title,
    version: VERSION,
    bearer: config.auth.mode !== 'none',
    oauth: options.issuer
      ? { authorizationUrl: `${options.issuer}/oauth/authorize`, tokenUrl: `${options.issuer}/oauth/token`, scope: 'mcp' }
      : undefined,
  };
  const documents = new DocumentSource(catalog, settings, logger);
  // `auth.mode: none` with servers that have tokens of their own: a document showing one of
  // them says that its calls take a bearer token (the others' documents stay without).
  const guarded = new Set(config.auth.mode === 'none' ? config.servers.filter((s) => (s.tokens?.length ?? 0) > 0).map((s) => s.name) : []);
  const guardedDocuments = guarded.size ? new DocumentSource(catalog, { ...settings, bearer: true }, logger) : undefined;

  const serve = async (req: IncomingMessage, res: ServerResponse, route: OpenApiRoute): Promise<Reply> => {
    const headers: HeaderView = headerView(req);
    const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
    const admitted = edge(req.socket.remoteAddress, headers, CORS_ROUTE);
    if (!admitted.ok) {
      req.resume();
      return toReply(problem(admitted.status, PROBLEM_TYPES.refused, 'Refused', admitted.description, { error: admitted.error }));
    }
    if (req.method === 'OPTIONS') {
      req.resume();
      return edge.cors.preflight(headers, route.kind === 'document' ? 'GET, HEAD, OPTIONS' : 'POST, OPTIONS');
    }
    if (route.server !== undefined && !known.has(route.server)) {
      req.resume();
      return toReply(problem(404, PROBLEM_TYPES.unknownTool, 'No such server', `there is no server "${route.server}" here`));
    }
    if (route.kind === 'document') {
      req.resume();
      return serveDocument(req.method ?? 'GET', route.server, url, headers, admitted.trustedHop);
    }
    return serveCall(req, res, route, url, headers);
  };

  const serveDocument = async (method: string, server: string | undefined, url: string, headers: HeaderView, trustedHop: boolean): Promise<Reply> => {
    if (method !== 'GET' && method !== 'HEAD') return toReply(problem(405, PROBLEM_TYPES.badRequest, 'Method not allowed', `${method} is not allowed here`), { allow: 'GET, HEAD' });
    // The document is discovery metadata, like RFC 9728's: ChatGPT imports it by URL before
    // any sign-in, so it needs no token except where a static token picks the servers: `tokens`
    // mode, and `none` with servers that have tokens of their own (open ones need none).
    let servers = server === undefined ? allServers : [server];
    if (config.auth.mode !== 'oauth') {
      const decision = await authenticator.authenticate({ url, headers }, server);
      if (!decision.ok) return unauthorized(decision, server, headers);
      servers = servers.filter((s) => decision.allowedServers.includes(s));
    }
    const serverUrl = resolveBaseUrl(config.publicUrl, url, headers, trustedHop);
    const source = guardedDocuments && servers.some((s) => guarded.has(s)) ? guardedDocuments : documents;
    const doc = await source.json({ server, servers, serverUrl });
    // Readable from browser tools (Swagger UI and the like) as RFC 9728 metadata is: no credentials involved.
    const cors = { 'access-control-allow-origin': '*' };
    return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...cors }, body: method === 'HEAD' ? null : doc };
  };

  const serveCall = async (req: IncomingMessage, res: ServerResponse, route: Extract<OpenApiRoute, { kind: 'call' }>, url: string, headers: HeaderView): Promise<Reply> => {
    const method = req.method ?? 'GET';
    if (method !== 'POST') {
      req.resume();
      return toReply(problem(405, PROBLEM_TYPES.badRequest, 'Method not allowed', `${method} is not allowed here; call tools with POST`), { allow: 'POST' });
    }
    // A JSON body only: a browser cannot send that cross-site without a CORS preflight,
    // which this API grants only to allowed origins (http/cors.ts). A form, text/plain or a
    // body with no Content-Type at all (fetch with mode: 'no-cors' and a byte body) is
    // refused before anything runs. A call
    // with no Content-Type passes only without a body and from a caller that sent no Origin
    // (curl, server-side clients): browsers send Origin on every cross-site POST, `null` too.
    const contentType = headers.get('content-type');
    const bare = contentType === null || contentType.trim() === '';
    if (bare ? headers.get('origin') !== null : !isJson(contentType)) {
      req.resume();
      return unsupportedMediaType();
    }
    const decision = await authenticator.authenticate({ url, headers }, route.server);
    if (!decision.ok) {
      req.resume();
      return unauthorized(decision, route.server, headers);
    }
    const body = await readBody(req, config.maxBodySize);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      return toReply(problem(413, PROBLEM_TYPES.badRequest, 'Body too large', `request bodies are limited to ${config.maxBodySize} bytes`));
    }
    if (bare && body !== '') return unsupportedMediaType();
    const answer = await handleToolCall({ server: route.server, tool: route.tool, allowedServers: decision.allowedServers, principal: decision.principal, body, soleServer }, options);
    return toReply(answer);
  };

  const unauthorized = (
    decision: { status: number; error: string; description: string },
    server: string | undefined,
    headers: HeaderView,
  ): Reply => {
    const presented = headers.get('authorization') !== null;
    const err = presented ? { error: decision.error, description: decision.description, ...(decision.status === 403 ? { scope: 'mcp' } : {}) } : undefined;
    // RFC 6750 §3.1: a request without credentials gets no error code in the challenge.
    const challenge = options.challenge
      ? options.challenge(resourcePathOf(server), err)
      : ['Bearer realm="gatehouse"', ...(err ? [`error=${quoted(err.error)}`, `error_description=${quoted(err.description)}`] : [])].join(', ');
    return toReply(problem(decision.status, PROBLEM_TYPES.unauthorized, 'Unauthorized', decision.description, { error: decision.error }), {
      'www-authenticate': challenge,
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, route: OpenApiRoute): Promise<void> => {
    const started = performance.now();
    let reply: Reply;
    try {
      reply = await serve(req, res, route);
    } catch (err) {
      logger.error({ err: (err as Error).message, path: redactUrl(req.url ?? '') }, 'unhandled error in the REST bridge');
      reply = toReply(problem(500, PROBLEM_TYPES.upstreamFailure, 'Internal error', 'internal error'));
    }
    // CORS (http/cors.ts): a page of an allowed origin may read every answer, 401s included.
    const cors = edge.cors.answerHeaders(req.headers.origin ?? null);
    if (cors) reply = { ...reply, headers: { ...cors, ...reply.headers } }; // a preflight's own Vary stays
    writeReply(res, reply);
    options.requests?.inc({ route: route.kind === 'document' ? 'openapi' : 'rest', status: String(reply.status) });
    // The same line as the MCP routes' and the others' at log.level debug (http/mcp-listener.ts).
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ method: req.method, path: redactUrl(req.url ?? ''), status: reply.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  };

  const listener = (req: IncomingMessage, res: ServerResponse): boolean => {
    const route = matchOpenApiRoute((req.url ?? '/').split('?', 1)[0]!);
    if (!route) return false;
    void handle(req, res, route);
    return true;
  };
  return { listener, documents };
}

function unsupportedMediaType(): Reply {
  return toReply(problem(415, PROBLEM_TYPES.badRequest, 'Unsupported media type', 'send the arguments as application/json (Content-Type: application/json)'));
}

/**
 * An auth-param value as a quoted-string. RFC 6750 §3 allows only %x20-21 / %x23-5B / %x5D-7E
 * in error and error_description: a quote or backslash becomes an apostrophe or slash, any
 * other character outside that set a question mark.
 */
export function quoted(value: string): string {
  return `"${value.replace(/"/g, "'").replace(/\\/g, '/').replace(/[^\x20-\x7e]/g, '?')}"`;
}

function toReply(answer: RestAnswer, headers: Record<string, string> = {}): Reply {
  return {
    status: answer.status,
    headers: { 'content-type': answer.problem ? 'application/problem+json' : 'application/json', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(answer.body),
  };
}

/** application/json, or any +json type (RFC 6839), with or without parameters. */
function isJson(contentType: string): boolean {
  const type = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}



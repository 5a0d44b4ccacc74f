export { createHttpApp, type HttpAppOptions, type HttpEnv, type Readiness } from './app.js';
export { createEdge, type Edge } from './edge.js';
export { createMcpListener, matchMcpRoute, writeReply, type McpEndpoints, type McpListenerOptions } from './mcp-listener.js';
export { createStaticTokenAuthenticator, hasStaticTokens, presentedToken, type AccessDecision, type Authenticator, type Credentials } from './static-tokens.js';
export { resolveBaseUrl, resolveClientIp, type HeaderSource } from './client-ip.js';
export { IpSet, isLoopback } from './ip.js';
export { startHttpServer, type RunningServer } from './server.js';
export { guardAuthRoutes } from './auth-routes.js';
export { headerView, readBody } from './node-request.js';

export { createHttpApp, type HttpAppOptions, type McpEndpoints, type Readiness } from './app.js';
export { createStaticTokenAuthenticator, presentedToken, type AccessDecision, type Authenticator } from './static-tokens.js';
export { resolveBaseUrl, resolveClientIp } from './client-ip.js';
export { IpSet, isLoopback } from './ip.js';
export { startHttpServer, type RunningServer } from './server.js';

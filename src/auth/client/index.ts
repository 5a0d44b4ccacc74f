// Outbound OAuth: the client side of MCP authorization, for `gatehouse connect|login|logout`
// and the gateway's own remote upstreams (`servers.NAME.oauth`).
export { assertBrowsableUrl, openBrowser, splitCommand, type BrowserOptions } from './browser.js';
export { AuthorizationResponseError, CALLBACK_PATH, CallbackServer, type AuthorizationResponse } from './callback-server.js';
export { keptBinding, type ClientBinding } from './client-binding.js';
export { openKeychainKeySource, type TokenKeySource } from './keychain.js';
export { MachineSession, type MachineSessionOptions } from './machine-session.js';
export { OAuthSession, type OAuthSessionOptions } from './oauth-session.js';
export { PkceNotSupportedError } from './pkce-required.js';
export { parsePrivateKey, type ClientPrivateKey } from './private-key.js';
export { staticDiscoveryState, type StaticEndpoints } from './static-discovery.js';
export { AUTH_STYLES, failedOAuthRequest, labelledFetch, type AuthStyle, type FailedOAuthRequest } from './token-request.js';
export {
  createFileTokenStore,
  createMemoryTokenStore,
  defaultConfigDir,
  openTokenStore,
  openTokenStoreForReading,
  type FileTokenStoreOptions,
  type IssuerRecord,
  type ServerRecord,
  type TokenStore,
} from './token-store.js';
export { createFileTracer, errorName, noTracer, round, traceableUrl, tracedFetch, traceStep, type Tracer, type TraceSpan } from './trace.js';

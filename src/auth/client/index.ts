// Outbound OAuth: the client side of MCP authorization, for `gatehouse connect|login|logout`
// (and, later, the gateway's own remote upstreams).
export { assertBrowsableUrl, openBrowser, splitCommand, type BrowserOptions } from './browser.js';
export { AuthorizationResponseError, CALLBACK_PATH, CallbackServer, type AuthorizationResponse } from './callback-server.js';
export { OAuthSession, PkceNotSupportedError, type OAuthSessionOptions } from './oauth-session.js';
export {
  createFileTokenStore,
  createMemoryTokenStore,
  defaultConfigDir,
  type FileTokenStoreOptions,
  type IssuerRecord,
  type ServerRecord,
  type TokenStore,
} from './token-store.js';

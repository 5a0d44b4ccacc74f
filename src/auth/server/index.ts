export { issuerFor } from '../../config/index.js';
export {
  createAuthorizationServer,
  type AuthorizationServer,
  type AuthorizationServerOptions,
} from './authorization-server.js';
export { createBearerAuthenticator, type BearerAuthenticator, type BearerOptions } from './bearer.js';
export { generateServerKeys, type ServerKeys } from './keys.js';
export { createMemoryAdapter, type AdapterFactory } from './memory-adapter.js';
export { createRedirectPolicy, isLoopbackHttp, isPrivateUseScheme, REDIRECT_PRESETS, type RedirectPolicy, type RedirectPreset } from './redirect-policy.js';
export {
  bearerChallenge,
  protectedResourceMetadata,
  resolveResources,
  RESOURCE_SCOPE,
  type ChallengeError,
  type ProtectedResource,
  type ResolvedResource,
} from './resources.js';
export { configUserDirectory, storeUserDirectory, type StoredUsers, type UserDirectory } from './users.js';
export { loadOrCreateKeys } from './key-file.js';
export { withRefreshGrace } from './refresh-grace.js';

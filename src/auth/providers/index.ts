// Federated identity: GitHub (and GitHub Enterprise), Google, any OpenID Connect provider.
export { decideAllowed, hasAnyRule, type AllowDecision } from './allow-policy.js';
export { providerWarnings } from './config-warnings.js';
export { failurePage, type FailurePage } from './failure-pages.js';
export { createFederation, type FederatedFailure, type FederatedSignIn, type Federation, type FederationOptions } from './federation.js';
export { federatedAccountId, parseFederatedAccountId } from './identity.js';
export { profileFromClaims } from './oidc.js';
export type { ExpiringRecords } from './pending-logins.js';
export { resolveProvider, resolveProviders } from './resolve.js';
export {
  FederationError,
  type AllowRules,
  type FederationFailure,
  type ProviderType,
  type ResolvedProvider,
  type UpstreamLogin,
  type UpstreamProfile,
} from './types.js';

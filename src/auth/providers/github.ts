// GitHub (and GitHub Enterprise Server) sign-in: plain OAuth 2 with PKCE at
// {web}/login/oauth/authorize and {web}/login/oauth/access_token; there is no ID token, so who
// signed in comes from the REST API (github-api.ts) with the access token, which is then dropped.
import * as oidc from 'openid-client';
import { fetchGitHubProfile } from './github-api.js';
import { isLoopbackHttp } from './is-loopback.js';
import { toFederationError } from './upstream-errors.js';
import type { ResolvedProvider, UpstreamAuthorizationRequest, UpstreamChecks, UpstreamLogin, UpstreamProfile } from './types.js';

const TIMEOUT_SECONDS = 15;

export function createGitHubLogin(provider: ResolvedProvider): UpstreamLogin {
  const config = new oidc.Configuration(
    {
      issuer: provider.issuer,
      authorization_endpoint: `${provider.issuer}/login/oauth/authorize`,
      token_endpoint: `${provider.issuer}/login/oauth/access_token`,
    },
    provider.clientId,
    // GitHub takes the secret in the body (client_secret_post).
    provider.clientSecret,
  );
  config.timeout = TIMEOUT_SECONDS;
  if (isLoopbackHttp(provider.issuer)) oidc.allowInsecureRequests(config);
  const apiUrl = provider.apiUrl ?? `${provider.issuer}/api/v3`;

  return {
    provider,
    authorizationUrl(request: UpstreamAuthorizationRequest): Promise<URL> {
      return Promise.resolve(
        oidc.buildAuthorizationUrl(config, {
          redirect_uri: request.redirectUri,
          scope: provider.scope,
          state: request.state,
          code_challenge: request.codeChallenge,
          code_challenge_method: 'S256',
          // Always show GitHub's account chooser: the person may hold more than one account.
          prompt: 'select_account',
        }),
      );
    },
    async identify(callbackUrl: URL, checks: UpstreamChecks): Promise<UpstreamProfile> {
      let accessToken: string;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, callbackUrl, { expectedState: checks.state, pkceCodeVerifier: checks.codeVerifier });
        accessToken = tokens.access_token;
      } catch (err) {
        throw toFederationError(err, 'GitHub token exchange');
      }
      return fetchGitHubProfile({
        apiUrl,
        accessToken,
        emails: (provider.allow?.emails?.length ?? 0) > 0 || (provider.allow?.domains?.length ?? 0) > 0,
        orgs: (provider.allow?.orgs?.length ?? 0) > 0,
        teams: (provider.allow?.teams?.length ?? 0) > 0,
      });
    },
  };
}

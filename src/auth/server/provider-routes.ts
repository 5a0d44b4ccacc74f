// Where the provider's endpoints live, and which spellings of them reach it.

export const ROUTES = {
  authorization: '/oauth/authorize',
  token: '/oauth/token',
  registration: '/oauth/register',
  revocation: '/oauth/revoke',
  introspection: '/oauth/introspect',
  jwks: '/oauth/jwks',
  userinfo: '/oauth/userinfo',
  end_session: '/oauth/logout',
  pushed_authorization_request: '/oauth/par',
  device_authorization: '/oauth/device/auth',
  code_verification: '/oauth/device',
  backchannel_authentication: '/oauth/backchannel',
  challenge: '/oauth/challenge',
  credential: '/oauth/credential',
} as const;

export const PRM_PATH = '/.well-known/oauth-protected-resource';
export const OIDC_DISCOVERY = '/.well-known/openid-configuration';

/**
 * Whether a path is one of the provider's routes here, spelled exactly. oidc-provider's router
 * ignores letter case and drops one trailing slash (lib/helpers/router.js), while the guards in
 * front of it (`registration.allowedIps`, the rate limits: http/auth-routes.ts) and every other
 * check compare paths as written; so `/oauth/reGister` or `/oauth/token/` would reach the
 * handlers past them. Every other spelling is answered 404 before the provider sees it.
 */
export function providerPaths(registration: boolean): (path: string) => boolean {
  const exact = new Set<string>([ROUTES.authorization, ROUTES.token, ROUTES.revocation, ROUTES.introspection, ROUTES.jwks, OIDC_DISCOVERY]);
  if (registration) exact.add(ROUTES.registration);
  // The resume route after login and consent (`/oauth/authorize/:uid`), and RFC 7592 client reads (`/oauth/register/:id`).
  const resume = new RegExp(`^${ROUTES.authorization}/[A-Za-z0-9_-]+$`);
  const clientRead = new RegExp(`^${ROUTES.registration}/[^/]+$`);
  return (path) => exact.has(path) || resume.test(path) || (registration && clientRead.test(path));
}

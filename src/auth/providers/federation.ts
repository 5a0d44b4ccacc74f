// The federated sign-in flow, apart from HTTP and from oidc-provider: `begin` sends a pending
// authorization request (its `uid`) to an upstream provider; `complete` checks the callback
// (state, browser binding, then the provider's own checks) and decides who may come in.
// The server room (auth/server/federated-login.ts) renders the results and finishes the interaction.
import * as oidc from 'openid-client';
import { decideAllowed } from './allow-policy.js';
import { bindingMatches, clearBindingCookie, newBindingCookie } from './browser-binding.js';
import { createGitHubLogin } from './github.js';
import { federatedAccountId, parseFederatedAccountId } from './identity.js';
import { createIssuerBindings } from './issuer-binding.js';
import { createOidcLogin } from './oidc.js';
import { createPendingLogins, type ExpiringRecords } from './pending-logins.js';
import { FederationError, type FederationFailure, type ResolvedProvider, type UpstreamLogin } from './types.js';

export interface FederationOptions {
  readonly providers: readonly ResolvedProvider[];
  /** Where pending sign-ins wait for their callback (an oidc-provider adapter). */
  readonly records: ExpiringRecords;
  /** Our issuer; callbacks are `{issuer}{provider.callbackPath}`. */
  readonly issuer: string;
  /** How long a person may take at the provider (default 600 s). */
  readonly pendingSeconds?: number | undefined;
  /** Replaces how a provider type is reached (tests of the flow alone). */
  readonly loginFor?: ((provider: ResolvedProvider) => UpstreamLogin) | undefined;
}

export interface FederatedSignIn {
  readonly ok: true;
  readonly uid: string;
  /** `{provider id}|{subject}`: the account id in Gatehouse. */
  readonly accountId: string;
  readonly displayName: string;
  readonly providerId: string;
  /** The allow rule that admitted the person (for the log). */
  readonly rule: string;
}

export interface FederatedFailure {
  readonly ok: false;
  readonly failure: FederationFailure;
  /** For the log only. */
  readonly detail: string;
  /** The interaction, when the callback was proven to belong to this browser's sign-in. */
  readonly uid: string | undefined;
}

export interface Federation {
  /** The providers as the login page lists them. */
  readonly buttons: readonly { readonly id: string; readonly name: string }[];
  /** Starts a sign-in at `providerId` for interaction `uid`: where to send the browser and the cookie to set. Throws FederationError. */
  begin(providerId: string, uid: string): Promise<{ location: string; setCookie: string }>;
  /** The provider whose callback path `path` is (exactly), if any. */
  providerAt(path: string): string | undefined;
  /**
   * Checks a callback (`pathAndQuery` as requested) and decides; never throws for the provider's faults.
   * The path must be the provider's callback path: the default one of a provider given another is not its.
   */
  complete(providerId: string, pathAndQuery: string, cookieHeader: string | undefined): Promise<{ result: FederatedSignIn | FederatedFailure; setCookie: string | undefined }>;
  /** Whether an account id is a federated identity of a configured provider. */
  knows(accountId: string): boolean;
  /**
   * Records each provider's issuer on first use and says which ids now point at another issuer
   * than the one they were used with (their sign-ins are refused): one message each, for the startup log.
   */
  checkIssuers(): Promise<string[]>;
}

export function createFederation(options: FederationOptions): Federation {
  const issuer = options.issuer.replace(/\/+$/, '');
  const secure = issuer.startsWith('https:');
  // The browser comes back to `{issuer}{callbackPath}`: under the issuer's path, when it has one.
  const cookiePath = (callbackPath: string): string => `${new URL(issuer).pathname.replace(/\/+$/, '')}${callbackPath}`;
  const pendingSeconds = options.pendingSeconds ?? 600;
  const pending = createPendingLogins(options.records, pendingSeconds);
  const issuers = createIssuerBindings(options.records);
  const loginFor = options.loginFor ?? ((p: ResolvedProvider) => (p.type === 'github' ? createGitHubLogin(p) : createOidcLogin(p)));
  const logins = new Map(options.providers.map((p) => [p.id, loginFor(p)]));
  const byCallback = new Map(options.providers.map((p) => [p.callbackPath, p.id]));
  const fail = (failure: FederationFailure, detail: string, uid?: string): FederatedFailure => ({ ok: false, failure, detail, uid });

  return {
    buttons: options.providers.map((p) => ({ id: p.id, name: p.name })),

    async begin(providerId, uid) {
      const login = logins.get(providerId);
      if (!login) throw new FederationError({ kind: 'unknown_provider' }, `no provider ${providerId}`);
      const bound = await issuers.check(login.provider);
      if (!bound.ok) throw new FederationError({ kind: 'issuer_changed' }, bound.message);
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const cookie = newBindingCookie(state, cookiePath(login.provider.callbackPath), secure, pendingSeconds);
      let location: URL;
      try {
        location = await login.authorizationUrl({
          redirectUri: `${issuer}${login.provider.callbackPath}`,
          state,
          nonce,
          codeChallenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        });
      } catch (err) {
        throw err instanceof FederationError ? err : new FederationError({ kind: 'unreachable' }, (err as Error).message, { cause: err });
      }
      await pending.put(state, { providerId, uid, codeVerifier, nonce, binding: cookie.binding });
      return { location: location.href, setCookie: cookie.setCookie };
    },

    providerAt(path) {
      return byCallback.get(path);
    },

    async complete(providerId, pathAndQuery, cookieHeader) {
      const login = logins.get(providerId);
      if (!login) return { result: fail({ kind: 'unknown_provider' }, `no provider ${providerId}`), setCookie: undefined };
      const callbackUrl = new URL(pathAndQuery, `${issuer}/`);
      const { callbackPath } = login.provider;
      if (callbackUrl.pathname !== callbackPath) {
        return { result: fail({ kind: 'unknown_provider' }, `callback of ${providerId} at ${callbackUrl.pathname}, not at its callbackPath ${callbackPath}`), setCookie: undefined };
      }
      const state = callbackUrl.searchParams.get('state');
      if (!state) return { result: fail({ kind: 'bad_state' }, 'callback without state'), setCookie: undefined };
      const setCookie = clearBindingCookie(state, cookiePath(callbackPath), secure);
      const found = await pending.take(state);
      if (!found || found.providerId !== providerId) {
        return { result: fail({ kind: 'bad_state' }, found ? `state of provider ${found.providerId} at ${providerId}` : 'unknown, expired or used state'), setCookie };
      }
      if (!bindingMatches(cookieHeader, state, found.binding)) {
        // No uid: this browser did not start the sign-in and gets no way into it.
        return { result: fail({ kind: 'other_browser' }, 'callback without the browser-binding cookie of its state'), setCookie };
      }
      // Again here: another instance sharing the store may have begun it, or the config changed meanwhile.
      const bound = await issuers.check(login.provider);
      if (!bound.ok) return { result: fail({ kind: 'issuer_changed' }, bound.message, found.uid), setCookie };
      try {
        // openid-client takes redirect_uri from the URL minus its query: it must be exactly the one sent.
        const profile = await login.identify(new URL(`${issuer}${callbackPath}${callbackUrl.search}`), {
          state,
          codeVerifier: found.codeVerifier,
          nonce: found.nonce,
        });
        const accountId = federatedAccountId(providerId, profile.subject);
        const decision = decideAllowed(login.provider.type, login.provider.allow, profile);
        if (!decision.allowed) {
          return { result: fail({ kind: 'not_allowed', identity: accountId }, `${accountId} (${profile.displayName}): ${decision.reason}`, found.uid), setCookie };
        }
        return { result: { ok: true, uid: found.uid, accountId, displayName: profile.displayName, providerId, rule: decision.rule }, setCookie };
      } catch (err) {
        const e = err instanceof FederationError ? err : new FederationError({ kind: 'bad_response' }, (err as Error).message);
        return { result: fail(e.failure, e.message, found.uid), setCookie };
      }
    },

    knows(accountId) {
      const parsed = parseFederatedAccountId(accountId);
      return parsed !== undefined && logins.has(parsed.providerId);
    },

    async checkIssuers() {
      const messages: string[] = [];
      for (const p of options.providers) {
        const bound = await issuers.check(p);
        if (!bound.ok) messages.push(bound.message);
      }
      return messages;
    },
  };
}

// Federated sign-in at the HTTP edge: the provider buttons of the login page start it, the
// callback (`/oauth/callback/{provider}`, or the provider's callbackPath) finishes the
// oidc-provider interaction it belongs to.
// Every outcome other than success is an HTML page (the page layout and its headers), never a
// stack trace; the decisions themselves are made in auth/providers/.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { CALLBACK_PREFIX, type ResolvedConfig } from '../../config/index.js';
import type { Logger } from '../../observability/index.js';
import { renderErrorPage } from '../../web/index.js';
import {
  createFederation,
  failurePage,
  FederationError,
  providerWarnings,
  resolveProviders,
  type ExpiringRecords,
  type FederatedFailure,
  type Federation,
} from '../providers/index.js';
import { redirect303, sendHtml } from './http-util.js';

export interface FederatedLogin {
  readonly federation: Federation;
  /** POST /login/{uid} with `provider=ID`: off to the provider. */
  start(res: ServerResponse, uid: string, providerId: string): Promise<void>;
  /** Whether `path` is a callback's: a provider's callbackPath, or anything under /oauth/callback/ (an unknown provider gets a page). */
  handles(path: string): boolean;
  /** GET {callbackPath}: /oauth/callback/{id} unless the provider has its own. */
  callback(req: IncomingMessage, res: ServerResponse): Promise<void>;
}

/** The configured providers, or undefined when there are none. */
export function configuredFederation(config: Pick<ResolvedConfig, 'auth'>, issuer: string, records: ExpiringRecords, logger?: Logger): Federation | undefined {
  if (config.auth.providers.length === 0) return undefined;
  const providers = resolveProviders(config.auth.providers);
  for (const warning of providerWarnings(providers)) logger?.warn({ event: 'provider_admits_nobody' }, warning);
  return createFederation({ providers, records, issuer });
}

const epochSeconds = (): number => Math.floor(Date.now() / 1000);

export function createFederatedLogin(options: { provider: Provider; federation: Federation; logger: Logger }): FederatedLogin {
  const { provider, federation, logger } = options;
  const nameOf = (id: string): string | undefined => federation.buttons.find((b) => b.id === id)?.name;
  // The issuer's path: the pages are served under it (http/base-path.ts).
  const mount = new URL(provider.issuer).pathname.replace(/\/+$/, '');
  const loginPage = (uid: string): string => `${mount}/login/${encodeURIComponent(uid)}`;

  const showFailure = (res: ServerResponse, providerId: string, failed: FederatedFailure, link?: { href: string; text: string }): void => {
    const page = failurePage(failed.failure, nameOf(providerId));
    sendHtml(res, page.status, renderErrorPage({ title: page.title, message: page.message, link }));
  };

  return {
    federation,

    async start(res, uid, providerId) {
      try {
        const { location, setCookie } = await federation.begin(providerId, uid);
        res.setHeader('set-cookie', setCookie);
        redirect303(res, location);
      } catch (err) {
        const e = err instanceof FederationError ? err : new FederationError({ kind: 'unreachable' }, (err as Error).message);
        logger.warn({ event: 'federated_start_failed', provider: providerId, reason: e.failure.kind, detail: e.message }, 'federated sign-in could not start');
        showFailure(res, providerId, { ok: false, failure: e.failure, detail: e.message, uid }, { href: loginPage(uid), text: 'Back to sign-in' });
      }
    },

    handles(path) {
      return path.startsWith(CALLBACK_PREFIX) || federation.providerAt(path) !== undefined;
    },

    async callback(req, res) {
      const url = req.url ?? '/';
      const path = url.split('?', 1)[0]!;
      // Provider ids are [a-z0-9-] (config schema): anything else under the prefix names no provider,
      // nor does the default path of a provider that has its own callbackPath (complete() says so).
      const providerId = federation.providerAt(path) ?? path.slice(CALLBACK_PREFIX.length);
      // GET only: a HEAD (a link preview) must not spend the single-use state.
      if (req.method !== 'GET') {
        res.writeHead(405, { allow: 'GET', 'content-length': '0' });
        res.end();
        return;
      }
      const { result, setCookie } = await federation.complete(providerId, url, req.headers.cookie);
      if (setCookie) res.setHeader('set-cookie', setCookie);
      if (!result.ok) {
        logger.info({ event: 'federated_login_refused', provider: providerId, reason: result.failure.kind, detail: result.detail }, 'federated sign-in refused');
        if (result.failure.kind === 'not_allowed' && result.uid) {
          // Someone not admitted reads a page that says so, and the MCP client's redirect gets
          // access_denied (RFC 6749 §4.1.2.1) once they follow its link: a client left waiting
          // would keep its pending authorization and retry, and an instant redirect would leave
          // the person with no idea why the app failed.
          const returnTo = await finishInteraction(result.uid, { error: 'access_denied', error_description: 'this account may not use this server' });
          showFailure(res, providerId, result, returnTo ? { href: returnTo, text: 'Return to the app' } : undefined);
          return;
        }
        // The sign-in may be tried again (another account, another provider) while the request lives.
        showFailure(res, providerId, result, result.uid ? { href: loginPage(result.uid), text: 'Back to sign-in' } : undefined);
        return;
      }
      const returnTo = await finishInteraction(result.uid, {
        login: { accountId: result.accountId },
        // Read back by the consent page (Interaction.lastSubmission), to name the person.
        gatehouse: { displayName: result.displayName },
      });
      if (!returnTo) {
        const page = failurePage({ kind: 'interaction_expired' }, undefined);
        sendHtml(res, page.status, renderErrorPage(page));
        return;
      }
      logger.info({ event: 'login', account: result.accountId, provider: result.providerId, rule: result.rule }, 'user signed in');
      redirect303(res, returnTo);
    },
  };

  /**
   * What `provider.interactionResult` does, for a request that carries no interaction cookie:
   * the callback's path is not the interaction's. The resume step still checks its own cookie,
   * so only the browser that started the authorization request can carry it on.
   */
  async function finishInteraction(uid: string, result: Record<string, unknown>): Promise<string | undefined> {
    const interaction = await provider.Interaction.find(uid);
    if (!interaction || interaction.prompt.name !== 'login') return undefined;
    interaction.result = result;
    await interaction.save(Math.max(1, (interaction.exp ?? 0) - epochSeconds()));
    return interaction.returnTo;
  }
}

import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { Adapter, Interaction } from 'oidc-provider';
import { constantTimeEqual, sha256 } from '../../crypto/index.js';
import type { Logger } from '../../observability/index.js';
import { renderConsentPage, renderErrorPage, renderLoginPage } from '../../web/index.js';
import type { FederatedLogin } from './federated-login.js';
import { readForm, redirect303, sendHtml } from './http-util.js';
import type { UserDirectory } from './users.js';

export interface InteractionOptions {
  readonly provider: Provider;
  readonly users: UserDirectory;
  /** Keys the CSRF tokens: a per-interaction secret that any instance sharing the cookie keys can check. */
  readonly csrfKey: string;
  /** Where `consent: once` remembers which grant a user gave a client. */
  readonly consentStore: ConsentMemory | undefined;
  readonly logger: Logger;
  /** Sign-in through GitHub, Google or OIDC providers; undefined when none is configured. */
  readonly federatedLogin?: FederatedLogin | undefined;
}

/** user + client -> grant, for `consent: once`. */
export interface ConsentMemory {
  remember(accountId: string, clientId: string, grantId: string): Promise<void>;
  recall(accountId: string, clientId: string): Promise<string | undefined>;
}

export function adapterConsentMemory(adapter: Adapter, ttlSeconds: number): ConsentMemory {
  const key = (accountId: string, clientId: string): string => sha256(`${accountId}\n${clientId}`);
  return {
    async remember(accountId, clientId, grantId) {
      await adapter.upsert(key(accountId, clientId), { grantId, accountId, clientId }, ttlSeconds);
    },
    async recall(accountId, clientId) {
      const found = await adapter.find(key(accountId, clientId));
      return found && typeof found.grantId === 'string' ? found.grantId : undefined;
    },
  };
}

const EXPIRED = {
  title: 'This sign-in has expired',
  message: 'The sign-in link is no longer valid, or it was opened in another browser. Go back to your app and connect again.',
};
const WRONG_CREDENTIALS = 'Wrong username or password.';

/** `/login/{uid}` and `/consent/{uid}`: GET shows the page, POST takes the answer. */
export function createInteractionHandler(options: InteractionOptions): (req: IncomingMessage, res: ServerResponse, kind: 'login' | 'consent', uid: string) => Promise<void> {
  const { provider, users, logger } = options;
  // The issuer's path: the pages are served under it (http/base-path.ts).
  const mount = new URL(provider.issuer).pathname.replace(/\/+$/, '');
  const csrfFor = (uid: string): string => createHmac('sha256', options.csrfKey).update(`gatehouse-csrf\n${uid}`).digest('base64url');

  const details = async (req: IncomingMessage, res: ServerResponse, uid: string): Promise<Interaction | undefined> => {
    try {
      const found = await provider.interactionDetails(req, res);
      return found.uid === uid ? found : undefined;
    } catch {
      return undefined;
    }
  };

  const clientName = async (clientId: unknown): Promise<{ name: string; id: string; redirectUris: readonly string[] }> => {
    const id = typeof clientId === 'string' ? clientId : '';
    const client = id ? await provider.Client.find(id).catch(() => undefined) : undefined;
    const name = client?.clientName;
    return { id, name: typeof name === 'string' && name.trim() ? name.trim().slice(0, 100) : id, redirectUris: client?.redirectUris ?? [] };
  };

  const finish = async (req: IncomingMessage, res: ServerResponse, result: Parameters<Provider['interactionResult']>[2]): Promise<void> => {
    const to = await provider.interactionResult(req, res, result, { mergeWithLastSubmission: false });
    redirect303(res, to);
  };

  const providers = options.federatedLogin?.federation.buttons ?? [];
  // The username/password form only when local users exist, or when there is no other way in.
  const localLogin = async (): Promise<boolean> => providers.length === 0 || (await users.any());

  const login = async (req: IncomingMessage, res: ServerResponse, interaction: Interaction, form: URLSearchParams | undefined): Promise<void> => {
    const { name } = await clientName(interaction.params.client_id);
    const csrfToken = csrfFor(interaction.uid);
    const page = { csrfToken, clientName: name, providers, localLogin: await localLogin() };
    if (!form) {
      sendHtml(res, 200, renderLoginPage(page));
      return;
    }
    const providerId = form.get('provider');
    if (providerId !== null && options.federatedLogin) {
      // A provider button in a POST form (an ejected template may post it); the built-in page uses GET.
      await options.federatedLogin.start(res, interaction.uid, providerId);
      return;
    }
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    const accountId = username && password && username.length <= 200 && password.length <= 1024 ? await users.verify(username, password) : undefined;
    if (!accountId) {
      logger.info({ event: 'login_failed' }, 'login failed');
      sendHtml(res, 200, renderLoginPage({ ...page, username, error: WRONG_CREDENTIALS }));
      return;
    }
    logger.info({ event: 'login', account: accountId }, 'user signed in');
    await finish(req, res, { login: { accountId } });
  };

  const consent = async (req: IncomingMessage, res: ServerResponse, interaction: Interaction, form: URLSearchParams | undefined): Promise<void> => {
    const { params, prompt, session } = interaction;
    const accountId = session?.accountId;
    if (!accountId) {
      sendHtml(res, 400, renderErrorPage(EXPIRED));
      return;
    }
    const clientId = typeof params.client_id === 'string' ? params.client_id : '';
    const missingOIDCScope = asStrings(prompt.details.missingOIDCScope);
    const missingOIDCClaims = asStrings(prompt.details.missingOIDCClaims);
    const missingResourceScopes = asScopeMap(prompt.details.missingResourceScopes);
    if (!form) {
      logger.debug({ reasons: prompt.reasons, client: clientId }, 'consent requested');
      const { name, id, redirectUris } = await clientName(clientId);
      const requested = typeof params.scope === 'string' ? params.scope.split(' ').filter(Boolean) : [];
      const resources = typeof params.resource === 'string' ? [params.resource] : asStrings(params.resource);
      sendHtml(
        res,
        200,
        renderConsentPage({
          csrfToken: csrfFor(interaction.uid),
          clientName: name,
          clientId: id,
          // An omitted redirect_uri means the client's only registered one.
          redirectHost: redirectHost(typeof params.redirect_uri === 'string' ? params.redirect_uri : redirectUris[0]),
          account: accountLabel(accountId, interaction.lastSubmission),
          scopes: [...new Set([...requested, ...missingOIDCScope, ...Object.values(missingResourceScopes).flat()])],
          resources,
        }),
      );
      return;
    }
    const decision = form.get('decision');
    if (decision !== 'allow') {
      logger.info({ event: 'consent_denied', account: accountId, client: clientId }, 'consent denied');
      await finish(req, res, { error: 'access_denied', error_description: 'the user denied access' });
      return;
    }
    const grant = interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined;
    const target = grant ?? new provider.Grant({ accountId, clientId });
    if (missingOIDCScope.length) target.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims.length) target.addOIDCClaims(missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missingResourceScopes)) target.addResourceScope(indicator, scopes.join(' '));
    const grantId = await target.save();
    await options.consentStore?.remember(accountId, clientId, grantId);
    logger.info({ event: 'consent_granted', account: accountId, client: clientId }, 'consent granted');
    await finish(req, res, { consent: { grantId } });
  };

  return async (req, res, kind, uid) => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      res.writeHead(405, { allow: 'GET, POST', 'content-length': '0' });
      res.end();
      return;
    }
    const interaction = await details(req, res, uid);
    if (!interaction) {
      if (method === 'POST') req.resume();
      sendHtml(res, 400, renderErrorPage(EXPIRED));
      return;
    }
    const promptName = interaction.prompt.name === 'login' ? 'login' : 'consent';
    if (promptName !== kind) {
      if (method === 'POST') req.resume();
      redirect303(res, `${mount}/${promptName}/${encodeURIComponent(uid)}`);
      return;
    }
    let form: URLSearchParams | undefined;
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    if (kind === 'login' && method === 'GET' && query.has('provider')) {
      // A provider button (pages.ts: a GET form carrying the CSRF token).
      const csrf = query.get('csrf');
      if (!options.federatedLogin || !csrf || !constantTimeEqual(csrf, csrfFor(uid))) {
        sendHtml(res, 403, renderErrorPage({ title: 'Request refused', message: 'The sign-in link was not valid (missing or wrong security token). Reload the page and try again.' }));
        return;
      }
      await options.federatedLogin.start(res, uid, query.get('provider') ?? '');
      return;
    }
    if (method === 'POST') {
      form = await readForm(req);
      const csrf = form?.get('csrf');
      if (!form || !csrf || !constantTimeEqual(csrf, csrfFor(uid))) {
        sendHtml(res, 403, renderErrorPage({ title: 'Request refused', message: 'The form was not valid (missing or wrong security token). Reload the page and try again.' }));
        return;
      }
    }
    if (kind === 'login') await login(req, res, interaction, form);
    else await consent(req, res, interaction, form);
  };
}

/** A federated identity is shown with the name the provider gave: "octocat (github|583231)". */
function accountLabel(accountId: string, lastSubmission: unknown): string {
  const extra = (lastSubmission as { gatehouse?: { displayName?: unknown } } | undefined)?.gatehouse?.displayName;
  return typeof extra === 'string' && extra && extra !== accountId ? `${extra.slice(0, 100)} (${accountId})` : accountId;
}

function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function asScopeMap(value: unknown): Record<string, string[]> {
  if (!value || typeof value !== 'object') return {};
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = asStrings(v);
  return out;
}

/** What the consent page names: the host of the redirect URI, with the scheme when it is not https. */
function redirectHost(uri: unknown): string {
  const u = typeof uri === 'string' ? URL.parse(uri) : null;
  if (!u) return 'an unknown address';
  if (u.protocol === 'https:') return u.host;
  if (u.protocol === 'http:') return `http://${u.host}`;
  return `${u.protocol}//${u.host}`;
}

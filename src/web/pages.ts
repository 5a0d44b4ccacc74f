// The login, consent and error pages. Each render function turns its model into the view of
// a template (src/web/builtin-templates.ts, or the ejected one: page-templates.ts) and
// renders it inside the layout. Every value is escaped by the template engine.
import { pageTemplates } from './page-templates.js';

/** CSP of every page: no script at all, inline style only, forms post back to us, never framed. */
// No `form-action`: Chromium applies it to every redirect after a form post, so the allow and
// deny answers (consent -> /oauth/authorize -> the client's redirect URI, which may be
// another origin or a cursor:// scheme) would be blocked. Found by test/pages.chromium.test.ts.
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/** Headers every page is sent with. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': PAGE_CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A federated identity provider as the login page shows it. */
export interface LoginProviderButton {
  /** Sent back as `provider` when its button is pressed. */
  readonly id: string;
  /** The button's text names it: "GitHub", "Google", an issuer's host or the configured name. */
  readonly name: string;
}

export interface LoginPageModel {
  readonly csrfToken: string;
  /** Shown to say what is asking for the sign-in. */
  readonly clientName: string | undefined;
  readonly username?: string | undefined;
  /** One message for every failure, so that the page tells nobody which usernames exist. */
  readonly error?: string | undefined;
  /** Whether the username/password form is shown (only when local users exist). Default true. */
  readonly localLogin?: boolean | undefined;
  /** One button per federated provider. */
  readonly providers?: readonly LoginProviderButton[] | undefined;
}

export function renderLoginPage(model: LoginPageModel): string {
  const providers = model.providers ?? [];
  const localLogin = model.localLogin ?? true;
  // The local form comes first, so that `button[type=submit]` still names its button when providers are listed too.
  // Provider buttons submit by GET (with the CSRF token): starting a sign-in elsewhere is not a
  // password attempt, so it does not spend the per-address budget of POST /login.
  return pageTemplates().renderPage('login', 'Sign in', {
    csrf: model.csrfToken,
    clientName: model.clientName ?? '',
    username: model.username ?? '',
    error: model.error ?? '',
    localLogin,
    providers: providers.map((p) => ({ id: p.id, name: p.name })),
    hasProviders: providers.length > 0,
    divider: localLogin && providers.length > 0,
  });
}

export interface ConsentPageModel {
  readonly csrfToken: string;
  readonly clientName: string;
  readonly clientId: string;
  /** Where the client will receive the answer: the host of its redirect URI (scheme too, when not http). */
  readonly redirectHost: string;
  readonly account: string;
  readonly scopes: readonly string[];
  /** The protected resources (MCP endpoints) the client asks to reach. */
  readonly resources: readonly string[];
}

export function renderConsentPage(model: ConsentPageModel): string {
  return pageTemplates().renderPage('consent', 'Allow access', {
    csrf: model.csrfToken,
    clientName: model.clientName,
    clientId: model.clientId,
    showClientId: model.clientName !== model.clientId,
    redirectHost: model.redirectHost,
    account: model.account,
    resources: [...model.resources],
    hasResources: model.resources.length > 0,
    scopes: [...model.scopes],
    hasScopes: model.scopes.length > 0,
  });
}

export interface ErrorPageModel {
  readonly title: string;
  readonly message: string;
  /** Where the person can go next (a same-origin path: back to the sign-in page, or on to the app). */
  readonly link?: { readonly href: string; readonly text: string } | undefined;
}

export function renderErrorPage(model: ErrorPageModel): string {
  return pageTemplates().renderPage('error', model.title, {
    title: model.title,
    message: model.message,
    link: model.link ? { href: model.link.href, text: model.link.text } : undefined,
  });
}

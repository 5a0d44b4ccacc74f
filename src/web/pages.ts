import { html, raw, type SafeHtml } from './html.js';

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

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1d2330}
main{max-width:26rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:0 0 1rem}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
input{width:100%;padding:.65rem;font-size:1rem;border:1px solid #b8bfcc;border-radius:8px}
button{width:100%;margin-top:1rem;padding:.75rem;font-size:1rem;border:0;border-radius:8px;background:#2451d6;color:#fff;cursor:pointer}
button.secondary{background:#e4e7ee;color:#1d2330}
button.provider{background:#1d2330}
.divider{text-align:center;margin:1.25rem 0 0}
a.button{display:block;margin-top:1rem;padding:.75rem;text-align:center;border-radius:8px;background:#2451d6;color:#fff;text-decoration:none}
.error{padding:.6rem .8rem;border-radius:8px;background:#fde8e8;color:#8a1c1c}
.muted{color:#5a6375;font-size:.9rem}
ul{padding-left:1.2rem}
code{word-break:break-all}
@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}
`;

function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title} · Gatehouse</title>
<style>${raw(STYLE)}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`.__html;
}

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
  const local = model.localLogin ?? true;
  // The local form comes first, so that `button[type=submit]` still names its button when providers are listed too.
  // Provider buttons submit by GET (with the CSRF token): starting a sign-in elsewhere is not a
  // password attempt, so it does not spend the per-address budget of POST /login.
  return layout(
    'Sign in',
    html`<h1>Sign in to Gatehouse</h1>
${model.clientName ? html`<p class="muted">to continue to <strong>${model.clientName}</strong></p>` : ''}
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
${local
  ? html`<form method="post" autocomplete="on">
<input type="hidden" name="csrf" value="${model.csrfToken}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${model.username ?? ''}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`
  : ''}
${providers.length
  ? html`${local ? html`<p class="divider muted">or</p>` : ''}<form method="get" class="providers">
<input type="hidden" name="csrf" value="${model.csrfToken}">
${providers.map((p) => html`<button type="submit" name="provider" value="${p.id}" class="provider">Continue with ${p.name}</button>
`)}</form>`
  : ''}`,
  );
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
  return layout(
    'Allow access',
    html`<h1>Allow <strong>${model.clientName}</strong> to use your MCP servers?</h1>
<p>Signed in as <strong>${model.account}</strong>.</p>
<p><strong>${model.clientName}</strong> will receive its answer at <strong><code>${model.redirectHost}</code></strong>.
${model.clientName !== model.clientId ? html`<br><span class="muted">Client id: <code>${model.clientId}</code></span>` : ''}</p>
${model.resources.length ? html`<p>It asks to reach:</p><ul>${model.resources.map((r) => html`<li><code>${r}</code></li>`)}</ul>` : ''}
${model.scopes.length ? html`<p>With the permissions:</p><ul>${model.scopes.map((s) => html`<li><code>${s}</code></li>`)}</ul>` : ''}
<form method="post">
<input type="hidden" name="csrf" value="${model.csrfToken}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  );
}

export interface ErrorPageModel {
  readonly title: string;
  readonly message: string;
  /** Where the person can go next (a same-origin path: back to the sign-in page, or on to the app). */
  readonly link?: { readonly href: string; readonly text: string } | undefined;
}

export function renderErrorPage(model: ErrorPageModel): string {
  return layout(
    model.title,
    html`<h1>${model.title}</h1><p>${model.message}</p>${model.link ? html`<a class="button" href="${model.link.href}">${model.link.text}</a>` : ''}`,
  );
}

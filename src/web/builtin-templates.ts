// The built-in page templates, in the language of template-engine.ts. `gatehouse templates
// eject` writes them out as they are here; each starts with a comment that lists its values.
// Values are escaped by the renderer; a template cannot print one unescaped.

export const TEMPLATE_NAMES = ['layout', 'login', 'consent', 'error'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/** The file a template is ejected to and read from. */
export function templateFileName(name: TemplateName): string {
  return `${name}.html`;
}

/** Values a template must use, or it is refused (and the built-in one is used). */
export const REQUIRED_VALUES: Readonly<Record<TemplateName, readonly string[]>> = {
  layout: ['content'],
  login: ['csrf'],
  consent: ['csrf'],
  error: [],
};

const LAYOUT = `{{! Gatehouse page layout: every page is rendered into it.
    title    the page's title
    content  the page itself (login, consent or error), already rendered
  Pages are sent with a Content-Security-Policy that allows no script, no external
  resource and inline style only: keep styles in the <style> element below. }}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{title}} · Gatehouse</title>
<style>
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
</style>
</head>
<body><main>
{{content}}
</main></body>
</html>
`;

const LOGIN = `{{! Gatehouse sign-in page.
    csrf        the form's security token: every form must send it as the field "csrf"
    clientName  the app asking for the sign-in (may be empty)
    username    the name typed before, after a failed attempt
    error       one message for every failure (never says which part was wrong)
    localLogin  whether the username/password form is shown (local users exist)
    providers   federated sign-in buttons, each with id and name; a button sends
                provider=<id> with csrf, by GET (starting a sign-in elsewhere is
                not a password attempt: it does not spend the login rate limit)
    divider     true when both the form and provider buttons are shown
  The password form posts back to the same URL, fields username and password. }}<h1>Sign in to Gatehouse</h1>
{{#clientName}}<p class="muted">to continue to <strong>{{clientName}}</strong></p>{{/clientName}}
{{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
{{#localLogin}}<form method="post" autocomplete="on">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{username}}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>{{/localLogin}}
{{#hasProviders}}{{#divider}}<p class="divider muted">or</p>{{/divider}}<form method="get" class="providers">
<input type="hidden" name="csrf" value="{{csrf}}">
{{#providers}}<button type="submit" name="provider" value="{{id}}" class="provider">Continue with {{name}}</button>
{{/providers}}</form>{{/hasProviders}}
`;

const CONSENT = `{{! Gatehouse consent page.
    csrf          the form's security token: the form must send it as the field "csrf"
    clientName    the app asking for access
    clientId      its client id; showClientId is true when it differs from the name
    redirectHost  where the app receives the answer (host of its redirect URI)
    account       who is signed in
    resources     the MCP endpoints the app asks to reach (a list of text)
    scopes        the permissions it asks for (a list of text)
  The form posts back to the same URL with decision=allow or decision=deny. }}<h1>Allow <strong>{{clientName}}</strong> to use your MCP servers?</h1>
<p>Signed in as <strong>{{account}}</strong>.</p>
<p><strong>{{clientName}}</strong> will receive its answer at <strong><code>{{redirectHost}}</code></strong>.
{{#showClientId}}<br><span class="muted">Client id: <code>{{clientId}}</code></span>{{/showClientId}}</p>
{{#hasResources}}<p>It asks to reach:</p><ul>{{#resources}}<li><code>{{.}}</code></li>{{/resources}}</ul>{{/hasResources}}
{{#hasScopes}}<p>With the permissions:</p><ul>{{#scopes}}<li><code>{{.}}</code></li>{{/scopes}}</ul>{{/hasScopes}}
<form method="post">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
`;

const ERROR = `{{! Gatehouse error page.
    title    what went wrong, in a few words
    message  what to do about it
    link     where to go next, when there is somewhere: link.href (a path on this
             server) and link.text }}<h1>{{title}}</h1><p>{{message}}</p>{{#link}}<a class="button" href="{{href}}">{{text}}</a>{{/link}}
`;

export const BUILTIN_TEMPLATES: Readonly<Record<TemplateName, string>> = { layout: LAYOUT, login: LOGIN, consent: CONSENT, error: ERROR };

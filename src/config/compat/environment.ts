import { REDIRECT_PRESETS } from '../redirect-presets.js';
import { plainHttpElsewhere } from '../remote-url.js';

// The older single-upstream proxies were configured by environment variables alone (seed 000:
// a `.env` file, or a hosting platform's variables): DOWNSTREAM_MCP_URL (or UPSTREAM_URL),
// LTPA_TOKEN, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, REJECT_UNAUTHORIZED, PORT. They make one
// remote server named `default`. Gatehouse adds HOST, PUBLIC_URL, OAUTH_REDIRECT_URIS,
// GATEHOUSE_TOKEN, TOKEN_IN_URL and ALLOW_INSECURE_HTTP (docs/decisions/0004-configuration.md).

type Doc = Record<string, unknown>;
type Env = Readonly<Record<string, string | undefined>>;

/** Every variable an environment-only setup reads, for `config migrate --env` and the docs. */
export const ENVIRONMENT_VARIABLES = [
  'DOWNSTREAM_MCP_URL',
  'UPSTREAM_URL',
  'LTPA_TOKEN',
  'REJECT_UNAUTHORIZED',
  'OAUTH_CLIENT_ID',
  'OAUTH_CLIENT_SECRET',
  'OAUTH_REDIRECT_URIS',
  'PORT',
  'HOST',
  'PUBLIC_URL',
  'RENDER_EXTERNAL_URL',
  'GATEHOUSE_TOKEN',
  'TOKEN_IN_URL',
  'ALLOW_INSECURE_HTTP',
] as const;

/**
 * What the client OAUTH_CLIENT_ID names may get client_credentials tokens for: every route of
 * server `default` (with their SSE twins: /sse, /mcp/sse, /default/sse). The seed's Claude
 * Desktop recipe asks for one with no `resource` and uses it on `/mcp/sse?token=`; the older
 * proxy's token opened everything it served, and such a token here opens all of these.
 */
export const ENVIRONMENT_MACHINE_RESOURCES: readonly string[] = ['/mcp', '/default/mcp', '/api', '/default/api'];

/** A true/false variable: true, false, or undefined with a warning (unset: undefined, silently). */
function flag(env: Env, name: string, warnings: string[], otherwise: string): boolean | undefined {
  const value = env[name]?.trim();
  if (value === undefined) return undefined;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (!/^(0|false|no)$/i.test(value)) warnings.push(`${name}: ${JSON.stringify(env[name])} is neither true nor false, so ${otherwise}`);
  return false;
}

/**
 * Where Claude and ChatGPT send a person back after login, for the client that OAUTH_CLIENT_ID
 * names: the exact callbacks of the redirect presets (a ChatGPT Custom GPT's callback holds the
 * GPT's id, so it comes from OAUTH_REDIRECT_URIS).
 */
export const ENVIRONMENT_CLIENT_REDIRECTS: readonly string[] = [...REDIRECT_PRESETS.claude, ...REDIRECT_PRESETS.chatgpt].filter((u) => !u.includes('*'));

/**
 * What the authorization page says when a redirect_uri of the client OAUTH_CLIENT_ID names is
 * refused (a Custom GPT's callback holds the GPT's id, so no preset covers it): which variable
 * to set. The refused URI is shown as the client sent it (escaped by the page), cut at 200.
 */
export function environmentRedirectAdvice(clientIds: readonly string[]): (clientId: string | undefined, redirectUri: unknown) => string | undefined {
  return (clientId, redirectUri) => {
    if (clientId === undefined || !clientIds.includes(clientId)) return undefined;
    const uri = typeof redirectUri === 'string' && redirectUri !== '' ? redirectUri.slice(0, 200) : 'the callback';
    return `This client comes from OAUTH_CLIENT_ID: add ${uri} to OAUTH_REDIRECT_URIS (comma separated) and restart gatehouse.`;
  };
}

export function hasEnvironmentConfig(env: Env): boolean {
  return Boolean(env.DOWNSTREAM_MCP_URL ?? env.UPSTREAM_URL);
}

/**
 * The native document for an environment-only setup; secrets stay `env:` references. The
 * warnings say where Gatehouse differs from the older proxies, naming the variable.
 */
export function fromEnvironment(env: Env): { doc: Doc; warnings: string[] } {
  const warnings: string[] = [];
  // Settings are written as their values, so that `config migrate` gives a file that stands on
  // its own; secrets stay `env:` references (LTPA_TOKEN, OAUTH_CLIENT_SECRET, GATEHOUSE_TOKEN, and
  // a URL that carries a query or a password, such as `?key=`).
  const urlVar = env.DOWNSTREAM_MCP_URL ? 'DOWNSTREAM_MCP_URL' : 'UPSTREAM_URL';
  const url = env[urlVar] ?? '';
  const server: Doc = { url: /[?@#]|\$\{/.test(url) ? `env:${urlVar}` : url };
  // Seed 000 says only that it reaches the downstream "using static tokens (e.g. LtpaToken)":
  // the older proxy sent the header `LtpaToken: <value>`, and WebSphere/Domino-style servers
  // read the LTPA2 cookie. Both go, so a downstream that took either still does.
  if (env.LTPA_TOKEN) server.headers = { LtpaToken: 'env:LTPA_TOKEN', Cookie: 'LtpaToken2=env:LTPA_TOKEN' };
  // ALLOW_INSECURE_HTTP=true: what `connect` reads (seed 001's variable); the only way an
  // environment-only setup can allow plain http to another machine (servers.default.allowHttp).
  if (flag(env, 'ALLOW_INSECURE_HTTP', warnings, 'plain http stays refused')) server.allowHttp = true;
  if (server.allowHttp !== true && plainHttpElsewhere(url) !== undefined) {
    warnings.push(`${urlVar}: plain http to another machine is refused: use https, or set ALLOW_INSECURE_HTTP=true`);
  }
  if (env.REJECT_UNAUTHORIZED !== undefined) {
    server.tls = { rejectUnauthorized: !/^(0|false|no)$/i.test(env.REJECT_UNAUTHORIZED) };
  }
  const doc: Doc = {};
  // A platform that sets PORT (Render, Heroku, Fly, Railway) routes to it from outside, as the
  // older proxies expected (they listened on every interface). HOST narrows it (127.0.0.1).
  const host = env.HOST?.includes(':') && !env.HOST.startsWith('[') ? `[${env.HOST}]` : env.HOST;
  if (env.PORT) doc.listen = `${host ?? '0.0.0.0'}:${env.PORT}`;
  else if (host) doc.listen = `${host}:8080`;
  if (env.PORT && !host) {
    warnings.push('PORT: listening on every interface (0.0.0.0:PORT), as the older proxies and hosting platforms expect; set HOST=127.0.0.1 to stay on this machine');
  }
  // Render names the service's public URL itself.
  const publicUrl = env.PUBLIC_URL ?? env.RENDER_EXTERNAL_URL;
  if (publicUrl) doc.publicUrl = publicUrl;

  const auth: Doc = {};
  if (env.OAUTH_CLIENT_ID) {
    // OAUTH_CLIENT_ID / OAUTH_CLIENT_SECRET are what Claude and ChatGPT log in to the proxy
    // with (seed 000 pastes them into a Claude connector and a GPT's Action): a pre-registered
    // inbound client, not credentials for the downstream server (that one uses LTPA_TOKEN).
    const secret = Boolean(env.OAUTH_CLIENT_SECRET);
    const extra = (env.OAUTH_REDIRECT_URIS ?? '').split(/[\s,]+/).filter(Boolean);
    auth.mode = 'oauth';
    auth.clients = [
      {
        clientId: env.OAUTH_CLIENT_ID,
        ...(secret ? { clientSecret: 'env:OAUTH_CLIENT_SECRET' } : {}),
        name: 'Claude / ChatGPT',
        redirectUris: [...new Set([...ENVIRONMENT_CLIENT_REDIRECTS, ...extra])],
        // ChatGPT Actions send no `resource`: their tokens are for the REST bridge. Claude
        // names its MCP URL itself, so its tokens are for that.
        resource: '/api',
        // ChatGPT Actions send no PKCE; the older proxy did not require it. Only with a secret.
        // Its client_credentials tokens open what the seed's users call with them (above).
        ...(secret
          ? { requirePkce: false, grants: ['authorization_code', 'refresh_token', 'client_credentials'], clientCredentialsResources: [...ENVIRONMENT_MACHINE_RESOURCES] }
          : {}),
      },
    ];
    warnings.push(
      'OAUTH_CLIENT_ID: Claude and ChatGPT log in to Gatehouse with this client; then a person signs in on the login page ' +
        '(the older proxy showed a consent screen only): add one with `gatehouse users add NAME`, or a provider in a config file',
    );
    if (!extra.length) {
      warnings.push(
        'OAUTH_REDIRECT_URIS: not set, so only the Claude and ChatGPT connector callbacks are allowed; a Custom GPT Action\'s callback ' +
          '(https://chatgpt.com/aip/g-.../oauth/callback, shown in the GPT editor) holds its id: add it there',
      );
    }
  }
  if (env.GATEHOUSE_TOKEN) {
    if (!auth.mode) auth.mode = 'tokens';
    auth.tokens = ['env:GATEHOUSE_TOKEN'];
  }
  // TOKEN_IN_URL=true: `?token=` on the SSE routes (auth.tokenInUrl), for the seed's Claude
  // Desktop recipe (`.../mcp/sse?token=YOUR_ACCESS_TOKEN`), which the older proxy accepted.
  if (flag(env, 'TOKEN_IN_URL', warnings, 'tokens in URLs stay refused')) auth.tokenInUrl = true;
  if (Object.keys(auth).length) doc.auth = auth;
  doc.servers = { default: server };
  return { doc, warnings };
}

/**
 * A `.env` file: KEY=VALUE lines, `#` comments (also after a value, quoted or not), optional
 * `export `, values optionally in single or double quotes (double quotes know \n and \").
 * Nothing is expanded.
 */
export function parseDotEnv(text: string): { values: Record<string, string>; problems: { line: number; message: string }[] } {
  const values: Record<string, string> = {};
  const problems: { line: number; message: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      problems.push({ line: i + 1, message: 'not a KEY=VALUE line' });
      return;
    }
    let value = m[2]!;
    const quote = value[0];
    // A quoted value may be followed by a comment (`KEY="v" # c` is `v`, as dotenv reads it); a
    // double-quoted one ends at the first quote not escaped by a backslash.
    const commented = quote === '"' ? /^"((?:\\.|[^"\\])*)"\s*(?:#.*)?$/.exec(value) : quote === "'" ? /^'([^']*)'\s*(?:#.*)?$/.exec(value) : null;
    if (commented || ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote))) {
      value = commented ? commented[1]! : value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\n/g, '\n').replace(/\\"/g, '"');
    } else {
      // An unquoted value ends at a ` #` comment.
      value = value.replace(/\s+#.*$/, '').trim();
    }
    values[m[1]!] = value;
  });
  return { values, problems };
}

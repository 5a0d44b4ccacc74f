// The older single-upstream proxies were configured by environment variables alone:
// DOWNSTREAM_MCP_URL (or UPSTREAM_URL), LTPA_TOKEN, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET,
// REJECT_UNAUTHORIZED, PORT. They make one remote server named `default`.

type Doc = Record<string, unknown>;
type Env = Readonly<Record<string, string | undefined>>;

export function hasEnvironmentConfig(env: Env): boolean {
  return Boolean(env.DOWNSTREAM_MCP_URL ?? env.UPSTREAM_URL);
}

/** The native document for an environment-only setup; secrets stay `env:` references. */
export function fromEnvironment(env: Env): Doc {
  const urlVar = env.DOWNSTREAM_MCP_URL ? 'DOWNSTREAM_MCP_URL' : 'UPSTREAM_URL';
  const server: Doc = { url: `env:${urlVar}` };
  if (env.LTPA_TOKEN) server.headers = { Cookie: 'LtpaToken2=env:LTPA_TOKEN' };
  if (env.REJECT_UNAUTHORIZED !== undefined) {
    server.tls = { rejectUnauthorized: !/^(0|false|no)$/i.test(env.REJECT_UNAUTHORIZED) };
  }
  if (env.OAUTH_CLIENT_ID) {
    server.oauth = {
      grant: 'client_credentials',
      clientId: 'env:OAUTH_CLIENT_ID',
      ...(env.OAUTH_CLIENT_SECRET ? { clientSecret: 'env:OAUTH_CLIENT_SECRET' } : {}),
    };
  }
  const doc: Doc = { servers: { default: server } };
  if (env.PORT) doc.listen = `${env.HOST ?? '127.0.0.1'}:${env.PORT}`;
  if (env.GATEHOUSE_TOKEN) doc.auth = { mode: 'tokens', tokens: ['env:GATEHOUSE_TOKEN'] };
  return doc;
}

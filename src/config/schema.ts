import { z } from 'zod';
import { parseDuration, parseListen, parseSize } from './units.js';
import { REDIRECT_PRESET_NAMES } from './redirect-presets.js';
import { isPasswordHash } from '../crypto/index.js';
import { ServerNameSchema, serverRecordError } from './server-name.js';
import { cidr, cidrList } from './cidr-list.js';
import { callbackPathSyntaxProblem } from './callback-path.js';
import { checkProviders } from './provider-checks.js';

// The native configuration format (CONTRACT.md, "Config file"). Input shapes are what a
// person writes; outputs are normalised values (milliseconds, bytes, host and port).

const duration = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `${what} must be a duration such as 250ms, 60s, 1h or 30d` });
      return z.NEVER;
    }
    return ms;
  });

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const bytes = parseSize(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be a size such as 512kb or 4mb' });
    return z.NEVER;
  }
  return bytes;
});

const listen = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const parsed = parseListen(v);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'must be HOST:PORT, e.g. 127.0.0.1:8080' });
    return z.NEVER;
  }
  return parsed;
});

const httpUrl = z.string().refine((v) => {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

// Browser origins that may call the MCP and REST routes by default (docs/decisions/0015-cors.md):
// the web clients Gatehouse is for. Their pages send bearer tokens, never cookies.
export const DEFAULT_CORS_ORIGINS = ['https://chatgpt.com', 'https://claude.ai', 'https://claude.com'] as const;

/** A browser origin, scheme://host[:port], kept as a browser writes it (lower case, no default port). */
const corsOrigin = z.string().transform((v, ctx) => {
  let u: URL | undefined;
  try {
    u = new URL(v);
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.pathname !== '/' || u.search || u.hash || u.username || u.password || v.includes('*')) {
    ctx.addIssue({ code: 'custom', message: 'must be an origin such as https://chatgpt.com (scheme, host and port only; no path, no wildcard)' });
    return z.NEVER;
  }
  return u.origin;
});

/**
 * A hash `verifyPassword` (crypto/password.ts) can check: `scrypt$N$r$p$salt$hash` with N a power
 * of two up to 2^20, within its 64 MiB of scrypt memory, and a hash of 16 bytes or more. Anything
 * else (`scrypt$...`, a password) would let that user never sign in, or fail every attempt.
 */
export function isUsablePasswordHash(value: string): boolean {
  if (!isPasswordHash(value)) return false;
  const [, n, r, p, , hash] = value.split('$').map((part, i) => (i >= 1 && i <= 3 ? Number(part) : part)) as [string, number, number, number, string, string];
  const powerOfTwo = n >= 2 && n <= 2 ** 20 && (n & (n - 1)) === 0;
  const memory = 128 * r * (n + 2 + p);
  return powerOfTwo && r >= 1 && p >= 1 && memory <= 64 * 1024 * 1024 && Buffer.from(hash, 'base64url').length >= 16;
}

// Server names (SERVER_NAME_PATTERN, RESERVED_SERVER_NAMES, ServerNameSchema) live in server-name.ts.
export { RESERVED_SERVER_NAMES, SERVER_NAME_PATTERN } from './server-name.js';
export { isCidrLike } from './cidr-list.js';

export const ToolFilterSchema = z
  .strictObject({
    allow: z.array(z.string().min(1)).optional(),
    block: z.array(z.string().min(1)).optional(),
  })
  .refine((f) => !(f.allow && f.block), 'give either allow or block, not both');

const serverCommon = {
  tools: ToolFilterSchema.optional(),
  tokens: z.array(z.string().min(1)).optional(),
  description: z.string().optional(),
};

export const StdioServerSchema = z.strictObject({
  command: z.string().min(1, 'required'),
  args: z.array(z.string()).default([]),
  env: z.record(z.string(), z.string()).default({}),
  cwd: z.string().optional(),
  sharing: z.enum(['shared', 'per-session']).default('shared'),
  ...serverCommon,
});

export const OutboundOAuthSchema = z.strictObject({
  // A gateway runs unattended: no person is there for a browser login (that is `gatehouse connect`).
  // The same words as the upstream's own check, so `config check` and `serve` agree.
  grant: z
    .enum(['client_credentials'], {
      error: (issue) =>
        issue.input === 'authorization_code'
          ? 'a gateway upstream can only use client_credentials (no person is there to log in; for a browser login use gatehouse connect)'
          : 'must be client_credentials',
    })
    .default('client_credentials'),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  scope: z.string().optional(),
  resource: httpUrl.optional(),
  tokenUrl: httpUrl.optional(),
  /** The authorization server these credentials belong to: discovery must name exactly this issuer, else nothing is sent. */
  issuer: httpUrl.optional(),
  privateKey: z.string().optional(),
  // mcp-oauth2-proxy's oauth2.audience and oauth2.authStyle (seed 001), as `gatehouse connect --audience / --auth-style`.
  audience: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Sent as audience=VALUE on every token request (not an RFC 6749 parameter: Auth0 and IdPs like it issue a token for their API only when asked by this name; resource is the RFC 8707 one)',
    ),
  authStyle: z
    .enum(['header', 'body'], { error: 'must be header (HTTP Basic, client_secret_basic) or body (client_secret_post)' })
    .optional()
    .describe(
      'How clientSecret goes to the token endpoint: header is HTTP Basic (client_secret_basic), body puts client_id and client_secret in the form (client_secret_post). It decides when the authorization server metadata names no method (e.g. with tokenUrl) and is used when the metadata lists it; else the metadata\'s method is. Unset: the metadata\'s choice, else header. Not with privateKey',
    ),
})
  .refine((o) => o.clientId !== undefined, { path: ['clientId'], error: 'required for client_credentials' })
  .refine((o) => o.clientSecret !== undefined || o.privateKey !== undefined, {
    path: ['clientSecret'],
    error: 'required for client_credentials (or privateKey)',
  })
  .refine((o) => o.authStyle === undefined || o.privateKey === undefined, { path: ['authStyle'], error: 'is for a client secret; privateKey signs a JWT instead' });

export const RemoteServerSchema = z.strictObject({
  url: httpUrl,
  transport: z.enum(['auto', 'streamable-http', 'sse']).default('auto'),
  headers: z.record(z.string(), z.string()).default({}),
  tls: z
    .strictObject({ rejectUnauthorized: z.boolean().default(true), ca: z.string().optional() })
    .default({ rejectUnauthorized: true }),
  timeout: duration('timeout').default(60_000),
  allowHttp: z.boolean().default(false),
  oauth: OutboundOAuthSchema.optional(),
  ...serverCommon,
});

export const ServerSchema = z.union([StdioServerSchema, RemoteServerSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? serverShapeProblem(issue.input).message : undefined),
});

/**
 * What is wrong with a server entry that is neither a stdio nor a remote server, said where a
 * person fixes it: `servers.NAME.command: required (...)` when it has neither key (CONTRACT.md's
 * example), `servers.NAME: ... not both` when it has both. `at` is relative to `servers.NAME`.
 */
export function serverShapeProblem(input: unknown): { at: string[]; message: string } {
  const either = 'a server needs either command (stdio) or url (remote)';
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { at: [], message: `must be an object: ${either}` };
  const has = (key: string) => (input as Record<string, unknown>)[key] !== undefined;
  if (has('command') && has('url')) return { at: [], message: 'give either command (stdio) or url (remote), not both' };
  return { at: ['command'], message: `required (${either})` };
}

// Federated login (CONTRACT.md `auth.providers`; docs/decisions/0008-federated-login.md).
// An upstream identity provider must be reached over https; http only on loopback (local stand-ins).
const secureUrl = httpUrl.refine((v) => {
  const u = new URL(v);
  return u.protocol === 'https:' || u.hostname === 'localhost' || u.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(u.hostname);
}, 'must be an https URL (http only for a loopback host: localhost, 127.x.x.x, [::1])');

/** Who may sign in through a provider. A person is admitted when any one rule matches; no block (or an empty one) admits nobody. */
const allowBlock = z.strictObject({
  /** GitHub logins (case-insensitive), or the OIDC `preferred_username` claim (exact). */
  users: z.array(z.string().min(1)).optional(),
  /** Verified email addresses (case-insensitive). */
  emails: z.array(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'must be an email address')).optional(),
  /** Domains of verified email addresses (exact domain, case-insensitive; no subdomains). */
  domains: z.array(z.string().regex(/^[^@\s/]+\.[^@\s/]+$/, 'must be a domain such as acme.com (no @)')).optional(),
  /** GitHub organisations (logins). */
  orgs: z.array(z.string().min(1)).optional(),
  /** GitHub teams as ORG/TEAM-SLUG. */
  teams: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'must be ORG/TEAM-SLUG, e.g. acme/mcp-users')).optional(),
  /** ID token / userinfo claims: the claim (a string, or a list of them) must hold one of the values. */
  claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
});

const providerCommon = {
  /** The identity prefix (`{id}|subject`) and the default callback's last segment (`/oauth/callback/{id}`). Default: the type. */
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'an id holds 1-32 lowercase letters, digits and -')
    .optional(),
  /** The login button's text. Default: GitHub, Google, or the issuer's host. */
  name: z.string().min(1).max(60).optional(),
  /** The redirect_uri's path (callback-path.ts): what a provider app already registered, e.g. seed 004's /auth/callback. */
  callbackPath: z
    .string()
    .superRefine((path, ctx) => {
      const problem = callbackPathSyntaxProblem(path);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional()
    .describe(
      'The path the provider sends the browser back to: the redirect_uri is publicUrl + this path, so it must be the callback URL registered at the provider (e.g. /auth/callback). Default /oauth/callback/{id}; outside Gatehouse\'s own routes, one per provider',
    ),
  clientId: z.string().min(1),
  allow: allowBlock.optional(),
};

export const ProviderSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('github'),
    ...providerCommon,
    clientSecret: z.string().min(1),
    /** GitHub Enterprise Server: https://ghe.example.com (default https://github.com). */
    baseUrl: secureUrl.optional(),
    /** REST API base (default https://api.github.com, or {baseUrl}/api/v3 when baseUrl is set). */
    apiUrl: secureUrl.optional(),
  }),
  z.strictObject({
    type: z.literal('google'),
    ...providerCommon,
    clientSecret: z.string().min(1),
    /** Default https://accounts.google.com; another issuer only for stand-ins and tests. */
    issuer: secureUrl.optional(),
  }),
  z.strictObject({
    type: z.literal('oidc'),
    ...providerCommon,
    issuer: secureUrl,
    clientSecret: z.string().min(1).optional(),
    /** Default "openid email profile". */
    scope: z.string().optional(),
  }),
]);

/** Runs a refinement once the fields it reads are valid, so that every problem is reported at once. */
const whenValid = (...fields: string[]) => ({
  when: (payload: z.core.ParsePayload) => !payload.issues.some((issue) => fields.includes(String(issue.path?.[0]))),
});

/**
 * A pre-registered client (`auth.clients[]`). `gatehouse clients add` holds its flags to these
 * rules too, and the authorization server the clients it stored.
 */
export const PreRegisteredClientSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().optional(),
  name: z.string().optional(),
  redirectUris: z.array(z.string()).min(1),
  // The resource its tokens are for when it sends no RFC 8707 `resource` (ChatGPT Actions
  // send none): a protected path such as `/api`, or its absolute URL.
  resource: z.string().regex(/^(?:\/|https?:\/\/)/, 'a protected path such as /api, or its absolute URL').optional(),
  // What its client_credentials tokens may be for (instead of `resource` alone): one that names
  // none opens all of these, one that names one of them opens that one (RFC 8707 §2).
  clientCredentialsResources: z.array(z.string().regex(/^(?:\/|https?:\/\/)/, 'a protected path such as /mcp, or its absolute URL')).min(1).optional(),
  // RFC 9700 §2.1.1 lets an authorization server skip PKCE for confidential clients;
  // ChatGPT Actions cannot send a code_challenge. Only for clients with a secret.
  requirePkce: z.boolean().default(true),
  // The OAuth grants it may use. client_credentials gives tokens with no user behind them
  // (no sign-in, no allow rules, no consent): only when listed, and only with a secret.
  grants: z
    .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
    .min(1)
    .default(['authorization_code', 'refresh_token']),
})
  .refine((c) => c.requirePkce || (c.clientSecret !== undefined && c.clientSecret !== ''), {
    path: ['requirePkce'],
    error: 'only a confidential client (with a clientSecret) may turn PKCE off',
    ...whenValid('requirePkce', 'clientSecret'),
  })
  .refine((c) => c.clientCredentialsResources === undefined || c.grants.includes('client_credentials'), {
    path: ['clientCredentialsResources'],
    error: 'only for a client whose grants include client_credentials',
    ...whenValid('clientCredentialsResources', 'grants'),
  })
  .refine((c) => !c.grants.includes('client_credentials') || (c.clientSecret !== undefined && c.clientSecret !== ''), {
    path: ['grants'],
    error: 'client_credentials needs a clientSecret',
    ...whenValid('grants', 'clientSecret'),
  })
  .refine((c) => !c.grants.includes('refresh_token') || c.grants.includes('authorization_code'), {
    path: ['grants'],
    error: 'refresh_token comes with authorization_code: list both, or neither',
    ...whenValid('grants'),
  });

export const AuthSchema = z.strictObject({
  mode: z.enum(['oauth', 'tokens', 'none']).default('oauth'),
  tokens: z.array(z.string().min(1)).default([]),
  tokenInUrl: z.boolean().default(false),
  users: z
    .record(
      z.string(),
      z.strictObject({
        passwordHash: z
          .string()
          .refine(isUsablePasswordHash, 'must be a password hash from `gatehouse users hash` (scrypt$N$r$p$salt$hash): a password or a placeholder lets nobody sign in'),
      }),
    )
    .default({}),
  providers: z.array(ProviderSchema).default([]),
  accessTokenTtl: duration('accessTokenTtl').default(3_600_000),
  refreshTokenTtl: duration('refreshTokenTtl').default(30 * 86_400_000),
  consent: z.enum(['once', 'always']).default('once'),
  registration: z
    .strictObject({
      dynamic: z.boolean().default(true),
      clientMetadataDocuments: z.boolean().default(true),
      redirectPresets: z.array(z.enum(REDIRECT_PRESET_NAMES)).default([...REDIRECT_PRESET_NAMES]),
      allowedRedirectUris: z.array(z.string()).default([]),
      allowedIps: cidrList.default([]),
    })
    .prefault({}),
  clients: z.array(PreRegisteredClientSchema).default([]),
  allowedIps: cidrList.default([]),
});

export const GatehouseConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    listen: listen.default({ host: '127.0.0.1', port: 8080 }),
    publicUrl: httpUrl.optional(),
    trustProxy: z.array(cidr).default(['127.0.0.1/8', '::1']),
    /** The header every trusted proxy maintains with the client's address: Forwarded (RFC 7239), or a single-value one (CF-Connecting-IP, X-Real-IP, ...); unset: X-Forwarded-For only. */
    clientIpHeader: z.string().regex(/^[A-Za-z0-9-]+$/, 'must be a header name, such as CF-Connecting-IP').optional(),
    dataDir: z.string().default('./.gatehouse'),
    store: z
      .string()
      .refine((v) => v === 'sqlite' || v === 'memory' || /^postgres(ql)?:\/\//.test(v), 'must be sqlite, memory or a postgres:// URL')
      .default('sqlite'),
    log: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        format: z.enum(['json', 'pretty']).default('json'),
      })
      .prefault({}),
    maxBodySize: size.default(4 * 1024 * 1024),
    /** Open MCP sessions one credential (token, user or client) may hold at once; each may cost an upstream session or child process. */
    maxSessionsPerClient: z.number().int().positive().default(100),
    shutdownTimeout: duration('shutdownTimeout').default(10_000),
    auth: AuthSchema.prefault({}),
    // A refused name is said in ServerNameSchema's words, not zod's "Invalid key in record".
    servers: z.record(ServerNameSchema, ServerSchema, { error: serverRecordError }).default({}),
    openapi: z
      .strictObject({
        enabled: z.boolean().default(true),
        title: z.string().default('Gatehouse tools'),
        // A REST tool call past this gets 504 and the call is cancelled; under GPT Actions' 45 s.
        callTimeout: duration('openapi.callTimeout').default(40_000),
      })
      .prefault({}),
    // Origins whose pages may call the MCP and REST routes (CORS), also admitted by a loopback
    // bind's DNS-rebinding guard; publicUrl's origin and loopback origins always are. Default
    // (load.ts): DEFAULT_CORS_ORIGINS, or none with auth.mode none.
    cors: z
      .strictObject({
        origins: z
          .array(corsOrigin)
          .optional()
          .describe(`default: ${DEFAULT_CORS_ORIGINS.join(', ')}; none with auth.mode none (no credential would stand between their pages and the tools)`),
      })
      .prefault({}),
  })
  .superRefine((cfg, ctx) => {
    checkProviders(cfg.auth.providers, Object.keys(cfg.servers), (path, message) => ctx.addIssue({ code: 'custom', path: ['auth', 'providers', ...path], message }));
    for (const name of Object.keys(cfg.auth.users)) {
      // `|` separates a federated identity's provider and subject (github|12345): a local name may not look like one.
      if (name.includes('|')) ctx.addIssue({ code: 'custom', path: ['auth', 'users', name], message: 'a local user name may not contain "|"' });
    }
    if (cfg.auth.mode === 'tokens') {
      const perServer = Object.values(cfg.servers).some((s) => s.tokens && s.tokens.length > 0);
      if (cfg.auth.tokens.length === 0 && !perServer) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'tokens'], message: 'auth.mode "tokens" needs at least one token' });
      }
    }
  });

/** The config as a person writes it. */
export type GatehouseConfigInput = z.input<typeof GatehouseConfigSchema>;
/** The config after validation and defaults, before it is frozen into a ResolvedConfig. */
export type GatehouseConfigParsed = z.output<typeof GatehouseConfigSchema>;

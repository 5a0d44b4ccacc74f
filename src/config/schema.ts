import { z } from 'zod';
import { parseDuration, parseListen, parseSize } from './units.js';

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

const cidr = z.string().refine(isCidrLike, 'must be an IP address or CIDR, e.g. 10.0.0.0/8 or ::1');

/** IPv4/IPv6 address with an optional prefix length; precise parsing lives in http/. */
export function isCidrLike(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  if (rest.length || !addr) return false;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  const max = v4 ? 32 : addr.includes(':') && /^[0-9a-fA-F:.]+$/.test(addr) ? 128 : 0;
  if (!max) return false;
  if (v4 && v4.slice(1).some((o) => Number(o) > 255)) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
}

export const SERVER_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/;
/** Path segments the gateway uses itself; a server cannot be named after one. */
export const RESERVED_SERVER_NAMES = new Set([
  'mcp', 'sse', 'message', 'messages', 'oauth', 'api', 'login', 'consent', 'logout',
  'healthz', 'readyz', 'metrics', 'openapi.json', '.well-known', 'static', 'assets',
]);

const ServerNameSchema = z
  .string()
  .regex(SERVER_NAME_PATTERN, 'a server name may hold letters, digits, - and single _ (it becomes a URL path and a tool prefix)')
  .refine((name) => !RESERVED_SERVER_NAMES.has(name.toLowerCase()), { error: (i) => `"${String(i.input)}" is a route of the gateway itself; pick another name` });

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
  grant: z.enum(['client_credentials', 'authorization_code']).default('client_credentials'),
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  scope: z.string().optional(),
  resource: httpUrl.optional(),
  tokenUrl: httpUrl.optional(),
  privateKey: z.string().optional(),
});

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
  error: (issue) =>
    issue.code === 'invalid_union' ? 'a server needs either `command` (stdio) or `url` (remote)' : undefined,
});

const allowBlock = z.strictObject({
  users: z.array(z.string()).optional(),
  emails: z.array(z.string()).optional(),
  domains: z.array(z.string()).optional(),
  orgs: z.array(z.string()).optional(),
  teams: z.array(z.string()).optional(),
  claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])).optional(),
});

const ProviderSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('github'),
    name: z.string().optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    baseUrl: httpUrl.optional(),
    apiUrl: httpUrl.optional(),
    allow: allowBlock.optional(),
  }),
  z.strictObject({
    type: z.literal('google'),
    name: z.string().optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    allow: allowBlock.optional(),
  }),
  z.strictObject({
    type: z.literal('oidc'),
    name: z.string().optional(),
    issuer: httpUrl,
    clientId: z.string().min(1),
    clientSecret: z.string().min(1).optional(),
    scope: z.string().optional(),
    allow: allowBlock.optional(),
  }),
]);

export const AuthSchema = z.strictObject({
  mode: z.enum(['oauth', 'tokens', 'none']).default('oauth'),
  tokens: z.array(z.string().min(1)).default([]),
  tokenInUrl: z.boolean().default(false),
  users: z.record(z.string(), z.strictObject({ passwordHash: z.string().min(1) })).default({}),
  providers: z.array(ProviderSchema).default([]),
  accessTokenTtl: duration('accessTokenTtl').default(3_600_000),
  refreshTokenTtl: duration('refreshTokenTtl').default(30 * 86_400_000),
  consent: z.enum(['once', 'always']).default('once'),
  registration: z
    .strictObject({
      dynamic: z.boolean().default(true),
      clientMetadataDocuments: z.boolean().default(true),
      redirectPresets: z
        .array(z.enum(['claude', 'chatgpt', 'vscode', 'cursor', 'claude-code']))
        .default(['claude', 'chatgpt', 'vscode', 'cursor', 'claude-code']),
      allowedRedirectUris: z.array(z.string()).default([]),
      allowedIps: z.array(cidr).default([]),
    })
    .prefault({}),
  clients: z
    .array(
      z.strictObject({
        clientId: z.string().min(1),
        clientSecret: z.string().optional(),
        name: z.string().optional(),
        redirectUris: z.array(z.string()).min(1),
      }),
    )
    .default([]),
  allowedIps: z.array(cidr).default([]),
});

export const GatehouseConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    listen: listen.default({ host: '127.0.0.1', port: 8080 }),
    publicUrl: httpUrl.optional(),
    trustProxy: z.array(cidr).default(['127.0.0.1/8', '::1']),
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
    shutdownTimeout: duration('shutdownTimeout').default(10_000),
    auth: AuthSchema.prefault({}),
    servers: z.record(ServerNameSchema, ServerSchema).default({}),
    openapi: z.strictObject({ enabled: z.boolean().default(true), title: z.string().default('Gatehouse tools') }).prefault({}),
  })
  .superRefine((cfg, ctx) => {
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

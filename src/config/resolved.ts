import type { GatehouseConfigParsed } from './schema.js';

export type ConfigFormat = 'native' | 'claude-desktop' | 'tbxark' | 'environment' | 'demo';

export interface ToolFilter {
  readonly allow?: readonly string[];
  readonly block?: readonly string[];
}

interface ServerCommon {
  readonly name: string;
  readonly tools: ToolFilter | undefined;
  /** Per-server static tokens: when set they replace `auth.tokens` for this server. */
  readonly tokens: readonly string[] | undefined;
  readonly description: string | undefined;
}

export interface ResolvedStdioServer extends ServerCommon {
  readonly kind: 'stdio';
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly sharing: 'shared' | 'per-session';
}

export interface ResolvedOutboundOAuth {
  readonly grant: 'client_credentials' | 'authorization_code';
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly scope: string | undefined;
  readonly resource: string | undefined;
  readonly tokenUrl: string | undefined;
  /** The authorization server the credentials belong to (RFC 8414 issuer), checked on discovery. */
  readonly issuer: string | undefined;
  readonly privateKey: string | undefined;
  /** An `audience` parameter on every token request (auth/client/token-request.ts withAudience). */
  readonly audience: string | undefined;
  /** How the client secret goes to the token endpoint: header (client_secret_basic) or body (client_secret_post). */
  readonly authStyle: 'header' | 'body' | undefined;
}

export interface ResolvedRemoteServer extends ServerCommon {
  readonly kind: 'remote';
  readonly url: string;
  readonly transport: 'auto' | 'streamable-http' | 'sse';
  readonly headers: Readonly<Record<string, string>>;
  /** `ca`: PEM text (a config's `tls.ca` file was read when the config was resolved). */
  readonly tls: { readonly rejectUnauthorized: boolean; readonly ca: string | undefined };
  readonly timeoutMs: number;
  /** Plain http:// to a non-loopback host is refused unless this is set (config: checked when resolved; connect: `--allow-http`). */
  readonly allowHttp: boolean;
  readonly oauth: ResolvedOutboundOAuth | undefined;
}

export type ResolvedServer = ResolvedStdioServer | ResolvedRemoteServer;

export type ResolvedStore = { readonly kind: 'sqlite' } | { readonly kind: 'memory' } | { readonly kind: 'postgres'; readonly url: string };

export type ResolvedAuth = GatehouseConfigParsed['auth'];

/** The whole configuration after validation, defaults and secret resolution. Frozen. */
export interface ResolvedConfig {
  readonly source: { readonly format: ConfigFormat; readonly location: string | undefined };
  readonly listen: { readonly host: string; readonly port: number };
  /** Issuer and base of every advertised URL, without a trailing slash; undefined: derived per request. */
  readonly publicUrl: string | undefined;
  readonly trustProxy: readonly string[];
  /** Believed before Forwarded / X-Forwarded-For from a trusted proxy; undefined: not read. */
  readonly clientIpHeader?: string | undefined;
  readonly dataDir: string;
  readonly store: ResolvedStore;
  readonly log: { readonly level: GatehouseConfigParsed['log']['level']; readonly format: 'json' | 'pretty' };
  readonly maxBodySize: number;
  /** Open MCP sessions one principal may hold at once (429 beyond). */
  readonly maxSessionsPerClient: number;
  readonly shutdownTimeoutMs: number;
  readonly auth: ResolvedAuth;
  /** In the order the config lists them. */
  readonly servers: readonly ResolvedServer[];
  readonly openapi: {
    readonly enabled: boolean;
    readonly title: string;
    /** How long a REST tool call may take, ms (default 40 s: under GPT Actions' 45 s). */
    readonly callTimeout: number;
  };
  /** Origins whose pages may call the MCP and REST routes (CORS; docs/decisions/0015-cors.md), normalised. */
  readonly cors: { readonly origins: readonly string[] };
  /**
   * Variables the config read through `env:` references: secrets by convention. stdio
   * children do not inherit them; a server's own `env` block may still pass one on.
   */
  readonly secretEnvNames: readonly string[];
  /** What converting the file from another format dropped or changed (`config check`, `serve` and `migrate` print them). */
  readonly warnings: readonly string[];
}

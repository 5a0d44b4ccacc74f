import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startGatehouse } from '../app.js';
import { loadConfig, resolveConfig, type ResolvedConfig } from '../config/index.js';
import { hashPassword, randomToken } from '../crypto/index.js';
import { createLogger, routeSdkWarnings, type Logger } from '../observability/index.js';
import { openStore } from '../store/index.js';
import { CliExit, ExitCode } from './exit.js';
import { configOverrides } from './flags.js';

export interface ServeFlags {
  config?: string | undefined;
  listen?: string | undefined;
  publicUrl?: string | undefined;
  dataDir?: string | undefined;
  logLevel?: string | undefined;
}

/** `gatehouse serve`: load config (or the zero-config demo), start, and stop cleanly on signals. */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const overrides = configOverrides(flags);

  let config = await loadConfig({ location: flags.config, overrides });
  let demoToken: string | undefined;
  if (!config) {
    demoToken = process.env.GATEHOUSE_TOKEN ?? randomToken(24);
    config = demoConfig(demoToken, overrides);
  }
  if (flags.logLevel) config = { ...config, log: { ...config.log, level: flags.logLevel as ResolvedConfig['log']['level'] } };
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  // The SDK's own warnings ([mcp-sdk] ..., from upstream OAuth clients) become log lines too.
  routeSdkWarnings(logger);
  // A promise rejected with nobody waiting (a bug) is logged, not allowed to end the process
  // and every session with it (Node 20's default).
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason) }, 'unhandled promise rejection (a bug: please report it)');
  });
  const adminPassword = demoToken !== undefined ? await ensureDemoAdmin(config, logger) : undefined;
  for (const warning of config.warnings) logger.warn({ source: config.source.location ?? config.source.format }, `config: ${warning}`);
  if (demoToken === undefined) await warnIfNobodyCanSignIn(config, logger);
  const app = await startGatehouse({ config, logger }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new CliExit(ExitCode.Failure, `cannot listen on ${config.listen.host}:${config.listen.port}: address in use`);
    // A remote server the config describes wrongly (plain http, unreadable tls.ca): a config problem.
    if (err.name === 'RemoteLinkError' && (err.code === 'insecure-url' || err.code === 'bad-config')) throw new CliExit(ExitCode.Usage, err.message);
    throw err;
  });
  logger.info({ url: app.url, servers: config.servers.map((s) => s.name), auth: config.auth.mode }, 'gatehouse is listening');
  if (demoToken !== undefined) printDemoBanner(app.url, config, demoToken, adminPassword);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now');
      process.exit(ExitCode.Failure);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    void app.close().then(
      () => process.exit(ExitCode.Ok),
      () => process.exit(ExitCode.Failure),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/**
 * The demo's local user `admin`: created with a generated password on first start (the
 * password is printed that once); undefined when it exists already.
 */
async function ensureDemoAdmin(config: ResolvedConfig, logger: Logger): Promise<string | undefined> {
  const store = await openStore(config, logger, { sweepIntervalMs: 0 });
  try {
    if (await store.users.get('admin')) return undefined;
    const password = randomToken(12);
    await store.users.add('admin', hashPassword(password));
    return password;
  } finally {
    await store.close();
  }
}

/**
 * OAuth with no local user and no provider: the login page can let nobody in, so no client
 * gets a token by signing in. Said at start, with how to add a user.
 */
async function warnIfNobodyCanSignIn(config: ResolvedConfig, logger: Logger): Promise<void> {
  const { auth } = config;
  if (auth.mode !== 'oauth' || Object.keys(auth.users).length > 0 || auth.providers.length > 0) return;
  if (config.store.kind !== 'memory') {
    const store = await openStore(config, logger, { sweepIntervalMs: 0 });
    try {
      if ((await store.users.list()).length > 0) return;
    } finally {
      await store.close();
    }
  }
  const where = [config.source.location ? `--config ${config.source.location}` : '', `--data-dir ${config.dataDir}`].filter(Boolean).join(' ');
  const how =
    config.store.kind === 'memory'
      ? 'store: memory keeps no users: list them in auth.users of a config file, or use store: sqlite and `gatehouse users add NAME`'
      : `add one with \`gatehouse users add NAME ${where}\` (works while serve runs), or list a provider (GitHub, Google, OIDC) in auth.providers`;
  logger.warn(`nobody can sign in: auth.mode is oauth, but there is no user and no sign-in provider; ${how}`);
}

/** The zero-config demo: the bundled demo server behind OAuth (user `admin`) and a generated static token. */
function demoConfig(token: string, overrides: Record<string, unknown>): ResolvedConfig {
  const here = fileURLToPath(import.meta.url);
  const ext = here.endsWith('.ts') ? '.ts' : '.js';
  const script = fileURLToPath(new URL(`../demo/demo-server${ext}`, import.meta.url));
  if (!existsSync(script)) throw new CliExit(ExitCode.Failure, `the bundled demo server is missing (${script}); run npm run build`);
  // From source (development) the child needs the TypeScript loader this process was started with.
  const args = ext === '.ts' ? [...process.execArgv, script] : [script];
  return resolveConfig(
    {
      format: 'demo',
      location: undefined,
      baseDir: process.cwd(),
      doc: {
        listen: '127.0.0.1:8080',
        dataDir: './.gatehouse',
        auth: { mode: 'oauth', tokens: [token] },
        servers: { demo: { command: process.execPath, args, description: 'the bundled demo server' } },
        ...overrides,
      },
    },
    process.env,
  );
}

function printDemoBanner(url: string, config: ResolvedConfig, token: string, adminPassword: string | undefined): void {
  const base = config.publicUrl ?? url;
  const mcp = `${base}/demo/mcp`;
  const lines = [
    '',
    'Gatehouse demo: no gatehouse.yaml here, so one demo MCP server is served, behind OAuth.',
    '',
    `  MCP URL (Streamable HTTP):  ${mcp}`,
    `  Legacy SSE:                 ${base}/demo/sse`,
    `  Every server at once:       ${base}/mcp`,
    adminPassword
      ? `  Sign in as:                 admin / ${adminPassword}   (printed once; change it: gatehouse users passwd admin)`
      : '  Sign in as:                 admin (password printed at first start; reset it: gatehouse users passwd admin)',
    `  Static bearer token:        ${token}   (for clients that send headers; set GATEHOUSE_TOKEN to choose it)`,
    '',
    '  Claude (web, desktop):  Settings > Connectors > Add custom connector, URL above (needs an https publicUrl, e.g. a tunnel)',
    '  ChatGPT:                Settings > Connectors > Create, URL above (https publicUrl as for Claude)',
    `  Claude Code:            claude mcp add --transport http demo ${mcp}`,
    `  VS Code:                "servers": { "demo": { "type": "http", "url": "${mcp}" } }`,
    `  Cursor:                 "mcpServers": { "demo": { "url": "${mcp}" } }`,
    '  Each client registers itself, opens the login page, and asks for your consent once.',
    '',
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startGatehouse } from '../app.js';
import { configWarnings, loadConfig, resolveConfig, type ResolvedConfig } from '../config/index.js';
import { hashPassword, randomToken } from '../crypto/index.js';
import { demoToken, type DemoToken } from '../demo/demo-token.js';
import { createLogger, routeSdkWarnings, type Logger } from '../observability/index.js';
import { openStore } from '../store/index.js';
import { CliExit, ExitCode } from './exit.js';
import { configOverrides } from './flags.js';
import { loadInsecureConfig, warnInsecure } from './serve-insecure.js';

export interface ServeFlags {
  config?: string | undefined;
  listen?: string | undefined;
  publicUrl?: string | undefined;
  dataDir?: string | undefined;
  logLevel?: string | undefined;
  /** TBXark mcp-proxy's -insecure (serve-insecure.ts). */
  insecure?: boolean | undefined;
}

/** `gatehouse serve`: load config (or the zero-config demo), start, and stop cleanly on signals. */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const overrides = configOverrides(flags);

  const insecure = flags.insecure === true ? await loadInsecureConfig(flags.config, overrides) : undefined;
  let config = insecure !== undefined ? insecure.config : await loadConfig({ location: flags.config, overrides });
  let demo: DemoToken | undefined;
  if (!config) {
    // The demo's token is kept in its dataDir (found first), so clients set up with it still get in after a restart.
    demo = demoToken(demoConfig([], overrides).dataDir);
    config = demoConfig([demo.token], overrides);
  }
  if (flags.logLevel) config = { ...config, log: { ...config.log, level: flags.logLevel as ResolvedConfig['log']['level'] } };
  const logger = createLogger({ level: config.log.level, format: config.log.format });
  // The SDK's own warnings ([mcp-sdk] ..., from upstream OAuth clients) become log lines too.
  routeSdkWarnings(logger);
  if (insecure !== undefined) warnInsecure(logger, insecure, config.source.location);
  // A promise rejected with nobody waiting (a bug) is logged, not allowed to end the process
  // and every session with it (Node 20's default).
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? { message: reason.message, stack: reason.stack } : String(reason) }, 'unhandled promise rejection (a bug: please report it)');
  });
  const adminPassword = demo !== undefined ? await ensureDemoAdmin(config, logger) : undefined;
  for (const warning of config.warnings) logger.warn({ source: config.source.location ?? config.source.format }, `config: ${warning}`);
  // What is valid but risky (auth.mode none on a bind other machines reach), as config check says it.
  for (const warning of configWarnings(config)) logger.warn({ source: config.source.location ?? config.source.format }, `config: ${warning}`);
  if (demo === undefined) await warnIfNobodyCanSignIn(config, logger);
  const app = await startGatehouse({ config, logger }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new CliExit(ExitCode.Failure, `cannot listen on ${config.listen.host}:${config.listen.port}: address in use`);
    // A remote server the config describes wrongly (plain http, unreadable tls.ca): a config problem.
    if (err.name === 'RemoteLinkError' && (err.code === 'insecure-url' || err.code === 'bad-config')) throw new CliExit(ExitCode.Usage, err.message);
    throw err;
  });
  logger.info({ url: app.url, servers: config.servers.map((s) => s.name), auth: config.auth.mode }, 'gatehouse is listening');
  if (demo !== undefined) printDemoBanner(app, config, flags, demo, adminPassword);

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

/** The zero-config demo: the bundled demo server behind OAuth (user `admin`) and a static token (demo-token.ts). */
function demoConfig(tokens: string[], overrides: Record<string, unknown>): ResolvedConfig {
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
        auth: { mode: 'oauth', tokens },
        servers: { demo: { command: process.execPath, args, description: 'the bundled demo server' } },
        ...overrides,
      },
    },
    process.env,
  );
}

/** A shell word as typed: quoted only when it must be. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function printDemoBanner(
  app: { url: string; port: number },
  config: ResolvedConfig,
  flags: ServeFlags,
  demo: DemoToken,
  adminPassword: string | undefined,
): void {
  // On every interface without publicUrl there is no address to print for other machines
  // (0.0.0.0 is none): the issuer is localhost's, so are the URLs, and the banner says what to set.
  const anyInterface = !config.publicUrl && ['0.0.0.0', '::', ''].includes(config.listen.host);
  const base = config.publicUrl ?? (anyInterface ? `http://localhost:${app.port}` : app.url);
  const mcp = `${base}/demo/mcp`;
  // `users passwd` must act on this store: the flags that chose it, as given.
  const storeFlags = [
    ...(flags.config ? ['--config', shellWord(flags.config)] : []),
    ...(flags.dataDir ? ['--data-dir', shellWord(flags.dataDir)] : []),
  ].join(' ');
  const passwd = `gatehouse users passwd admin${storeFlags ? ` ${storeFlags}` : ''}`;
  // tokens revoke does not touch it: rotating it is deleting the file.
  const tokenNote =
    demo.file === undefined
      ? 'from GATEHOUSE_TOKEN'
      : `kept in ${demo.file}, the same at every start; delete ${demo.file} to get a new one (restart); set GATEHOUSE_TOKEN to choose it`;
  const lines = [
    '',
    'Gatehouse demo: no gatehouse.yaml here, so one demo MCP server is served, behind OAuth.',
    '',
    ...(anyInterface
      ? [
          `  Listening on every interface (${config.listen.host || '*'}) without a public URL: the URLs below work on this machine only.`,
          '  For other machines, restart with --public-url set to the address they use (e.g. --public-url https://mcp.example.com).',
          '',
        ]
      : []),
    `  MCP URL (Streamable HTTP):  ${mcp}`,
    `  Legacy SSE:                 ${base}/demo/sse`,
    `  Every server at once:       ${base}/mcp`,
    adminPassword
      ? `  Sign in as:                 admin / ${adminPassword}   (printed once; change it: ${passwd})`
      : `  Sign in as:                 admin (password printed at first start; reset it: ${passwd})`,
    `  Static bearer token:        ${demo.token}   (for clients that send headers; ${tokenNote})`,
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

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startGatehouse } from '../app.js';
import { loadConfig, resolveConfig, type ResolvedConfig } from '../config/index.js';
import { randomToken } from '../crypto/index.js';
import { createLogger } from '../observability/index.js';
import { CliExit, ExitCode } from './exit.js';

export interface ServeFlags {
  config?: string | undefined;
  listen?: string | undefined;
  publicUrl?: string | undefined;
  dataDir?: string | undefined;
  logLevel?: string | undefined;
}

/** `gatehouse serve`: load config (or the zero-config demo), start, and stop cleanly on signals. */
export async function serveCommand(flags: ServeFlags): Promise<void> {
  const overrides: Record<string, unknown> = {};
  if (flags.listen) overrides.listen = flags.listen;
  if (flags.publicUrl) overrides.publicUrl = flags.publicUrl;
  if (flags.dataDir) overrides.dataDir = flags.dataDir;

  let config = await loadConfig({ location: flags.config, overrides });
  let demoToken: string | undefined;
  if (!config) {
    demoToken = process.env.GATEHOUSE_TOKEN ?? randomToken(24);
    config = demoConfig(demoToken, overrides);
  }
  if (flags.logLevel) config = { ...config, log: { ...config.log, level: flags.logLevel as ResolvedConfig['log']['level'] } };
  if (config.auth.mode === 'oauth') {
    throw new CliExit(
      ExitCode.Usage,
      'auth.mode: "oauth" is not available in this build yet (the authorization server is being built); ' +
        'set auth.mode to "tokens" (with auth.tokens) or "none"',
    );
  }
  if (config.store.kind === 'postgres') {
    // The store arrives with the authorization server; nothing uses it yet.
  }

  const logger = createLogger({ level: config.log.level, format: config.log.format });
  const app = await startGatehouse({ config, logger }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new CliExit(ExitCode.Failure, `cannot listen on ${config.listen.host}:${config.listen.port}: address in use`);
    // A remote server the config describes wrongly (plain http, unreadable tls.ca): a config problem.
    if (err.name === 'RemoteLinkError' && (err.code === 'insecure-url' || err.code === 'bad-config')) throw new CliExit(ExitCode.Usage, err.message);
    throw err;
  });
  logger.info({ url: app.url, servers: config.servers.map((s) => s.name), auth: config.auth.mode }, 'gatehouse is listening');
  if (demoToken !== undefined) printDemoBanner(app.url, config, demoToken);

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

/** The zero-config demo: the bundled demo server behind a generated static token. */
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
        auth: { mode: 'tokens', tokens: [token] },
        servers: { demo: { command: process.execPath, args, description: 'the bundled demo server' } },
        ...overrides,
      },
    },
    process.env,
  );
}

function printDemoBanner(url: string, config: ResolvedConfig, token: string): void {
  const base = config.publicUrl ?? url;
  const lines = [
    '',
    'Gatehouse demo: no gatehouse.yaml here, so one demo MCP server is served.',
    '',
    `  Streamable HTTP:  ${base}/demo/mcp`,
    `  Legacy SSE:       ${base}/demo/sse`,
    `  All servers:      ${base}/mcp`,
    `  Bearer token:     ${token}   (printed once; set GATEHOUSE_TOKEN to choose it)`,
    '',
    '  Claude Code:   claude mcp add --transport http demo ' + `${base}/demo/mcp --header "Authorization: Bearer ${token}"`,
    `  VS Code:       "servers": { "demo": { "type": "http", "url": "${base}/demo/mcp", "headers": { "Authorization": "Bearer ${token}" } } }`,
    `  Cursor:        "mcpServers": { "demo": { "url": "${base}/demo/mcp", "headers": { "Authorization": "Bearer ${token}" } } }`,
    '  Claude and ChatGPT connectors need OAuth, which arrives with the authorization server;',
    '  until then reach them through a tunnel with a static token only where the client allows headers.',
    '',
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

#!/usr/bin/env node
// The `gatehouse` binary: parses argv and lazy-imports the command, so that
// `gatehouse --version` does not load the gateway.
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config/errors.js';
import { CliExit, ExitCode } from './cli/exit.js';
import { VERSION } from './version.js';

function buildProgram(): Command {
  const program = new Command('gatehouse')
    .description('An OAuth 2.1 gateway and stdio bridge for the Model Context Protocol')
    .version(VERSION, '-v, --version')
    .showHelpAfterError('(run gatehouse --help for usage)')
    .exitOverride();

  program
    .command('serve')
    .description('run the gateway: one HTTP endpoint in front of the configured MCP servers')
    .option('-c, --config <file|url>', 'config file or http(s) URL (default: ./gatehouse.yaml, .json or .yml)')
    .option('-l, --listen <host:port>', 'address to listen on (default 127.0.0.1:8080)')
    .option('--public-url <url>', 'the URL clients reach the gateway at (issuer and base of advertised URLs)')
    .option('--data-dir <dir>', 'where the database and keys live (default ./.gatehouse)')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent')
    .option('--insecure', "skip TLS certificate checks for an https --config URL and for remote servers that set no tls.rejectUnauthorized (TBXark mcp-proxy's -insecure; warned about at start)")
    .addHelpText('after', "\nTBXark mcp-proxy's single-dash flags work too: gatehouse serve -config config.json -insecure")
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { serveCommand } = await import('./cli/serve.js');
      await serveCommand(opts);
    });

  addConnectCommands(program);

  addUsersCommands(program);

  addClientsAndTokensCommands(program);

  const config = program.command('config').description('check, describe and convert configuration files');
  config
    .command('check [file]')
    .description('validate a config file (or the one serve would use) and report every problem')
    .action(async (file: string | undefined) => {
      const { configCheck } = await import('./cli/config.js');
      await configCheck(file);
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file')
    .action(async () => {
      const { configSchema } = await import('./cli/config.js');
      configSchema();
    });
  config
    .command('migrate [file]')
    .description('print a Claude Desktop, TBXark mcp-proxy (v1 or v2) or environment-only setup (a .env file, or --env) in the native format')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .option('--env', "convert this process's environment (DOWNSTREAM_MCP_URL or UPSTREAM_URL, LTPA_TOKEN, OAUTH_CLIENT_ID, ...)")
    .addHelpText(
      'after',
      '\nExamples:\n  gatehouse config migrate mcp-proxy.json\n  gatehouse config migrate .env\n  DOWNSTREAM_MCP_URL=https://corp.example/mcp gatehouse config migrate --env',
    )
    .action(async (file: string | undefined, opts: { output: string; env?: boolean }) => {
      const { configMigrate } = await import('./cli/config.js');
      await configMigrate(file, opts);
    });

  program
    .command('templates')
    .description('the login, consent and error page templates')
    .command('eject [dir]')
    .description('write the built-in page templates to DIR (default: <dataDir>/templates, where serve reads them; edits apply without a restart)')
    .option('-c, --config <file|url>', 'config file or http(s) URL, as for serve (default: ./gatehouse.yaml, .json or .yml)')
    .option('--data-dir <dir>', 'as for serve (default ./.gatehouse)')
    .option('--force', 'overwrite templates that are already there')
    .action(async (dir: string | undefined, opts: Record<string, string | boolean | undefined>) => {
      const { templatesEject } = await import('./cli/templates.js');
      await templatesEject(dir, opts);
    });
  return program;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Auth flags shared by connect and login (CONTRACT.md); `(env: X)` as in connect-options.ts CONNECT_ENV. */
function authOptions(command: Command): Command {
  return command
    .option('-u, --url <url>', 'the remote MCP server, as the URL argument (the Go mcp-proxy form) (env: UPSTREAM_URL)')
    .option('-i, --client-id <id>', 'a pre-registered OAuth client id (env: OAUTH2_CLIENT_ID; with -u also GOOGLE_CLIENT_ID)')
    .option('-s, --client-secret <secret>', 'its secret; may be env:NAME or file:PATH (env: OAUTH2_CLIENT_SECRET; with -u also GOOGLE_CLIENT_SECRET)')
    .option('--client-metadata-url <url>', 'a Client ID Metadata Document URL (the URL is the client_id)')
    .option('--private-key <file>', 'a PEM or JWK private key: authenticate with private_key_jwt')
    .option('--grant <grant>', 'authorization_code, client_credentials or device_code (env: OAUTH2_GRANT)')
    .option('--scope <scopes>', 'scopes to ask for, space separated (env: OAUTH2_SCOPE)')
    .option('--resource <url>', 'the RFC 8707 resource indicator (default: from the server metadata)')
    .option('--callback-port <n>', 'port of the loopback login callback (default: any free port; 53682 for a client id from OAUTH2_CLIENT_ID) (env: OAUTH2_CALLBACK_PORT)')
    .option('--browser-command <cmd>', 'program that opens the login URL (default: the system opener) (env: BROWSER)')
    .option('--token-store <kind>', 'keychain, file or memory (default: keychain where available, else file)')
    .option('--token-url <url>', 'token endpoint, for servers without discovery (env: OAUTH2_TOKEN_URL)')
    .option('--authorization-url <url>', 'authorization endpoint, for servers without discovery (env: OAUTH2_AUTHORIZATION_URL)')
    .option('--audience <id>', "an audience parameter on token and authorization requests (Auth0's API identifier) (env: OAUTH2_AUDIENCE)")
    .option('--auth-style <style>', 'how the client secret goes to the token endpoint: header (HTTP Basic) or body (default: as the server metadata prefers, else header) (env: OAUTH2_AUTH_STYLE)')
    .option('--trace-file <file>', 'append JSONL spans of every HTTP request and OAuth step (never a secret)')
    .option('--config <file>', 'a JSON file with these settings (env: MCP_PROXY_CONFIG)')
    .option('--expected-issuer <url>', 'use only this authorization server: another one is refused before it gets the client id or secret or registers a client (with or without --client-id)')
    .option('--transport <kind>', 'auto, streamable-http or sse (default auto)')
    .option('--header <header>', 'a static request header, "Name: value" (repeatable)', collect)
    .option('--allow-http', 'allow plain http to hosts other than this machine (env: ALLOW_INSECURE_HTTP=true)')
    .option('--timeout <duration>', 'how long to wait for the remote server (default 60s) (env: UPSTREAM_TIMEOUT_MS, milliseconds)')
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent (env: LOG_LEVEL)')
    .addHelpText(
      'after',
      `
Every flag value may be env:NAME or file:PATH. Where a flag is absent, the --config file's key
(the flag in camelCase) is used, then the environment variable named above, so that a desktop
client's "env" block can set them. A file in mcp-oauth2-proxy's shape ({ "upstream": { "url" },
"oauth2": { ... } }) yields to the environment instead, as it does there.
No variable: --transport, --resource, --header, --token-store, --client-metadata-url,
--private-key, --expected-issuer, --trace-file: put them in the JSON file (MCP_PROXY_CONFIG=FILE).`,
    );
}

/** Go programs' long flags, by command: the Go mcp-proxy's (seed 002) and TBXark mcp-proxy's (seed 003). */
const GO_FLAGS: Readonly<Record<string, { long: readonly string[]; booleans: readonly string[]; short: string }>> = {
  connect: { long: ['url', 'client-id', 'client-secret'], booleans: [], short: 'uis' },
  login: { long: ['url', 'client-id', 'client-secret'], booleans: [], short: 'uis' },
  logout: { long: ['url', 'client-id', 'client-secret'], booleans: [], short: 'uis' },
  serve: { long: ['config'], booleans: ['insecure', 'help'], short: 'c' },
};

/**
 * Go command lines: Go's flag package also takes one dash before a long name (`-url URL`,
 * `-config FILE`) and `-u=URL`, which commander would read as `-u` with the value `rl` or
 * `=URL` (`-c` with `onfig`); a boolean may be written `-insecure=true` or `=false`.
 */
function goStyleArgs(args: string[], flags: (typeof GO_FLAGS)[string]): string[] {
  const end = args.indexOf('--');
  return args.flatMap((arg, i) => {
    if (end !== -1 && i > end) return [arg];
    const long = /^-([a-z-]+)(=.*)?$/.exec(arg);
    if (long && flags.long.includes(long[1]!)) return [`--${long[1]}${long[2] ?? ''}`];
    if (long && flags.booleans.includes(long[1]!)) {
      if (long[2] === undefined || /^=(1|t|true|TRUE|True)$/.test(long[2])) return [`--${long[1]}`];
      if (/^=(0|f|false|FALSE|False)$/.test(long[2])) return [];
    }
    const short = /^-([a-z])=(.*)$/.exec(arg);
    return short && flags.short.includes(short[1]!) ? [`-${short[1]}${short[2]}`] : [arg];
  });
}

function addConnectCommands(program: Command): void {
  authOptions(
    program
      .command('connect [url]')
      .description('a stdio MCP server forwarding everything to the remote MCP server at URL (env: UPSTREAM_URL)'),
  ).action(async (url: string | undefined, opts: Record<string, unknown>) => {
    const { connectCommand } = await import('./cli/connect.js');
    await connectCommand(url, opts);
  });
  authOptions(program.command('login [url]').description('run the login for URL now and store the tokens')).action(
    async (url: string | undefined, opts: Record<string, unknown>) => {
      const { loginCommand } = await import('./cli/connect.js');
      await loginCommand(url, opts);
    },
  );
  program
    .command('logout [url]')
    .description('forget the stored tokens and client registration for URL')
    .option('-u, --url <url>', 'the remote MCP server, as the URL argument (env: UPSTREAM_URL)')
    .option('--token-store <kind>', 'keychain, file or memory (default: keychain where available, else file)')
    .option('--config <file>', 'a JSON file with the URL (env: MCP_PROXY_CONFIG)')
    .option('--log-level <level>', 'log level (env: LOG_LEVEL)')
    .action(async (url: string | undefined, opts: Record<string, string | undefined>) => {
      const { logoutCommand } = await import('./cli/connect.js');
      await logoutCommand(url, opts);
    });
}

/** `gatehouse users ...` (CONTRACT.md): local users in the store `serve` would use. */
function addUsersCommands(program: Command): void {
  const storeOptions = (c: Command) =>
    c
      .option('-c, --config <file|url>', 'config file or http(s) URL, as for serve (default: ./gatehouse.yaml, .json or .yml)')
      .option('--data-dir <dir>', 'where the database lives, as for serve (default ./.gatehouse)');
  const users = program.command('users').description('manage local users (who may log in to the authorization server)');
  storeOptions(users.command('add <name>').description('add a user; asks for the password on the terminal'))
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (name: string, opts: Record<string, string | boolean | undefined>) => {
      const { usersAdd } = await import('./cli/users.js');
      await usersAdd(name, opts);
    });
  storeOptions(users.command('list').description('list the users, one name a line'))
    .option('--json', 'print names and dates as JSON')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { usersList } = await import('./cli/users.js');
      await usersList(opts);
    });
  storeOptions(users.command('remove <name>').description('remove a user, with their sessions and tokens')).action(
    async (name: string, opts: Record<string, string | boolean | undefined>) => {
      const { usersRemove } = await import('./cli/users.js');
      await usersRemove(name, opts);
    },
  );
  users
    .command('hash')
    .description('print the hash of a password, for auth.users.NAME.passwordHash in a config file; asks on the terminal, stores nothing')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { usersHash } = await import('./cli/users.js');
      await usersHash(opts);
    });
  storeOptions(users.command('passwd <name>').description("change a user's password and end their sessions and tokens; asks on the terminal"))
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--keep-sessions', 'keep their sessions, grants and tokens (by default a new password ends them)')
    .action(async (name: string, opts: Record<string, string | boolean | undefined>) => {
      const { usersPasswd } = await import('./cli/users.js');
      await usersPasswd(name, opts);
    });
}

/** `gatehouse clients ...` and `gatehouse tokens ...` (CONTRACT.md), on the store `serve` would use. */
function addClientsAndTokensCommands(program: Command): void {
  const storeOptions = (c: Command) =>
    c
      .option('-c, --config <file|url>', 'config file or http(s) URL, as for serve (default: ./gatehouse.yaml, .json or .yml)')
      .option('--data-dir <dir>', 'where the database lives, as for serve (default ./.gatehouse)')
      .option('--json', 'print JSON');
  type Opts = Record<string, string | string[] | boolean | undefined>;
  const clients = program.command('clients').description('manage pre-registered OAuth clients (kept in the store)');
  storeOptions(clients.command('add').description('register a client; prints its client_id (and, with --confidential, its secret, once)'))
    .option('--name <name>', 'the name the consent page shows')
    .option('--redirect-uri <uri>', 'where the client receives the code: https, loopback http or an app scheme (repeatable)', collect)
    .option('--confidential', 'give the client a secret (client_secret_basic or _post); the code flow only unless --grant client_credentials')
    .option('--grant <grant>', 'client_credentials: also let it get tokens with no user (implies --confidential; repeatable)', collect)
    .option('--grants <list>', 'its grants exactly, comma separated: authorization_code,refresh_token (default), client_credentials')
    .option('--resource <path|url>', 'the resource its tokens are for when it names none, e.g. /api for ChatGPT Actions (a protected path or its URL)')
    .option('--no-pkce', 'let it sign in without PKCE (ChatGPT Actions send none); only with --confidential')
    .option(
      '--client-credentials-resource <path|url>',
      'with client_credentials: a resource its client_credentials tokens may be for, instead of --resource alone (repeatable; a protected path or its URL)',
      collect,
    )
    .addHelpText('after', '\nChatGPT Actions: gatehouse clients add --name ChatGPT --redirect-uri https://chatgpt.com/aip/g-.../oauth/callback --confidential --resource /api --no-pkce')
    .action(async (opts: Opts) => {
      const { clientsAdd } = await import('./cli/clients.js');
      await clientsAdd(opts);
    });
  storeOptions(clients.command('list').description('list the clients in the store (never a secret)')).action(async (opts: Opts) => {
    const { clientsList } = await import('./cli/clients.js');
    await clientsList(opts);
  });
  const update = storeOptions(clients.command('update <id>').description("change a client added here; its client_id and (unless --rotate-secret) its secret stay"))
    .option('--name <name>', 'the name the consent page shows')
    .option('--redirect-uri <uri>', 'replace its redirect URIs with these (repeatable)', collect)
    .option('--add-redirect-uri <uri>', 'add a redirect URI to the ones it has (repeatable)', collect)
    .option('--resource <path|url>', 'the resource its tokens are for when it names none (a protected path or its URL)')
    .option('--no-resource', 'no such resource any more: its tokens are for the resource it names')
    .option('--pkce', 'require PKCE again')
    .option('--no-pkce', 'let it sign in without PKCE; only for a confidential client')
    .option('--grants <list>', 'its grants exactly, comma separated: authorization_code,refresh_token, client_credentials (confidential clients only)')
    .option(
      '--client-credentials-resource <path|url>',
      'replace the resources its client_credentials tokens may be for with these (repeatable; a protected path or its URL)',
      // After --no-client-credentials-resource the previous value is false (refused below as contradicting).
      (value: string, previous: unknown) => [...(Array.isArray(previous) ? (previous as string[]) : []), value],
    )
    .option('--no-client-credentials-resource', 'no such list any more: its client_credentials tokens are held to --resource, if it has one')
    .option('--rotate-secret', 'give a confidential client a new secret, printed once; the old one stops working (tokens already issued stay)')
    .addHelpText(
      'after',
      '\nChatGPT Actions, when the GPT editor shows another callback URL: gatehouse clients update ID --redirect-uri https://chatgpt.com/aip/g-.../oauth/callback' +
        '\nOnly clients added with gatehouse clients add: edit auth.clients in the config file; a self-registered (DCR) client is its own.',
    );
  // Opposite flags given together: commander keeps the last; refused instead (bad usage, exit 2).
  const given = new Set<string>();
  const opposed = ['resource', 'pkce', 'client-credentials-resource'];
  for (const flag of opposed.flatMap((f) => [f, `no-${f}`])) update.on(`option:${flag}`, () => given.add(flag));
  update.action(async (id: string, opts: Opts) => {
    const contradicting = opposed.filter((f) => given.has(f) && given.has(`no-${f}`)).map((f) => `--${f} and --no-${f}`);
    const { clientsUpdate } = await import('./cli/clients.js');
    await clientsUpdate(id, { ...opts, contradicting });
  });
  storeOptions(clients.command('remove <id>').description('remove a client with its grants and tokens')).action(async (id: string, opts: Opts) => {
    const { clientsRemove } = await import('./cli/clients.js');
    await clientsRemove(id, opts);
  });

  const tokens = program.command('tokens').description('list and revoke grants and tokens (never their values)');
  storeOptions(tokens.command('list').description('list grants and tokens: kind, user, client, grant, expiry')).action(async (opts: Opts) => {
    const { tokensList } = await import('./cli/tokens.js');
    await tokensList(opts);
  });
  storeOptions(tokens.command('revoke').description('revoke the grants and tokens of a user, of a client, or all of them'))
    .option('--user <name>', "revoke this user's grants and tokens")
    .option('--client <id>', "revoke this client's grants and tokens")
    .option('--all', 'revoke every grant and token')
    .action(async (opts: Opts) => {
      const { tokensRevoke } = await import('./cli/tokens.js');
      await tokensRevoke(opts);
    });
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    const command = argv[2];
    const goFlags = command === undefined ? undefined : GO_FLAGS[command];
    await program.parseAsync(goFlags === undefined ? argv : goStyleArgs(argv, goFlags));
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof ConfigError) {
      console.error(`gatehouse: ${err.message}`);
      return ExitCode.Usage;
    }
    if (err instanceof CliExit) {
      if (err.message) console.error(`gatehouse: ${err.message}`);
      return err.code;
    }
    console.error(`gatehouse: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.GATEHOUSE_DEBUG && err instanceof Error) console.error(err.stack);
    return ExitCode.Failure;
  }
}

const code = await main(process.argv);
// `serve` keeps running after main returns; other commands end here.
if (code !== ExitCode.Ok) process.exit(code);

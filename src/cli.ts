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
    .action(async (opts: Record<string, string | undefined>) => {
      const { serveCommand } = await import('./cli/serve.js');
      await serveCommand(opts);
    });

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
    .command('migrate <file>')
    .description('print a Claude Desktop, TBXark mcp-proxy or environment-only setup in the native format')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action(async (file: string, opts: { output: string }) => {
      const { configMigrate } = await import('./cli/config.js');
      await configMigrate(file, opts.output);
    });
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
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

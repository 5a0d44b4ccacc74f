#!/usr/bin/env node
// Runs the official MCP conformance suite's *client* scenarios against `gatehouse connect`,
// through scripts/conformance/bridge-driver.mjs (the suite starts the driver with the mock
// server's URL; the driver starts the bridge and acts as the MCP client over its stdio).
//
//   node scripts/conformance/run-client.mjs                       # client --suite auth
//   node scripts/conformance/run-client.mjs --scenario auth/basic-cimd
//   node scripts/conformance/run-client.mjs \
//        --expected-failures scripts/conformance/expected-failures-client-auth.yaml
//
// Options:
//   --suite NAME              suite to run (default auth)
//   --requirements REV        conformance-next (0.2.0-alpha): the scenarios revision REV
//                             requires (e.g. 2026-07-28), instead of --suite
//   --scenario NAME           one scenario instead of the suite
//   --expected-failures FILE  baseline of known failures (passed through)
//   --timeout MS              per-scenario timeout (default 120000: scenarios run in
//                             parallel, and each starts a bridge under tsx)
//   --output-dir DIR          where checks.json files go (default: a fresh temp directory)
//   --next                    use conformance-next (0.2.0-alpha) with --suite/--scenario
//   --verbose                 passed through
//
// @modelcontextprotocol/conformance 0.1.16 imports `globSync` from `fs` (Node 22+): the child
// runs with the globsync-hook.mjs preload, as in run-server.mjs. The exit code is the suite's.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { suiteNodeArgs } from './suite-cli.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(message) {
  if (message) console.error(`run-client: ${message}`);
  console.error(
    'usage: node scripts/conformance/run-client.mjs [--suite auth | --scenario NAME] ' +
      '[--expected-failures FILE] [--timeout MS] [--output-dir DIR] [--verbose]',
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      suite: { type: 'string', default: 'auth' },
      requirements: { type: 'string' },
      scenario: { type: 'string' },
      'expected-failures': { type: 'string' },
      timeout: { type: 'string', default: '120000' },
      'output-dir': { type: 'string' },
      next: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (error) {
  usage(error.message);
}
if (values.help) usage();

// The suite splits --command on spaces and runs it through a shell: keep paths space-free.
const driver = path.join(here, 'bridge-driver.mjs');
const command = `${process.execPath} ${driver}`;
const cliArgs = ['client', '--command', command, '--timeout', values.timeout];
if (values.scenario) cliArgs.push('--scenario', values.scenario);
else if (values.requirements) cliArgs.push('--requirements', values.requirements);
else cliArgs.push('--suite', values.suite);
if (values['expected-failures']) cliArgs.push('--expected-failures', path.resolve(values['expected-failures']));
const outputDir = values['output-dir'] ?? mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-client-'));
cliArgs.push('--output-dir', outputDir);
if (values.verbose) cliArgs.push('--verbose');

const nodeArgs = suiteNodeArgs(values.requirements || values.next ? 'conformance-next' : '@modelcontextprotocol/conformance', cliArgs);
console.error(`run-client: node ${nodeArgs.join(' ')}`);
console.error(`run-client: results in ${outputDir}`);

const started = Date.now();
// The driver speaks the revision under test (bridge-driver.mjs reads DRIVER_PROTOCOL).
const env = { ...process.env };
if (values.requirements) env.DRIVER_PROTOCOL = values.requirements;
const child = spawn(process.execPath, nodeArgs, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  console.error(`run-client: finished in ${((Date.now() - started) / 1000).toFixed(1)}s (exit ${code ?? signal})`);
  process.exit(code ?? 1);
});

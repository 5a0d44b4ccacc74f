#!/usr/bin/env node
// Runs the official MCP conformance suite's *server* scenarios against a URL.
//
//   node scripts/conformance/run-server.mjs --url http://127.0.0.1:3000/mcp --suite 2025
//   node scripts/conformance/run-server.mjs --url http://127.0.0.1:3000/mcp --suite 2026 \
//        --expected-failures scripts/conformance/expected-failures-2026.yaml
//
// --suite 2025  @modelcontextprotocol/conformance (0.1.x): `server --url URL --suite active`
// --suite 2026  conformance-next (0.2.0-alpha): `server --url URL --requirements 2026-07-28`
//
// Other options:
//   --expected-failures FILE  baseline of known failures (passed through)
//   --scenario NAME           run one scenario instead of the whole suite (debugging;
//                             for 2026 it runs at --spec-version 2026-07-28)
//   --output-dir DIR          where the CLI writes checks.json files (default: a fresh
//                             temp directory, so runs never litter the repository)
//   --verbose                 passed through
//
// Both CLIs `import { globSync } from "fs"`, which Node 20 lacks; the child is
// started with the globsync-hook.mjs preload that polyfills it. The exit code
// is the suite's.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { suiteNodeArgs } from './suite-cli.mjs';

const SUITES = {
  2025: { pkg: '@modelcontextprotocol/conformance', args: (url) => ['server', '--url', url, '--suite', 'active'] },
  2026: { pkg: 'conformance-next', args: (url) => ['server', '--url', url, '--requirements', '2026-07-28'] },
};

function usage(message) {
  if (message) console.error(`run-server: ${message}`);
  console.error(
    'usage: node scripts/conformance/run-server.mjs --url URL --suite 2025|2026 ' +
      '[--expected-failures FILE] [--scenario NAME] [--output-dir DIR] [--verbose]',
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      url: { type: 'string' },
      suite: { type: 'string' },
      'expected-failures': { type: 'string' },
      scenario: { type: 'string' },
      'output-dir': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (error) {
  usage(error.message);
}
if (values.help) usage();
if (!values.url) usage('--url is required');
const suite = SUITES[values.suite];
if (!suite) usage(`--suite must be 2025 or 2026 (got ${values.suite ?? 'nothing'})`);

let cliArgs = suite.args(values.url);
if (values.scenario) {
  // A single scenario replaces the suite/requirements selection.
  cliArgs = ['server', '--url', values.url, '--scenario', values.scenario];
  if (values.suite === '2026') cliArgs.push('--spec-version', '2026-07-28');
}
if (values['expected-failures']) cliArgs.push('--expected-failures', path.resolve(values['expected-failures']));
const outputDir = values['output-dir'] ?? mkdtempSync(path.join(tmpdir(), `gatehouse-conformance-${values.suite}-`));
cliArgs.push('--output-dir', outputDir);
if (values.verbose) cliArgs.push('--verbose');

const nodeArgs = suiteNodeArgs(suite.pkg, cliArgs);
console.error(`run-server: node ${nodeArgs.join(' ')}`);
console.error(`run-server: results in ${outputDir}`);

const started = Date.now();
const child = spawn(process.execPath, nodeArgs, { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  console.error(`run-server: suite ${values.suite} finished in ${((Date.now() - started) / 1000).toFixed(1)}s (exit ${code ?? signal})`);
  process.exit(code ?? 1);
});


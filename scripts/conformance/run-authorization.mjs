#!/usr/bin/env node
// Runs the official MCP conformance suite's *authorization-server* scenarios
// (conformance-next = @modelcontextprotocol/conformance 0.2.0-alpha, `authorization`)
// against Gatehouse's authorization server.
//
//   node scripts/conformance/run-authorization.mjs --url http://127.0.0.1:8080 \
//        --client-id ID --resource http://127.0.0.1:8080/mcp --port 3000 \
//        [--browser-command CMD] [--expected-failures FILE] [--output-dir DIR] [--verbose]
//
// The suite's scenarios run in order, and the second needs the first's result:
//   authorization-server-metadata-endpoint  RFC 8414 / OIDC discovery document
//   authorization-code-grant                PKCE code flow with a real login, then the token
//                                           endpoint (public client: token_endpoint_auth none)
// For the code grant the suite starts a callback server on 127.0.0.1:PORT and prints an
// authorization URL on stdout for a person to open; it then waits up to 5 minutes. Register
// http://127.0.0.1:PORT/callback for the client (any port matches a loopback redirect, RFC 8252).
// With --browser-command the URL is passed to CMD (as its last argument) instead, so a script
// can sign in; the URL is also printed on stderr as `run-authorization: authorize URL`, which
// is what test/conformance-authorization.test.ts watches for.
//
// The CLI has no --expected-failures of its own: this script reads the checks.json files it
// writes and compares the failed checks with the baseline (a YAML list `authorization:` of
// check ids). Exit 0 when the failures are exactly the baseline's, else 1 (a stale entry, one
// that passed, also fails the run). The suite's CLI needs fs.globSync (Node 22): it runs
// with the globsync-hook.mjs preload, as in run-server.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { suiteNodeArgs } from './suite-cli.mjs';

function usage(message) {
  if (message) console.error(`run-authorization: ${message}`);
  console.error(
    'usage: node scripts/conformance/run-authorization.mjs --url ISSUER --client-id ID [--resource URI] ' +
      '[--port N] [--browser-command CMD] [--expected-failures FILE] [--output-dir DIR] [--verbose]',
  );
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      url: { type: 'string' },
      'client-id': { type: 'string' },
      resource: { type: 'string' },
      port: { type: 'string', default: '3000' },
      'browser-command': { type: 'string' },
      'expected-failures': { type: 'string' },
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
if (!values['client-id']) usage('--client-id is required (the code grant is skipped without one)');

/** check id -> reason: the failures we accept, with why. */
function readBaseline(file) {
  if (!file) return new Set();
  const doc = parseYaml(readFileSync(file, 'utf8')) ?? {};
  const list = doc.authorization ?? [];
  if (!Array.isArray(list) || list.some((e) => typeof e !== 'string')) usage(`${file}: "authorization" must be a list of check ids`);
  return new Set(list);
}
const baseline = readBaseline(values['expected-failures']);

const outputDir = values['output-dir'] ?? mkdtempSync(path.join(tmpdir(), 'gatehouse-conformance-authorization-'));
const cliArgs = ['authorization', '--url', values.url, '--client-id', values['client-id'], '--port', values.port, '--output-dir', outputDir];
if (values.resource) cliArgs.push('--resource', values.resource);
if (values.verbose) cliArgs.push('--verbose');
const nodeArgs = suiteNodeArgs('conformance-next', cliArgs);
console.error(`run-authorization: node ${nodeArgs.join(' ')}`);
console.error(`run-authorization: results in ${outputDir}`);

const child = spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));

// The suite prints the authorization URL on a line of its own; it carries response_type=code.
const lines = createInterface({ input: child.stdout });
lines.on('line', (line) => {
  process.stdout.write(`${line}\n`);
  const url = URL.parse(line.trim());
  if (!url || !/^https?:$/.test(url.protocol) || url.searchParams.get('response_type') !== 'code') return;
  console.error(`run-authorization: authorize ${url.href}`);
  if (values['browser-command']) openWith(values['browser-command'], url.href);
});

function openWith(command, url) {
  const [program, ...args] = command.split(' ').filter(Boolean);
  const browser = spawn(program, [...args, url], { stdio: ['ignore', 'inherit', 'inherit'] });
  browser.on('exit', (code) => {
    if (code !== 0) console.error(`run-authorization: browser command exited with ${code}`);
  });
}

/** Every check the CLI wrote, with the scenario it came from. */
function readChecks(dir) {
  const checks = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const scenario = entry.name.replace(/^authorization-server-/, '').replace(/-\d{4}-\d{2}-\d{2}T.*$/, '');
    let list;
    try {
      list = JSON.parse(readFileSync(path.join(dir, entry.name, 'checks.json'), 'utf8'));
    } catch {
      continue;
    }
    for (const check of list) checks.push({ scenario, ...check });
  }
  return checks;
}

child.on('exit', (code, signal) => {
  const checks = readChecks(outputDir);
  const count = (status) => checks.filter((c) => c.status === status).length;
  const scenarios = new Set(checks.map((c) => c.scenario));
  console.error(
    `run-authorization: ${scenarios.size} scenarios, ${checks.length} checks: ${count('SUCCESS')} passed, ` +
      `${count('FAILURE')} failed, ${count('WARNING')} warnings, ${count('SKIPPED')} skipped (suite exit ${code ?? signal})`,
  );
  const failed = new Set(checks.filter((c) => c.status === 'FAILURE').map((c) => c.id));
  const unexpected = [...failed].filter((id) => !baseline.has(id));
  const stale = [...baseline].filter((id) => !failed.has(id));
  for (const id of unexpected) console.error(`run-authorization: FAILED ${id}: ${checks.find((c) => c.id === id)?.errorMessage ?? ''}`);
  for (const id of stale) console.error(`run-authorization: stale baseline entry ${id} (it passes now: remove it)`);
  if (checks.length === 0) console.error('run-authorization: the suite wrote no results');
  // A skipped code grant (no client id, no supported auth method) is not a pass.
  const skipped = checks.filter((c) => c.status === 'SKIPPED').map((c) => c.id);
  for (const id of skipped) console.error(`run-authorization: SKIPPED ${id}`);
  process.exit(checks.length === 0 || unexpected.length || stale.length || skipped.length ? 1 : 0);
});

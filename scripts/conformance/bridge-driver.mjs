#!/usr/bin/env node
// The conformance suite's client under test: `gatehouse connect` plus a tiny MCP client.
//
// The suite runs `node scripts/conformance/bridge-driver.mjs <mock server URL>` with
// MCP_CONFORMANCE_SCENARIO and MCP_CONFORMANCE_CONTEXT (JSON: credentials for the
// pre-registration and client-credentials scenarios). This driver starts the bridge with the
// flags that scenario calls for, speaks raw JSON-RPC over the bridge's stdio (initialize,
// tools/list, tools/call), closes stdin and exits 0 when every request got a result.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const serverUrl = process.argv[process.argv.length - 1];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = process.env.MCP_CONFORMANCE_CONTEXT ? JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT) : {};
// DRIVER_PROTOCOL (set by run-client.mjs --requirements 2026-07-28): the revision the driver speaks.
const protocol = process.env.DRIVER_PROTOCOL ?? '2025-11-25';
const CIMD_URL = 'https://conformance-test.local/client-metadata.json';

const flags = [
  '--token-store', 'memory',
  '--browser-command', `${process.execPath} ${path.join(here, 'fake-browser.mjs')}`,
  '--log-level', process.env.DRIVER_LOG_LEVEL ?? 'debug',
];
if (scenario.startsWith('auth/client-credentials')) {
  flags.push('--grant', 'client_credentials', '--client-id', context.client_id);
  if (context.private_key_pem) {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-cc-')), 'key.pem');
    writeFileSync(file, context.private_key_pem, { mode: 0o600 });
    flags.push('--private-key', file);
  } else {
    flags.push('--client-secret', context.client_secret);
  }
} else if (context.client_id) {
  flags.push('--client-id', context.client_id);
  if (context.client_secret) flags.push('--client-secret', context.client_secret);
} else {
  // Used only where the authorization server says it fetches metadata documents; DCR otherwise.
  flags.push('--client-metadata-url', CIMD_URL);
}

const cli = path.join(root, 'src', 'cli.ts');
const child = spawn(process.execPath, ['--import', 'tsx', cli, 'connect', serverUrl, ...flags], {
  cwd: root,
  stdio: ['pipe', 'pipe', 'inherit'],
});

const pending = new Map();
let buffer = '';
let failed = false;
child.stdout.on('data', (chunk) => {
  buffer += chunk.toString();
  let nl;
  while ((nl = buffer.indexOf('\n')) !== -1) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (!line.trim()) continue;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      console.error(`driver: the bridge wrote something that is not JSON to stdout: ${line.slice(0, 200)}`);
      failed = true;
      continue;
    }
    if (message.id !== undefined && pending.has(message.id) && !message.method) {
      const { resolve } = pending.get(message.id);
      pending.delete(message.id);
      resolve(message);
    } else if (message.method && message.id !== undefined) {
      // A server request (roots, sampling, ...): answer that we do not support it.
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'not supported by the driver' } })}\n`);
    }
  }
});

const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
let nextId = 1;
function request(method, params) {
  const id = nextId++;
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) })}\n`);
  return Promise.race([
    new Promise((resolve) => pending.set(id, { resolve })),
    exited.then((code) => ({ error: { code: -1, message: `bridge exited (${code}) before answering ${method}` } })),
  ]);
}

function check(method, reply) {
  if (reply.error) {
    console.error(`driver: ${method} failed: ${JSON.stringify(reply.error)}`);
    failed = true;
    return undefined;
  }
  return reply.result;
}

const timer = setTimeout(() => {
  console.error('driver: timed out');
  child.kill('SIGTERM');
  process.exit(1);
}, Number(process.env.DRIVER_TIMEOUT_MS ?? 110_000));

const clientInfo = { name: 'gatehouse-conformance-driver', version: '1.0.0' };
if (protocol === '2026-07-28') {
  // Stateless revision: no initialize; every request carries the _meta envelope, from which
  // the bridge's HTTP link derives the MCP-Protocol-Version and Mcp-Method headers.
  const meta = {
    'io.modelcontextprotocol/protocolVersion': protocol,
    'io.modelcontextprotocol/clientInfo': clientInfo,
    'io.modelcontextprotocol/clientCapabilities': {},
  };
  const list = check('tools/list', await request('tools/list', { _meta: meta }));
  const tool = list?.tools?.[0];
  if (tool) check('tools/call', await request('tools/call', { name: tool.name, arguments: {}, _meta: meta }));
} else {
  const init = check('initialize', await request('initialize', { protocolVersion: protocol, capabilities: {}, clientInfo }));
  if (init) {
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    const list = check('tools/list', await request('tools/list', {}));
    const tool = list?.tools?.[0];
    if (tool) check('tools/call', await request('tools/call', { name: tool.name, arguments: {} }));
  }
}
child.stdin.end();
const code = await exited;
clearTimeout(timer);
if (code !== 0) {
  console.error(`driver: the bridge exited with ${code}`);
  failed = true;
}
process.exit(failed ? 1 : 0);

// Runs the `gatehouse` CLI from source the way a person would, for tests of its commands.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, expect } from 'vitest';
import { RAW_FIXTURE } from './gateway.js';

export const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
// Resolved here, so that the CLI runs from any working directory.
export const TSX = import.meta.resolve('tsx');
// The environment may name a config file; the tests choose their own.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'MCP_GATEHOUSE_CONFIG'));

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `gatehouse ARGS...` in `cwd`, with `input` on stdin and `env` added; never blocks the test process. */
export function runCli(args: string[], opts: { cwd: string; input?: string; env?: Readonly<Record<string, string>> }): Promise<CliRun> {
  return new Promise<CliRun>((resolve, reject) => {
    const env = opts.env === undefined ? ENV : { ...ENV, ...opts.env };
    const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A temporary root for a test file, and fresh working directories inside it. */
export function tempRoot(prefix: string): { root: string; freshDir: () => string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    root,
    freshDir: () => {
      const d = join(root, `w${++n}`);
      mkdirSync(d);
      return d;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A running `gatehouse serve` child: its base URL once listening, its stderr so far. */
export interface ServeRun {
  readonly child: ChildProcess;
  readonly base: string;
  readonly stderr: () => string;
}

/** The serve runs a test file keeps here are killed after each test (a failed one leaves none running). */
export function servesKilledAfterEach(): ServeRun[] {
  const serving: ServeRun[] = [];
  afterEach(() => {
    for (const s of serving.splice(0)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  return serving;
}

/** Starts `gatehouse serve ARGS...` and resolves once it logs the URL it listens on. */
export function startServe(args: string[], cwd: string, env: Record<string, string> = {}): Promise<ServeRun> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', ...args], { cwd, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start:\n${err}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, base: m[1]!, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${err}`));
    });
  });
}

/** A running OAuth `serve` with a client of its own (serveWithClient). */
export interface ServeWithClient {
  /** The gateway's base URL; the fixture server is `${base}/raw/mcp`. */
  readonly base: string;
  /** The authorization server's issuer, as its metadata says. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dir: string;
  readonly config: string;
}

/**
 * `gatehouse serve` in a fresh `dir` (auth.mode oauth, the raw fixture as server `raw`, user
 * alice with `password`) with a client added by `gatehouse clients add CLIENT_ARGS`; the run
 * goes into `serving` (servesKilledAfterEach).
 */
export async function serveWithClient(dir: string, password: string, clientArgs: string[], serving: ServeRun[]): Promise<ServeWithClient> {
  const config = join(dir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'oauth' }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } }));
  const user = await runCli(['users', 'add', 'alice', '--password-stdin', '--config', config], { cwd: dir, input: `${password}\n` });
  expect(user.status, user.stderr).toBe(0);
  const added = await runCli(['clients', 'add', ...clientArgs, '--json', '--config', config], { cwd: dir });
  expect(added.status, added.stderr).toBe(0);
  const { clientId, clientSecret } = JSON.parse(added.stdout) as { clientId: string; clientSecret: string };
  const run = await startServe(['--config', config], dir);
  serving.push(run);
  const metadata = (await (await fetch(`${run.base}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
  return { base: run.base, issuer: metadata.issuer, clientId, clientSecret, dir, config };
}

/** `clients add` arguments for a confidential client of a desktop app's browser login. */
export const DESK_CLIENT = ['--name', 'Desk', '--redirect-uri', 'http://127.0.0.1/callback', '--confidential'];

/** The stand-in browser (fixtures/fake-opener.mjs): `--browser-command` logs in as FAKE_OPENER_USERNAME. */
export const OPENER = fileURLToPath(new URL('../fixtures/fake-opener.mjs', import.meta.url));

/**
 * `gatehouse connect ARGS...` driven over stdio by the SDK client for one tools/call (the raw
 * fixture's echo, with `via`, which the answer must carry); its whole stderr once it has
 * exited. A failure (connect or call) is thrown with that stderr. `failed`, when given, ends
 * the wait early by rejecting (the stand-in browser gave up, say).
 */
export async function connectToolCall(args: string[], env: Record<string, string>, options: { via?: string; failed?: Promise<never> } = {}): Promise<string> {
  const via = options.via ?? 'the bridge';
  const transport = new StdioClientTransport({ command: process.execPath, args: ['--import', TSX, CLI, 'connect', ...args], env: { ...ENV, ...env } as Record<string, string>, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'gatehouse-connect-test', version: '1.0.0' });
  try {
    const call = (async () => {
      await client.connect(transport);
      return client.callTool({ name: 'echo', arguments: { via } });
    })();
    const echoed = await (options.failed === undefined ? call : Promise.race([options.failed, call])).catch((error: unknown) => {
      throw new Error(`${String(error)}\nbridge stderr:\n${stderr}`);
    });
    expect(JSON.stringify(echoed.content)).toContain(via);
  } finally {
    await client.close();
  }
  return stderr;
}

/**
 * `gatehouse connect ARGS...` sent one initialize, for a run expected to fail (a refused
 * login): stdin ends at its first answer, if any. Its exit status and whole stderr.
 */
export function connectUntilExit(args: string[], env: Record<string, string>, cwd: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'connect', ...args], { cwd, env: { ...ENV, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<{ status: number | null; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stderr })));
  // An answer to initialize (the login went through): nothing more to ask, stdin ends.
  child.stdout.once('data', () => child.stdin.end());
  const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gatehouse-connect-test', version: '1.0.0' } } };
  child.stdin.write(`${JSON.stringify(initialize)}\n`);
  return closed;
}

/** The URLs a `connect --trace-file FILE` run fetched (its http spans; URLs only, never a secret). */
export function tracedUrls(traceFile: string): string[] {
  if (!existsSync(traceFile)) return [];
  return readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { kind: string; url?: string })
    .filter((span) => span.kind === 'http' && span.url !== undefined)
    .map((span) => span.url!);
}

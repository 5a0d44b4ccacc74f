// What the benchmark measures: how to start each target (the gateway, the peers a user
// would otherwise pick, the upstream served directly) and the MCP URL to load it at.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fetchToken, type TokenRequest } from './load.js';
import { freePort, start, stop, waitForHttp, type Proc } from './procs.js';

export const ROOT = resolve(import.meta.dirname, '..');
const BENCH = join(ROOT, 'bench');
const NODE = process.execPath;

export type UpstreamKind = 'raw' | 'sdk';

/** The stdio upstream command (node + args) for each echo variant. */
export function stdioUpstream(kind: UpstreamKind): { command: string; args: string[] } {
  return kind === 'raw' ? { command: NODE, args: [join(BENCH, 'echo-server.mjs')] } : { command: NODE, args: [join(BENCH, 'echo-sdk.mjs')] };
}

export interface Running {
  readonly key: string;
  readonly label: string;
  readonly url: string;
  readonly proc: Proc;
  /** Headers every request to `url` needs (the gateway with OAuth on: a bearer token). */
  readonly headers?: Readonly<Record<string, string>>;
  /** With OAuth on: how to ask the gateway's token endpoint for a client_credentials token. */
  readonly token?: TokenRequest;
  stop(): Promise<void>;
}

/** The echo upstream served over Streamable HTTP by itself: the "direct" baseline. */
export async function startDirect(kind: UpstreamKind, key = 'direct'): Promise<Running> {
  const script = kind === 'raw' ? 'echo-http.mjs' : 'echo-sdk.mjs';
  const args = kind === 'raw' ? [join(BENCH, script), '--port', '0'] : [join(BENCH, script), '--http', '--port', '0'];
  const proc = start(key, NODE, args, { cwd: ROOT });
  const m = await proc.waitForLine(/^listening (\d+)/, 15_000).catch(async (err: unknown) => {
    await stop(proc);
    throw err;
  });
  return { key, label: `echo over HTTP (${script})`, url: `http://127.0.0.1:${m[1]}/mcp`, proc, stop: () => stop(proc) };
}

/** bench/floor-proxy.mjs in front of `upstreamUrl`: the floor of a Node HTTP-to-HTTP proxy. */
export async function startFloorProxy(upstreamUrl: string, key = 'floor'): Promise<Running> {
  const proc = start(key, NODE, [join(BENCH, 'floor-proxy.mjs'), upstreamUrl, '--port', '0'], { cwd: ROOT });
  const m = await proc.waitForLine(/^listening (\d+)/, 15_000).catch(async (err: unknown) => {
    await stop(proc);
    throw err;
  });
  return { key, label: 'floor proxy (node:http + undici, bytes passed through)', url: `http://127.0.0.1:${m[1]}${new URL(upstreamUrl).pathname}`, proc, stop: () => stop(proc) };
}

/** Where nginx is, if this machine has it (Debian: `apt-get install nginx-light`). */
export function nginxBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/local/sbin'])) {
    const p = join(dir, 'nginx');
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * nginx as a reverse proxy in front of `upstreamUrl`, one worker in the foreground (one
 * process, like the gateway; its CPU is read from /proc as any target's), keep-alive to the
 * upstream, no buffering (SSE must flow as it comes), no access log. Not something Gatehouse
 * could be: the reference for what any proxy hop costs on this machine, written in C.
 */
export async function startNginx(upstreamUrl: string, key = 'nginx'): Promise<Running> {
  const bin = nginxBinary();
  if (bin === undefined) throw new Error('nginx is not installed (apt-get install -y nginx-light); the reference row is left out');
  const port = await freePort();
  const dir = mkdtempSync(join(tmp(), 'nginx-'));
  const up = new URL(upstreamUrl);
  const conf = [
    'daemon off;',
    'master_process off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 4096; }',
    'http {',
    '  access_log off;',
    `  client_body_temp_path ${join(dir, 'body')};`,
    `  proxy_temp_path ${join(dir, 'proxy')};`,
    `  upstream echo { server ${up.host}; keepalive 256; }`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    location / {',
    '      proxy_pass http://echo;',
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    '      proxy_buffering off;',
    '      proxy_request_buffering off;',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, conf);
  const proc = start(key, bin, ['-c', file, '-e', join(dir, 'error.log')], { cwd: dir });
  const url = `http://127.0.0.1:${port}${up.pathname}`;
  try {
    // Any HTTP answer means it listens (a GET without a session gets a 4xx from the upstream).
    await waitForHttp(proc, url, () => true, 15_000);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  return { key, label: 'nginx reverse proxy (1 worker, keep-alive, unbuffered)', url, proc, stop: () => stop(proc) };
}

/** How the gateway is run: the build if it is up to date, else the sources through tsx. */
export type RunnerChoice = 'dist' | 'tsx' | 'build';
export interface GatewayRunner {
  readonly args: string[];
  readonly runner: RunnerChoice;
  readonly why: string;
}

/** Where `--runner build` compiles src/ to (git-ignored; dist/ is left alone). */
export const BENCH_BUILD = join(BENCH, '.build');

/**
 * `--runner build`: compiles src/ with tsc into bench/.build (a few seconds; emits even if
 * a file being edited has type errors), so that the build's numbers (RSS above all) can be
 * had while dist/ is stale, without touching dist/.
 */
export function buildForBench(): GatewayRunner {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  rmSync(BENCH_BUILD, { recursive: true, force: true });
  const r = spawnSync(NODE, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BENCH_BUILD, '--sourceMap', 'false', '--incremental', 'false'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
  });
  const cli = join(BENCH_BUILD, 'cli.js');
  if (!existsSync(cli)) throw new Error(`tsc emitted no cli.js: ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' | ')}`);
  const errors = r.status === 0 ? '' : ` (tsc reported type errors: ${(r.stdout + r.stderr).trim().split('\n')[0] ?? ''})`;
  return { args: [cli], runner: 'build', why: `src/ compiled into bench/.build${errors}` };
}

export function gatewayRunner(force?: RunnerChoice): GatewayRunner {
  const dist = join(ROOT, 'dist', 'cli.js');
  const src = join(ROOT, 'src');
  if (force === 'build') return buildForBench();
  if (force === 'tsx') return { args: ['--import', 'tsx', join(src, 'cli.ts')], runner: 'tsx', why: '--runner tsx' };
  if (force === 'dist') {
    if (!existsSync(dist)) throw new Error('--runner dist: there is no dist/cli.js (npm run build)');
    return { args: [dist], runner: 'dist', why: '--runner dist' };
  }
  if (existsSync(dist)) {
    const d = newest(join(ROOT, 'dist'), '.js');
    const s = newest(src, '.ts');
    if (d >= s) return { args: [dist], runner: 'dist', why: 'dist/ is newer than src/' };
    return { args: ['--import', 'tsx', join(src, 'cli.ts')], runner: 'tsx', why: 'src/ changed after the last build' };
  }
  return { args: ['--import', 'tsx', join(src, 'cli.ts')], runner: 'tsx', why: 'no dist/ (run npm run build to bench the build)' };
}

function newest(dir: string, ext: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) max = Math.max(max, newest(p, ext));
    else if (entry.name.endsWith(ext)) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

let tmpRoot: string | undefined;
function tmp(): string {
  tmpRoot ??= mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  return tmpRoot;
}
export function tmpDirUsed(): string | undefined {
  return tmpRoot;
}

const yamlString = (s: string) => JSON.stringify(s);

/** The gateway in front of one server named `echo`: a stdio child or a remote URL. */
let chosenRunner: GatewayRunner | undefined;
/** Decides once how the gateway runs (`--runner`; auto when undefined) and returns it. */
export function chooseGatewayRunner(force: RunnerChoice | undefined): GatewayRunner {
  chosenRunner = gatewayRunner(force);
  return chosenRunner;
}

/** `auth.mode: oauth` with one confidential config client, which gets client_credentials tokens. */
export interface GatewayOAuth {
  readonly clientId: string;
  readonly clientSecret: string;
}

export async function startGateway(
  upstream: { command: string; args: string[] } | { url: string },
  key = 'gateway',
  oauth?: GatewayOAuth,
): Promise<Running> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmp(), 'gw-'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  const server =
    'url' in upstream
      ? `    url: ${yamlString(upstream.url)}\n`
      : `    command: ${yamlString(upstream.command)}\n    args: [${upstream.args.map(yamlString).join(', ')}]\n`;
  const config =
    `# written by bench/targets.ts\n` +
    `listen: 127.0.0.1:${port}\n` +
    `dataDir: ${yamlString(join(dir, 'data'))}\n` +
    `store: memory\n` +
    // The RSS section may open more sessions than one client is allowed by default.
    `maxSessionsPerClient: 100000\n` +
    (oauth
      ? `auth:\n  mode: oauth\n  clients:\n    - clientId: ${yamlString(oauth.clientId)}\n      clientSecret: ${yamlString(oauth.clientSecret)}\n` +
        `      name: ${yamlString(oauth.clientId)}\n      redirectUris: ['http://127.0.0.1/cb']\n      grants: [client_credentials]\n`
      : `auth: { mode: none }\n`) +
    `log: { level: warn }\n` +
    `servers:\n  echo:\n${server}`;
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, config);
  const runner = chosenRunner ?? gatewayRunner();
  // cwd stays the package root: `--import tsx` resolves tsx from there.
  const proc = start(key, NODE, [...runner.args, 'serve', '--config', file], { cwd: ROOT });
  try {
    await waitForHttp(proc, `http://127.0.0.1:${port}/readyz`, (s) => s === 200, 30_000);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  const base = `http://127.0.0.1:${port}`;
  const url = `${base}/echo/mcp`;
  const label = `gatehouse (${runner.runner}${oauth ? ', OAuth on' : ''})`;
  if (!oauth) return { key, label, url, proc, stop: () => stop(proc) };
  const token: TokenRequest = {
    tokenUrl: `${base}/oauth/token`,
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    form: { grant_type: 'client_credentials', scope: 'mcp', resource: url },
  };
  try {
    const accessToken = await fetchToken(token);
    return { key, label, url, proc, headers: { authorization: `Bearer ${accessToken}` }, token, stop: () => stop(proc) };
  } catch (err) {
    await stop(proc);
    throw err;
  }
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `supergateway --stateful` (stdio -> Streamable HTTP; one child per session). */
export async function startSupergateway(kind: UpstreamKind, key = 'supergateway'): Promise<Running> {
  const port = await freePort();
  const up = stdioUpstream(kind);
  const bin = join(ROOT, 'node_modules', 'supergateway', 'dist', 'index.js');
  if (!existsSync(bin)) throw new Error('supergateway is not installed (npm install -D supergateway)');
  const proc = start(
    key,
    NODE,
    [
      // supergateway has no listen-address option: keep it on loopback.
      '--import',
      pathToFileURL(join(BENCH, 'loopback-only.mjs')).href,
      bin,
      '--stdio',
      [up.command, ...up.args].map(shellQuote).join(' '),
      '--outputTransport',
      'streamableHttp',
      '--stateful',
      '--port',
      String(port),
      '--logLevel',
      'none',
      '--healthEndpoint',
      '/healthz',
    ],
    { cwd: ROOT },
  );
  try {
    await waitForHttp(proc, `http://127.0.0.1:${port}/healthz`, (s) => s === 200, 30_000);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  return { key, label: 'supergateway --stateful', url: `http://127.0.0.1:${port}/mcp`, proc, stop: () => stop(proc) };
}

/** punkpeye's `mcp-proxy` (stdio -> Streamable HTTP + SSE; one shared child). */
export async function startMcpProxy(kind: UpstreamKind, key = 'mcp-proxy'): Promise<Running> {
  const port = await freePort();
  const up = stdioUpstream(kind);
  const bin = join(ROOT, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs');
  if (!existsSync(bin)) throw new Error('mcp-proxy is not installed (npm install -D mcp-proxy)');
  const proc = start(key, NODE, [bin, '--host', '127.0.0.1', '--port', String(port), '--', up.command, ...up.args], { cwd: ROOT });
  try {
    // Any HTTP answer on the stream endpoint means it listens (GET without a session: 4xx).
    await waitForHttp(proc, `http://127.0.0.1:${port}/mcp`, () => true, 30_000);
  } catch (err) {
    await stop(proc);
    throw err;
  }
  return { key, label: 'mcp-proxy', url: `http://127.0.0.1:${port}/mcp`, proc, stop: () => stop(proc) };
}

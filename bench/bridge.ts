// `npm run bench -- --only bridge` (issue 4): the stdio bridges in front of one Streamable
// HTTP upstream (bench/echo-http.mjs), driven over their stdin/stdout the way a desktop client
// drives them: one MCP session, C tools/call requests in flight at once. Targets, in
// alternating order each repeat: `gatehouse connect` (the default --transport auto, and
// --transport streamable-http), `mcp-remote` (npm, --transport http-only), and our raw HTTP client talking
// to the upstream directly as the ceiling. CPU = utime+stime of the bridge process tree.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { driveWindow, runLoad, type LoadResult } from './load.js';
import { descendants, sampleTree } from './procs.js';
import { ROOT, startDirect, type Running } from './targets.js';

const ECHO_TEXT = 'hello from the gatehouse bench';
const MCP_REMOTE = join(ROOT, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');

export interface BridgeSectionSettings {
  readonly repeats: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly maxCalls: number;
  readonly concurrency: readonly number[];
}

export interface BridgeCheck {
  readonly what: string;
  readonly value: number | undefined;
  readonly ok: (v: number) => boolean;
  readonly show: (v: number) => string;
}

interface Run {
  readonly target: string;
  readonly concurrency: number;
  readonly repeat: number;
  readonly load?: LoadResult;
  /** CPU of the bridge process and its children, ms per completed call. */
  readonly cpuMsPerCall?: number;
  readonly error?: string;
}

export interface BridgeSectionResult {
  readonly markdown: string[];
  readonly checks: BridgeCheck[];
  readonly json: { upstream: string; targets: Record<string, string>; runs: Run[] };
}

/** A stdio MCP server we talk to as a desktop client would: newline-delimited JSON-RPC. */
class StdioPeer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly #pending = new Map<number, (reply: { result?: unknown; error?: { message: string } }) => void>();
  #buffer = '';
  #stderr = '';
  #nextId = 1;
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'], cwd: ROOT });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => this.#onData(chunk));
    this.child.stderr.on('data', (d: Buffer) => (this.#stderr = (this.#stderr + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => {
      for (const resolve of this.#pending.values()) resolve({ error: { message: `process exited: ${this.stderrTail()}` } });
      this.#pending.clear();
    });
  }

  stderrTail(): string {
    return this.#stderr.trim().split('\n').slice(-3).join(' | ');
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line.trim() === '') continue;
      let msg: { id?: number; result?: unknown; error?: { message: string }; method?: string };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        continue; // mcp-remote prints nothing else to stdout, but be safe
      }
      if (msg.method !== undefined || msg.id === undefined) continue;
      const resolve = this.#pending.get(msg.id);
      if (resolve) {
        this.#pending.delete(msg.id);
        resolve(msg);
      }
    }
  }

  request(method: string, params: unknown): Promise<{ result?: unknown; error?: { message: string } }> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.child.stdin.write(`{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${JSON.stringify(params)}}\n`);
    });
  }

  notify(method: string): void {
    this.child.stdin.write(`{"jsonrpc":"2.0","method":"${method}"}\n`);
  }

  async initialize(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const reply = await Promise.race([
      this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gatehouse-bench', version: '1' } }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no initialize answer within ${timeoutMs} ms: ${this.stderrTail()}`)), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (reply.error) throw new Error(`initialize: ${reply.error.message}`);
    this.notify('notifications/initialized');
  }

  async callEcho(): Promise<void> {
    const reply = await this.request('tools/call', { name: 'echo', arguments: { text: ECHO_TEXT } });
    if (reply.error) throw new Error(`tools/call: ${reply.error.message}`);
    const text = (reply.result as { content?: { text?: string }[] } | undefined)?.content?.[0]?.text;
    if (text !== ECHO_TEXT) throw new Error(`tools/call: unexpected result ${JSON.stringify(reply.result).slice(0, 120)}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}

/** C requests in flight over one stdio session: warm-up, then a timed window (same figures as runLoad). */
async function runStdioLoad(
  peer: StdioPeer,
  opts: { concurrency: number; durationMs: number; warmupMs: number; maxCalls: number; onWindowStart(): void; onWindowEnd(): void },
): Promise<LoadResult> {
  const workers = Array.from({ length: opts.concurrency }, (_, i) => i);
  const result = await driveWindow(workers, () => peer.callEcho(), opts, () => peer.child.exitCode !== null);
  return { concurrency: opts.concurrency, ...result, sessionSetupMs: 0 };
}

interface Target {
  readonly key: string;
  readonly label: string;
  readonly command: string;
  readonly args: string[];
  peer?: StdioPeer;
  error?: string;
}

function median(xs: number[]): number | undefined {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1]! + v[m]!) / 2;
}

const fmtInt = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtCpu = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(3));
const fmtRatio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);

/**
 * The section. `gatewayArgs` runs the gatehouse CLI (node args: the build, or tsx and
 * src/cli.ts), chosen by run.ts for every section.
 */
export async function bridgeSection(settings: BridgeSectionSettings, gatewayArgs: readonly string[], progress: (msg: string) => void): Promise<BridgeSectionResult> {
  const md: string[] = [];
  const checks: BridgeCheck[] = [];
  const runs: Run[] = [];
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-bench-bridge-'));
  let upstream: Running | undefined;
  const targets: Target[] = [];
  const killAll = () => {
    for (const t of targets) if (t.peer && t.peer.child.exitCode === null) t.peer.child.kill('SIGKILL');
  };
  process.once('exit', killAll);
  try {
    upstream = await startDirect('raw', 'upstream-bridge');
    const url = upstream.url;
    const env = { ...process.env, XDG_CONFIG_HOME: home, MCP_REMOTE_CONFIG_DIR: join(home, '.mcp-auth'), LOG_LEVEL: 'warn' };
    const gh = (transport: string) => [...gatewayArgs, 'connect', url, '--transport', transport, '--token-store', 'memory', '--log-level', 'warn'];
    targets.push(
      { key: 'bridge', label: 'gatehouse connect (--transport auto, the default)', command: process.execPath, args: gh('auto') },
      { key: 'bridge-streamable', label: 'gatehouse connect (--transport streamable-http)', command: process.execPath, args: gh('streamable-http') },
      { key: 'mcp-remote', label: 'mcp-remote 0.15 (--transport http-only)', command: process.execPath, args: [MCP_REMOTE, url, '--transport', 'http-only'] },
    );
    for (const t of targets) {
      progress(`starting ${t.label}`);
      const peer = new StdioPeer(t.command, t.args, env);
      try {
        await peer.initialize(60_000);
        // Prime: lazy imports, JIT, pools.
        for (let i = 0; i < 200; i++) await peer.callEcho();
        t.peer = peer;
      } catch (err) {
        t.error = (err as Error).message;
        progress(`${t.label} failed to start: ${t.error}`);
        await peer.stop();
      }
    }
    await runLoad({ url, concurrency: 4, durationMs: 300, warmupMs: 500, maxCalls: 50_000 }).catch(() => undefined);

    const keys = [...targets.map((t) => t.key), 'direct'];
    for (const c of settings.concurrency) {
      for (let r = 0; r < settings.repeats; r++) {
        const order = keys.map((_, i) => keys[(i + r) % keys.length]!);
        for (const key of order) {
          const run = await measure(key, c, r);
          runs.push(run);
          progress(
            `C=${String(c).padStart(3)} #${r + 1} ${key.padEnd(12)} ` +
              (run.load
                ? `${fmtInt(run.load.callsPerSec).padStart(7)} calls/s  p50 ${fmtMs(run.load.p50Ms)} ms  p99 ${fmtMs(run.load.p99Ms)} ms` +
                  (run.cpuMsPerCall !== undefined ? `  cpu ${fmtCpu(run.cpuMsPerCall)} ms/call` : '') +
                  (run.load.errors ? `  ${run.load.errors} errors (${run.error ?? ''})` : '')
                : `failed: ${run.error ?? ''}`),
          );
        }
      }
    }

    async function measure(key: string, concurrency: number, repeat: number): Promise<Run> {
      const base = { target: key, concurrency, repeat };
      if (key === 'direct') {
        const load = await runLoad({ url, concurrency, durationMs: settings.durationMs, warmupMs: settings.warmupMs, maxCalls: settings.maxCalls });
        return { ...base, load };
      }
      const t = targets.find((x) => x.key === key)!;
      if (!t.peer) return { ...base, error: t.error ?? 'not started' };
      if (t.peer.child.exitCode !== null) return { ...base, error: `exited: ${t.peer.stderrTail()}` };
      const pid = t.peer.child.pid!;
      const kids = descendants(pid);
      let c0 = 0;
      let c1 = 0;
      const cpu = () => {
        const s = sampleTree(pid, kids);
        return s.selfCpu + s.childCpu;
      };
      const load = await runStdioLoad(t.peer, {
        concurrency,
        durationMs: settings.durationMs,
        warmupMs: settings.warmupMs,
        maxCalls: settings.maxCalls,
        onWindowStart: () => (c0 = cpu()),
        onWindowEnd: () => (c1 = cpu()),
      });
      if (load.calls === 0) return { ...base, load, error: load.firstError ?? 'no call completed' };
      return { ...base, load, cpuMsPerCall: ((c1 - c0) * 1000) / load.calls, ...(load.firstError ? { error: load.firstError } : {}) };
    }

    // ---- the tables -----------------------------------------------------------------
    const stat = (key: string, c: number, f: (r: Run) => number | undefined) =>
      median(runs.filter((r) => r.target === key && r.concurrency === c && r.load && r.load.calls > 0).map(f).filter((x): x is number => x !== undefined));
    const cps = (k: string, c: number) => stat(k, c, (r) => r.load?.callsPerSec);
    const p50 = (k: string, c: number) => stat(k, c, (r) => r.load?.p50Ms);
    const p99 = (k: string, c: number) => stat(k, c, (r) => r.load?.p99Ms);
    const cpu = (k: string, c: number) => stat(k, c, (r) => r.cpuMsPerCall);
    const cell = (k: string, c: number) => {
      const v = cps(k, c);
      if (v !== undefined) return fmtInt(v);
      const why = runs.find((r) => r.target === k && r.concurrency === c && r.error)?.error ?? targets.find((t) => t.key === k)?.error ?? 'no run';
      return `failed: ${why.slice(0, 60).replace(/\|/g, '\\|')}`;
    };

    md.push('## Bridge: `gatehouse connect` vs `mcp-remote` over stdio, in front of the same Streamable HTTP echo');
    md.push('');
    md.push(
      `One stdio session per bridge, C tools/call in flight; ${settings.repeats} alternating repeat(s) of ${settings.warmupMs} ms warm-up + ${settings.durationMs} ms timed; medians. ` +
        'Direct = our raw HTTP client with C sessions against the upstream (the ceiling). CPU = the bridge process tree, ms per call.',
    );
    md.push('');
    const header = ['C', 'bridge calls/s', 'bridge (streamable-http)', 'mcp-remote', 'direct HTTP', 'bridge/mcp-remote', 'bridge/direct', 'p50 ms bridge / mcp-remote / direct', 'p99 ms bridge / mcp-remote / direct', 'CPU ms/call bridge / streamable-http / mcp-remote'];
    md.push(`| ${header.join(' | ')} |`);
    md.push(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const c of settings.concurrency) {
      md.push(
        `| ${[
          String(c),
          cell('bridge', c),
          cell('bridge-streamable', c),
          cell('mcp-remote', c),
          cell('direct', c),
          fmtRatio(cps('bridge', c), cps('mcp-remote', c)),
          fmtRatio(cps('bridge', c), cps('direct', c)),
          `${fmtMs(p50('bridge', c))} / ${fmtMs(p50('mcp-remote', c))} / ${fmtMs(p50('direct', c))}`,
          `${fmtMs(p99('bridge', c))} / ${fmtMs(p99('mcp-remote', c))} / ${fmtMs(p99('direct', c))}`,
          `${fmtCpu(cpu('bridge', c))} / ${fmtCpu(cpu('bridge-streamable', c))} / ${fmtCpu(cpu('mcp-remote', c))}`,
        ].join(' | ')} |`,
      );
    }
    md.push('');
    const errs = runs.filter((r) => (r.load?.errors ?? 0) > 0 || (r.error && !r.load));
    if (errs.length) {
      md.push(`Note: ${errs.length} run(s) had errors, e.g. ${errs[0]!.target} C=${errs[0]!.concurrency}: ${errs[0]!.error ?? ''}`);
      md.push('');
    }

    for (const c of settings.concurrency) {
      const b = cps('bridge', c);
      const m = cps('mcp-remote', c);
      const d = cps('direct', c);
      if (c >= 16) checks.push({ what: `bridge C=${c}: >= 3x mcp-remote calls/s`, value: b !== undefined && m ? b / m : undefined, ok: (v) => v >= 3, show: (v) => `${v.toFixed(2)}x` });
      if (c >= 16) checks.push({ what: `bridge C=${c}: >= 0.6x direct HTTP`, value: b !== undefined && d ? b / d : undefined, ok: (v) => v >= 0.6, show: (v) => `${v.toFixed(2)}x` });
      const bp = p99('bridge', c);
      const mp = p99('mcp-remote', c);
      checks.push({ what: `bridge C=${c}: p99 below mcp-remote's`, value: bp !== undefined && mp !== undefined ? bp / mp : undefined, ok: (v) => v < 1, show: () => `${fmtMs(bp)} vs ${fmtMs(mp)} ms` });
      checks.push({ what: `bridge C=${c}: CPU per call < 0.3 ms`, value: cpu('bridge', c), ok: (v) => v < 0.3, show: (v) => `${v.toFixed(3)} ms` });
    }
    // --transport streamable-http skips the probe; the same link after it, so the same targets.
    for (const c of settings.concurrency) {
      const a = cps('bridge-streamable', c);
      const m = cps('mcp-remote', c);
      const d = cps('direct', c);
      if (c >= 16) checks.push({ what: `bridge (streamable-http) C=${c}: >= 3x mcp-remote calls/s`, value: a !== undefined && m ? a / m : undefined, ok: (v) => v >= 3, show: (v) => `${v.toFixed(2)}x` });
      if (c >= 16) checks.push({ what: `bridge (streamable-http) C=${c}: >= 0.6x direct HTTP`, value: a !== undefined && d ? a / d : undefined, ok: (v) => v >= 0.6, show: (v) => `${v.toFixed(2)}x` });
      checks.push({ what: `bridge (streamable-http) C=${c}: CPU per call < 0.3 ms`, value: cpu('bridge-streamable', c), ok: (v) => v < 0.3, show: (v) => `${v.toFixed(3)} ms` });
    }
    return { markdown: md, checks, json: { upstream: url, targets: Object.fromEntries(targets.map((t) => [t.key, t.label])), runs } };
  } finally {
    await Promise.all(targets.flatMap((t) => (t.peer ? [t.peer.stop()] : [])));
    process.off('exit', killAll);
    await upstream?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

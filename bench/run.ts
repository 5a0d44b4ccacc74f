// `npm run bench`: Gatehouse against the peers a user would otherwise pick and against the
// upstream served directly, printed as markdown tables (stdout; progress goes to stderr)
// and saved as JSON in bench/results/latest.json. A benchmark, not a test: it never fails
// on numbers, and a target that does not work gets "failed: <reason>" in its cells.
//
//   npm run bench                       every section, 3 alternating repeats
//   npm run bench -- --quick            1 repeat, short windows
//   npm run bench -- --only stdio       sections: stdio, http, auth, rss, rest, bridge (repeat or comma-separate)
//   options: --repeats N  --duration SECONDS  --concurrency 1,16,64  --upstream raw|sdk
//            --sessions 100  --rss-cap-mib 3072  --runner auto|dist|tsx|build  --out FILE
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { restSection } from './rest.js';
import { bridgeSection } from './bridge.js';
import { closeSessions, callEcho, McpHttp, openSessions, runLoad, runTokenLoad, type LoadResult, type Session, type TokenLoadResult } from './load.js';
import {
  descendants,
  killSeenSync,
  lastLines,
  rssKiB,
  sampleTree,
  sleep,
  start,
  stop,
  stopAll,
  survivors,
  systemBusySeconds,
  type TreeSample,
} from './procs.js';
import {
  chooseGatewayRunner,
  ROOT,
  startDirect,
  startFloorProxy,
  startGateway,
  startNginx,
  startMcpProxy,
  startSupergateway,
  stdioUpstream,
  tmpDirUsed,
  type Running,
  type UpstreamKind,
} from './targets.js';

// ---- options -------------------------------------------------------------------------

const SECTIONS = ['stdio', 'http', 'auth', 'rss', 'rest', 'bridge'] as const;
type Section = (typeof SECTIONS)[number];

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    repeats: { type: 'string' },
    duration: { type: 'string' },
    concurrency: { type: 'string' },
    // The SDK v2 echo is issue 2's reference (its peer figures were taken against it).
    upstream: { type: 'string', default: 'sdk' },
    sessions: { type: 'string', default: '100' },
    'rss-cap-mib': { type: 'string', default: '3072' },
    out: { type: 'string' },
    runner: { type: 'string', default: 'auto' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});

if (flags.help) {
  const lines = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  const head = lines.slice(0, lines.findIndex((l) => !l.startsWith('//')));
  console.log(head.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  process.exit(0);
}

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

const only = new Set<Section>();
for (const v of (flags.only ?? []).flatMap((s) => s.split(','))) {
  if (!(SECTIONS as readonly string[]).includes(v.trim())) fail(`--only takes ${SECTIONS.join(', ')}; got "${v}"`);
  only.add(v.trim() as Section);
}
const sections = SECTIONS.filter((s) => only.size === 0 || only.has(s));
const upstreamKind = flags.upstream as UpstreamKind;
if (upstreamKind !== 'raw' && upstreamKind !== 'sdk') fail('--upstream takes raw or sdk');

const runnerFlag = flags.runner;
if (runnerFlag !== 'auto' && runnerFlag !== 'dist' && runnerFlag !== 'tsx' && runnerFlag !== 'build') fail('--runner takes auto, dist, tsx or build');

const num = (v: string | undefined, name: string, fallback: number, min: number, max: number): number => {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) fail(`--${name} must be a number from ${min} to ${max}`);
  return n;
};

const settings = {
  quick: flags.quick,
  repeats: Math.round(num(flags.repeats, 'repeats', flags.quick ? 1 : 3, 1, 9)),
  durationMs: Math.round(num(flags.duration, 'duration', flags.quick ? 1 : 2, 0.2, 30) * 1000),
  warmupMs: flags.quick ? 300 : 500,
  maxCalls: 200_000,
  concurrency: (flags.concurrency ?? '1,16,64').split(',').map((s) => Math.round(num(s, 'concurrency', 1, 1, 256))),
  upstream: upstreamKind,
  rssSessions: Math.round(num(flags.sessions, 'sessions', 100, 1, 1000)),
  rssCapMiB: num(flags['rss-cap-mib'], 'rss-cap-mib', 3072, 256, 16384),
};
const outFile = flags.out ?? join(ROOT, 'bench', 'results', 'latest.json');

// ---- cleanup: no orphans, whatever happens -------------------------------------------

let exiting = false;
async function shutdown(code: number, why?: string): Promise<never> {
  if (!exiting) {
    exiting = true;
    if (why) console.error(`bench: ${why}; stopping every child process`);
    await stopAll().catch(() => undefined);
    const dir = tmpDirUsed();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(130, 'interrupted'));
process.on('SIGTERM', () => void shutdown(143, 'terminated'));
process.on('SIGHUP', () => void shutdown(129, 'hang-up'));
process.on('uncaughtException', (err) => void shutdown(1, `uncaught exception: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => void shutdown(1, `unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
process.on('exit', () => killSeenSync());

/** Once interrupted, the main flow parks here while shutdown() stops the children and exits. */
async function haltIfExiting(): Promise<void> {
  if (exiting) await new Promise<never>(() => undefined);
}

const progress = (msg: string) => process.stderr.write(`  ${msg}\n`);

// ---- measuring -----------------------------------------------------------------------

/** A target slot in a section: running, or failed to start. */
interface Slot {
  readonly key: string;
  label: string;
  running?: Running;
  error?: string;
  /** Other processes doing this target's work (the HTTP upstream behind the gateway). */
  related?: Running[];
  /** How to start it again if it exits mid-section (at most MAX_RESTARTS times). */
  starter?: () => Promise<Running>;
  /** Why it had to be restarted, each time. */
  restarts: string[];
}

const MAX_RESTARTS = 2;

interface RunRecord {
  readonly target: string;
  readonly concurrency: number;
  readonly repeat: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly load?: LoadResult;
  /** CPU of the target process itself, ms per completed call. */
  readonly cpuSelfMsPerCall?: number;
  /** CPU of its descendants (stdio upstream children), ms per completed call. */
  readonly cpuChildMsPerCall?: number;
  readonly cpuSelfCores?: number;
  /** CPU of related processes (the HTTP upstream behind the gateway), ms per call. */
  readonly cpuRelatedMsPerCall?: number;
  /** CPU of this benchmark process (the load generator), ms per call. */
  readonly clientCpuMsPerCall?: number;
  /** Cores busy with processes that are not part of this measurement (noise). */
  readonly otherCores?: number;
}

async function startSlot(key: string, label: string, starter: () => Promise<Running>): Promise<Slot> {
  progress(`starting ${label}`);
  try {
    const running = await starter();
    return { key, label: running.label, running, starter, restarts: [] };
  } catch (err) {
    const error = (err as Error).message;
    progress(`${label} failed to start: ${error}`);
    return { key, label, error, restarts: [] };
  }
}

async function measure(slot: Slot, concurrency: number, repeat: number): Promise<RunRecord> {
  const base = { target: slot.key, concurrency, repeat };
  if (slot.running?.proc.hasExited()) {
    const tail = lastLines(slot.running.proc.tail());
    const why = `exited (${await slot.running.proc.exited}${tail ? `: ${tail}` : ', printed nothing'})`;
    // Someone else's test run may stop it (this machine is shared): start it again, a few times.
    if (slot.starter && slot.restarts.length < MAX_RESTARTS && !exiting) {
      slot.restarts.push(`${why} before C=${concurrency} #${repeat + 1}`);
      progress(`${slot.label} ${why}; starting it again`);
      await slot.running.stop();
      try {
        slot.running = await slot.starter();
      } catch (err) {
        slot.running = undefined;
        slot.error = `${why}; restart failed: ${(err as Error).message}`;
      }
    } else {
      slot.error = why;
      slot.running = undefined;
    }
  }
  const t = slot.running;
  if (!t) return { ...base, ok: false, error: slot.error ?? 'not started' };
  let kids: number[] = [];
  const related = (slot.related ?? []).map((r) => ({ pid: r.proc.pid, kids: [] as number[] }));
  interface Edge {
    tree: TreeSample;
    related: TreeSample[];
    system: number;
    client: number;
    at: number;
  }
  const edge = (): Edge => ({
    tree: sampleTree(t.proc.pid, kids),
    related: related.map((r) => sampleTree(r.pid, r.kids)),
    system: systemBusySeconds(),
    client: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    at: performance.now(),
  });
  let e0: Edge | undefined;
  let e1: Edge | undefined;
  try {
    const load = await runLoad({
      url: t.url,
      ...(t.headers ? { headers: t.headers } : {}),
      concurrency,
      durationMs: settings.durationMs,
      warmupMs: settings.warmupMs,
      maxCalls: settings.maxCalls,
      onSessionsOpen: () => {
        kids = descendants(t.proc.pid);
        for (const r of related) r.kids = descendants(r.pid);
      },
      onWindowStart: () => {
        e0 = edge();
      },
      onWindowEnd: () => {
        e1 = edge();
      },
    });
    if (load.calls === 0) {
      return { ...base, ok: false, error: load.firstError ?? 'no call completed', load };
    }
    let cpu = {};
    if (e0 && e1) {
      const secs = (e1.at - e0.at) / 1000;
      const self = e1.tree.selfCpu - e0.tree.selfCpu;
      const child = e1.tree.childCpu - e0.tree.childCpu;
      const rel = e1.related.reduce((n, r, i) => n + r.selfCpu + r.childCpu - e0!.related[i]!.selfCpu - e0!.related[i]!.childCpu, 0);
      const client = e1.client - e0.client;
      const perCall = (x: number) => (x * 1000) / load.calls;
      cpu = {
        cpuSelfMsPerCall: perCall(self),
        cpuChildMsPerCall: perCall(child),
        cpuSelfCores: self / secs,
        ...(related.length ? { cpuRelatedMsPerCall: perCall(rel) } : {}),
        clientCpuMsPerCall: perCall(client),
        otherCores: Math.max(0, (e1.system - e0.system - self - child - rel - client) / secs),
      };
    }
    return { ...base, ok: true, load, ...cpu, ...(load.errors > 0 && load.firstError ? { error: load.firstError } : {}) };
  } catch (err) {
    const exited = t.proc.hasExited() ? ` (process exited: ${lastLines(t.proc.tail()) || 'printed nothing'})` : '';
    return { ...base, ok: false, error: `${(err as Error).message}${exited}` };
  }
}

interface Summary {
  readonly target: string;
  readonly concurrency: number;
  readonly runs: number;
  readonly okRuns: number;
  readonly callsPerSec?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly cpuSelfMsPerCall?: number;
  readonly cpuChildMsPerCall?: number;
  readonly cpuRelatedMsPerCall?: number;
  readonly clientCpuMsPerCall?: number;
  /** Median cores used by unrelated processes during the timed windows. */
  readonly otherCores?: number;
  /** The worst of them. */
  readonly otherCoresMax?: number;
  readonly errors: number;
  readonly error?: string;
}

function median(xs: number[]): number | undefined {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1]! + v[m]!) / 2;
}

function summarize(records: RunRecord[], target: string, c: number): Summary {
  const mine = records.filter((r) => r.target === target && r.concurrency === c);
  const ok = mine.filter((r) => r.ok && r.load);
  const pick = (f: (r: RunRecord) => number | undefined) => median(ok.map(f).filter((x): x is number => x !== undefined));
  const errors = mine.reduce((n, r) => n + (r.load?.errors ?? 0), 0);
  const error = ok.length === 0 ? (mine.find((r) => r.error)?.error ?? 'no run') : mine.find((r) => r.error)?.error;
  return {
    target,
    concurrency: c,
    runs: mine.length,
    okRuns: ok.length,
    ...opt('callsPerSec', pick((r) => r.load!.callsPerSec)),
    ...opt('p50Ms', pick((r) => r.load!.p50Ms)),
    ...opt('p99Ms', pick((r) => r.load!.p99Ms)),
    ...opt('cpuSelfMsPerCall', pick((r) => r.cpuSelfMsPerCall)),
    ...opt('cpuChildMsPerCall', pick((r) => r.cpuChildMsPerCall)),
    ...opt('cpuRelatedMsPerCall', pick((r) => r.cpuRelatedMsPerCall)),
    ...opt('clientCpuMsPerCall', pick((r) => r.clientCpuMsPerCall)),
    ...opt('otherCores', pick((r) => r.otherCores)),
    ...opt('otherCoresMax', maxOf(ok.map((r) => r.otherCores))),
    errors,
    ...(error !== undefined ? { error } : {}),
  };
}

/** Every slot's summary at every concurrency, and a lookup by slot key and C. */
function summarizeAll(runs: RunRecord[], slots: readonly Slot[]): { summaries: Map<string, Summary>; get: (key: string, c: number) => Summary } {
  const summaries = new Map<string, Summary>();
  for (const s of slots) for (const c of settings.concurrency) summaries.set(`${s.key}@${c}`, summarize(runs, s.key, c));
  return { summaries, get: (key, c) => summaries.get(`${key}@${c}`)! };
}

function opt<K extends string>(key: K, v: number | undefined): { [P in K]?: number } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: number };
}

/** A line about other processes' CPU use during the timed windows, if it was noticeable. */
function noiseNote(runs: RunRecord[], slots: readonly Slot[]): void {
  for (const s of slots) if (s.restarts.length) print(`Note: ${s.label} had to be restarted: ${s.restarts.join('; ')}.\n`);
  const noisy = runs.filter((r) => (r.otherCores ?? 0) > 0.25);
  if (noisy.length === 0) return;
  const worst = Math.max(...noisy.map((r) => r.otherCores!));
  print(
    `Note: other processes on this machine used more than 0.25 of a core during ${noisy.length} of ${runs.length} timed windows ` +
      `(up to ${worst.toFixed(2)} cores): those numbers are noisy; see "other load" above and rerun on a quiet machine.`,
  );
  print();
}

/**
 * One untimed run per target before any timed one: lazy imports (under tsx, transpiled on
 * first use), JIT and pools would otherwise land in whichever target runs first.
 */
/**
 * Warms every target up before anything is timed: a gateway is a long-running server, and in
 * its first seconds the JIT is still compiling the hot path (CPU per call at one call in
 * flight kept falling ~30% across the repeats with a 1 s priming). One call in flight, then
 * many, so that both code shapes are compiled; every target gets the same.
 */
async function prime(slots: readonly Slot[]): Promise<void> {
  const quick = settings.repeats <= 1;
  for (const s of slots) {
    for (const concurrency of [1, 16]) {
      if (!s.running || exiting) continue;
      const headers = s.running.headers;
      await runLoad({ url: s.running.url, ...(headers ? { headers } : {}), concurrency, durationMs: quick ? 300 : 1_500, warmupMs: 200, maxCalls: 100_000 }).catch(() => undefined);
    }
  }
}

/** Runs every concurrency level; within it, `repeats` rounds with the targets' order rotated. */
async function loadSection(slots: Slot[]): Promise<RunRecord[]> {
  const records: RunRecord[] = [];
  await prime(slots);
  for (const c of settings.concurrency) {
    for (let r = 0; r < settings.repeats; r++) {
      const order = slots.map((_, i) => slots[(i + r) % slots.length]!);
      for (const slot of order) {
        const rec = await measure(slot, c, r);
        records.push(rec);
        const l = rec.load;
        progress(
          `C=${String(c).padStart(3)} #${r + 1} ${slot.key.padEnd(13)} ` +
            (rec.ok && l
              ? `${fmtInt(l.callsPerSec).padStart(7)} calls/s  p50 ${fmtMs(l.p50Ms)} ms  p99 ${fmtMs(l.p99Ms)} ms` +
                (rec.cpuSelfMsPerCall !== undefined ? `  cpu ${fmtCpu(rec.cpuSelfMsPerCall)} ms/call` : '') +
                (l.errors ? `  ${l.errors} errors (${rec.error ?? ''})` : '')
              : `failed: ${rec.error ?? ''}`),
        );
        if (exiting) return records;
      }
    }
  }
  return records;
}

// ---- formatting ----------------------------------------------------------------------

const fmtInt = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const fmtMs = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const fmtCpu = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(3));
const fmtRatio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(2)}x`);
const mib = (kib: number) => kib / 1024;
const fmtMiB = (kib: number | undefined) => (kib === undefined ? '-' : mib(kib).toFixed(1));
const short = (s: string, n = 70) => (s.length > n ? `${s.slice(0, n - 1)}…` : s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const failed = (s: Summary) => `failed: ${short(s.error ?? 'unknown')}`;

function table(header: string[], rows: string[][]): string {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function detailTable(slots: Slot[], summaries: Map<string, Summary>): string {
  const rows: string[][] = [];
  for (const s of slots) {
    for (const c of settings.concurrency) {
      const m = summaries.get(`${s.key}@${c}`)!;
      rows.push(
        m.okRuns === 0
          ? [s.label, String(c), failed(m), '', '', '', '', '', '', `0/${m.runs}`, String(m.errors)]
          : [
              s.label,
              String(c),
              fmtInt(m.callsPerSec),
              fmtMs(m.p50Ms),
              fmtMs(m.p99Ms),
              fmtCpu(m.cpuSelfMsPerCall),
              fmtCpu(m.cpuChildMsPerCall) + (m.cpuRelatedMsPerCall !== undefined ? ` (+${fmtCpu(m.cpuRelatedMsPerCall)} upstream)` : ''),
              fmtCpu(m.clientCpuMsPerCall),
              m.otherCoresMax === undefined ? '-' : `${(m.otherCores ?? 0).toFixed(2)} (max ${m.otherCoresMax.toFixed(2)})`,
              `${m.okRuns}/${m.runs}`,
              String(m.errors),
            ],
      );
    }
  }
  return table(
    ['target', 'C', 'calls/s', 'p50 ms', 'p99 ms', 'CPU ms/call (process)', 'CPU ms/call (children)', 'client CPU ms/call', 'other load (cores)', 'runs ok', 'errors'],
    rows,
  );
}

const out: string[] = [];
const print = (s = '') => {
  out.push(s);
  process.stdout.write(`${s}\n`);
};

// ---- checks against the targets of issue 2 -------------------------------------------

interface Check {
  readonly what: string;
  readonly pass: boolean | undefined;
  readonly value: string;
}
const checks: Check[] = [];
function check(what: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string): void {
  checks.push({ what, pass: value === undefined ? undefined : ok(value), value: value === undefined ? 'not measured' : show(value) });
}

// ---- sections ------------------------------------------------------------------------

interface SectionResult {
  targets: Array<{ key: string; label: string; restarts: string[]; error?: string }>;
  runs: RunRecord[];
  summary: Summary[];
}
const results: Record<string, unknown> = {};

async function stdioSection(): Promise<void> {
  const up = stdioUpstream(upstreamKind);
  print(`## 1. stdio upstream (${relative(ROOT, up.args[0]!)}): gateway vs peers vs the echo served over HTTP directly`);
  print();
  const slots: Slot[] = [];
  try {
    slots.push(await startSlot('gateway', 'gatehouse', () => startGateway(up)));
    slots.push(await startSlot('supergateway', 'supergateway --stateful', () => startSupergateway(upstreamKind)));
    slots.push(await startSlot('mcp-proxy', 'mcp-proxy', () => startMcpProxy(upstreamKind)));
    slots.push(await startSlot('direct', 'direct HTTP', () => startDirect(upstreamKind)));
    const runs = await loadSection(slots);
    await haltIfExiting();
    const { summaries, get } = summarizeAll(runs, slots);
    const cell = (k: string, c: number) => {
      const m = get(k, c);
      return m.okRuns ? fmtInt(m.callsPerSec) : failed(m);
    };
    const rows = settings.concurrency.map((c) => {
      const gw = get('gateway', c);
      return [
        String(c),
        cell('gateway', c),
        cell('supergateway', c),
        cell('mcp-proxy', c),
        cell('direct', c),
        fmtRatio(gw.callsPerSec, get('supergateway', c).callsPerSec),
        fmtRatio(gw.callsPerSec, get('mcp-proxy', c).callsPerSec),
        fmtRatio(gw.callsPerSec, get('direct', c).callsPerSec),
        fmtMs(gw.p50Ms),
        fmtMs(gw.p99Ms),
        fmtCpu(gw.cpuSelfMsPerCall),
      ];
    });
    print(
      table(
        ['C', 'gateway calls/s', 'supergateway', 'mcp-proxy', 'direct HTTP', 'gw/supergateway', 'gw/mcp-proxy', 'gw/direct', 'gw p50 ms', 'gw p99 ms', 'gw CPU ms/call'],
        rows,
      ),
    );
    print();
    print('Every target, medians:');
    print();
    print(detailTable(slots, summaries));
    print();
    noiseNote(runs, slots);
    for (const c of settings.concurrency.filter((c) => c >= 16)) {
      const gw = get('gateway', c).callsPerSec;
      const ratio = (k: string) => (gw !== undefined && get(k, c).callsPerSec ? gw / get(k, c).callsPerSec! : undefined);
      check(`stdio C=${c}: gateway >= 4x supergateway`, ratio('supergateway'), (v) => v >= 4, (v) => `${v.toFixed(2)}x`);
      check(`stdio C=${c}: gateway >= 2x mcp-proxy`, ratio('mcp-proxy'), (v) => v >= 2, (v) => `${v.toFixed(2)}x`);
      check(`stdio C=${c}: gateway >= 1x direct HTTP`, ratio('direct'), (v) => v >= 1, (v) => `${v.toFixed(2)}x`);
    }
    const cpuMax = maxOf(settings.concurrency.map((c) => get('gateway', c).cpuSelfMsPerCall));
    check('stdio: gateway CPU per call < 0.25 ms (worst C)', cpuMax, (v) => v < 0.25, (v) => `${v.toFixed(3)} ms`);
    results.stdio = {
      upstream: up,
      targets: slots.map((s) => ({ key: s.key, label: s.label, restarts: s.restarts, ...(s.error ? { error: s.error } : {}) })),
      runs,
      summary: [...summaries.values()],
    } satisfies SectionResult & { upstream: unknown };
  } finally {
    await stopSlots(slots);
  }
}

async function stopSlots(slots: readonly Slot[]): Promise<void> {
  await Promise.all(slots.flatMap((s) => (s.running ? [s.running.stop()] : [])));
}

function maxOf(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
}

async function httpSection(): Promise<void> {
  print(`## 2. Streamable HTTP upstream: gateway in front of the echo HTTP server vs that server directly`);
  print();
  let upstream: Running | undefined;
  const slots: Slot[] = [];
  try {
    const up = await startSlot('upstream', 'echo HTTP upstream', () => startDirect(upstreamKind, 'upstream-http'));
    upstream = up.running;
    if (!upstream) {
      print(`failed: the HTTP upstream did not start: ${up.error ?? ''}`);
      print();
      results.http = { error: up.error };
      return;
    }
    // Both rows load the same upstream process; the gateway row measures the gateway's own CPU.
    const gw = await startSlot('gateway', 'gatehouse', () => startGateway({ url: upstream!.url }, 'gateway-http'));
    gw.related = [upstream];
    slots.push(gw);
    // The same pass-through done with nothing else: how close the gateway is to what Node allows.
    const floor = await startSlot('floor', 'floor proxy', () => startFloorProxy(upstream!.url));
    floor.related = [upstream];
    slots.push(floor);
    // What a proxy hop costs on this machine when written in C: nginx, if it is installed.
    const nginx = await startSlot('nginx', 'nginx', () => startNginx(upstream!.url));
    if (nginx.running) {
      nginx.related = [upstream];
      slots.push(nginx);
    }
    slots.push({ key: 'direct', label: `direct HTTP (${upstream.label})`, running: upstream, restarts: [] });
    const runs = await loadSection(slots);
    await haltIfExiting();
    const { summaries, get } = summarizeAll(runs, slots);
    const rows = settings.concurrency.map((c) => {
      const gw = get('gateway', c);
      const d = get('direct', c);
      const fl = get('floor', c);
      const ngx = slots.some((s) => s.key === 'nginx') ? get('nginx', c) : undefined;
      const added = gw.p50Ms !== undefined && d.p50Ms !== undefined ? gw.p50Ms - d.p50Ms : undefined;
      return [
        String(c),
        gw.okRuns ? fmtInt(gw.callsPerSec) : failed(gw),
        d.okRuns ? fmtInt(d.callsPerSec) : failed(d),
        fmtRatio(gw.callsPerSec, d.callsPerSec),
        fl.okRuns ? fmtInt(fl.callsPerSec) : failed(fl),
        fmtRatio(fl.callsPerSec, d.callsPerSec),
        fmtRatio(gw.callsPerSec, fl.callsPerSec),
        ngx?.okRuns ? fmtRatio(ngx.callsPerSec, d.callsPerSec) : '-',
        ngx?.okRuns && d.p50Ms !== undefined && ngx.p50Ms !== undefined ? (ngx.p50Ms - d.p50Ms).toFixed(3) : '-',
        fmtMs(gw.p50Ms),
        fmtMs(d.p50Ms),
        added === undefined ? '-' : added.toFixed(3),
        fmtMs(gw.p99Ms),
        fmtMs(d.p99Ms),
        fmtCpu(gw.cpuSelfMsPerCall),
      ];
    });
    print(table(['C', 'gateway calls/s', 'direct HTTP', 'gw/direct', 'floor proxy', 'floor/direct', 'gw/floor', 'nginx/direct', 'nginx added p50 ms', 'gw p50 ms', 'direct p50 ms', 'added p50 ms', 'gw p99 ms', 'direct p99 ms', 'gw CPU ms/call'], rows));
    print();
    print('Every target, medians (the upstream\'s CPU behind the gateway in parentheses):');
    print();
    print(detailTable(slots, summaries));
    print();
    noiseNote(runs, slots);
    for (const c of settings.concurrency) {
      const gw = get('gateway', c).callsPerSec;
      const d = get('direct', c).callsPerSec;
      check(`http C=${c}: gateway >= 0.8x direct`, gw !== undefined && d ? gw / d : undefined, (v) => v >= 0.8, (v) => `${v.toFixed(2)}x`);
    }
    if (settings.concurrency.includes(1)) {
      const gw = get('gateway', 1).p50Ms;
      const d = get('direct', 1).p50Ms;
      check('http C=1: added p50 < 0.3 ms', gw !== undefined && d !== undefined ? gw - d : undefined, (v) => v < 0.3, (v) => `${v.toFixed(3)} ms`);
    }
    results.http = {
      upstream: upstream.url,
      targets: slots.map((s) => ({ key: s.key, label: s.label, restarts: s.restarts, ...(s.error ? { error: s.error } : {}) })),
      runs,
      summary: [...summaries.values()],
    } satisfies SectionResult & { upstream: unknown };
  } finally {
    await stopSlots(slots.filter((s) => s.key !== 'direct'));
    await upstream?.stop();
  }
}

/** Loopback source addresses for the token loop: the gateway allows 120 token requests a minute per address. */
const TOKEN_ADDRESSES = Array.from({ length: 3000 }, (_, i) => `127.0.${Math.floor((i + 2) / 256)}.${(i + 2) % 256}`).filter((a) => !a.endsWith('.0') && !a.endsWith('.255'));
const TOKEN_PER_ADDRESS = 100;
const TOKEN_CONCURRENCY = 4;

interface TokenRecord {
  readonly repeat: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly load?: TokenLoadResult;
  readonly cpuSelfMsPerToken?: number;
  readonly otherCores?: number;
}

async function authSection(): Promise<void> {
  const up = stdioUpstream(upstreamKind);
  print(`## 3. OAuth on vs auth off: the gateway in front of the stdio echo (${relative(ROOT, up.args[0]!)}), bearer token on every request`);
  print();
  const oauth = { clientId: 'bench', clientSecret: randomBytes(24).toString('base64url') };
  const slots: Slot[] = [];
  try {
    slots.push(await startSlot('auth-off', 'gatehouse, auth off', () => startGateway(up, 'gateway-auth-off')));
    slots.push(await startSlot('oauth', 'gatehouse, OAuth on', () => startGateway(up, 'gateway-oauth', oauth)));
    const runs = await loadSection(slots);
    await haltIfExiting();
    const { summaries, get } = summarizeAll(runs, slots);
    const rows = settings.concurrency.map((c) => {
      const off = get('auth-off', c);
      const on = get('oauth', c);
      return [
        String(c),
        off.okRuns ? fmtInt(off.callsPerSec) : failed(off),
        on.okRuns ? fmtInt(on.callsPerSec) : failed(on),
        fmtRatio(on.callsPerSec, off.callsPerSec),
        fmtMs(off.p50Ms),
        fmtMs(on.p50Ms),
        fmtMs(off.p99Ms),
        fmtMs(on.p99Ms),
        fmtCpu(off.cpuSelfMsPerCall),
        fmtCpu(on.cpuSelfMsPerCall),
      ];
    });
    print(
      table(
        ['C', 'auth off calls/s', 'OAuth on calls/s', 'on/off', 'off p50 ms', 'on p50 ms', 'off p99 ms', 'on p99 ms', 'off CPU ms/call', 'on CPU ms/call'],
        rows,
      ),
    );
    print();
    print('Both gateways, medians:');
    print();
    print(detailTable(slots, summaries));
    print();
    noiseNote(runs, slots);
    for (const c of settings.concurrency) {
      const on = get('oauth', c).callsPerSec;
      const off = get('auth-off', c).callsPerSec;
      check(`auth C=${c}: OAuth on >= 0.95x auth off`, on !== undefined && off ? on / off : undefined, (v) => v >= 0.95, (v) => `${v.toFixed(2)}x`);
    }

    // The token endpoint: client_credentials requests in a bounded loop, alone on the machine's gateway.
    const gw = slots.find((s) => s.key === 'oauth');
    const tokenRuns: TokenRecord[] = [];
    for (let r = 0; r < settings.repeats && gw?.running?.token && !exiting; r++) {
      const t = gw.running;
      const token = t.token!;
      let e0: { self: number; system: number; client: number; at: number } | undefined;
      let e1: typeof e0;
      const edge = () => ({
        self: sampleTree(t.proc.pid).selfCpu,
        system: systemBusySeconds(),
        client: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
        at: performance.now(),
      });
      try {
        if (t.proc.hasExited()) throw new Error(`exited: ${lastLines(t.proc.tail())}`);
        const load = await runTokenLoad({
          ...token,
          concurrency: TOKEN_CONCURRENCY,
          durationMs: settings.durationMs,
          warmupMs: settings.warmupMs,
          // Fresh addresses each repeat: the limiter's window is a minute.
          addresses: TOKEN_ADDRESSES.slice(r * Math.floor(TOKEN_ADDRESSES.length / settings.repeats), (r + 1) * Math.floor(TOKEN_ADDRESSES.length / settings.repeats)),
          perAddress: TOKEN_PER_ADDRESS,
          onWindowStart: () => {
            e0 = edge();
          },
          onWindowEnd: () => {
            e1 = edge();
          },
        });
        const cpu =
          e0 && e1 && load.tokens > 0
            ? {
                cpuSelfMsPerToken: ((e1.self - e0.self) * 1000) / load.tokens,
                otherCores: Math.max(0, (e1.system - e0.system - (e1.self - e0.self) - (e1.client - e0.client)) / ((e1.at - e0.at) / 1000)),
              }
            : {};
        const rec: TokenRecord = { repeat: r, ok: load.tokens > 0, load, ...cpu, ...(load.firstError ? { error: load.firstError } : {}) };
        tokenRuns.push(rec);
        progress(
          `token endpoint #${r + 1} C=${TOKEN_CONCURRENCY}: ${fmtInt(load.tokensPerSec)} tokens/s  p50 ${fmtMs(load.p50Ms)} ms  p99 ${fmtMs(load.p99Ms)} ms` +
            (rec.cpuSelfMsPerToken !== undefined ? `  cpu ${fmtCpu(rec.cpuSelfMsPerToken)} ms/token` : '') +
            (load.errors ? `  ${load.errors} errors (${load.firstError ?? ''})` : ''),
        );
      } catch (err) {
        tokenRuns.push({ repeat: r, ok: false, error: (err as Error).message });
        progress(`token endpoint #${r + 1}: failed: ${(err as Error).message}`);
      }
    }
    await haltIfExiting();
    const okTok = tokenRuns.filter((r) => r.ok && r.load);
    const tps = median(okTok.map((r) => r.load!.tokensPerSec));
    print(`Token endpoint (POST /oauth/token, grant_type=client_credentials, client_secret_basic, resource=/echo/mcp), ${TOKEN_CONCURRENCY} requests in flight, medians:`);
    print();
    print(
      table(
        ['grant', 'tokens/s', 'p50 ms', 'p99 ms', 'gw CPU ms/token', 'other load (cores)', 'runs ok', 'errors'],
        [
          okTok.length === 0
            ? ['client_credentials', `failed: ${short(tokenRuns.find((r) => r.error)?.error ?? (gw?.error ?? 'not run'))}`, '', '', '', '', `0/${tokenRuns.length}`, '']
            : [
                'client_credentials',
                fmtInt(tps),
                fmtMs(median(okTok.map((r) => r.load!.p50Ms))),
                fmtMs(median(okTok.map((r) => r.load!.p99Ms))),
                fmtCpu(median(okTok.flatMap((r) => (r.cpuSelfMsPerToken === undefined ? [] : [r.cpuSelfMsPerToken])))),
                (median(okTok.flatMap((r) => (r.otherCores === undefined ? [] : [r.otherCores]))) ?? 0).toFixed(2),
                `${okTok.length}/${tokenRuns.length}`,
                String(tokenRuns.reduce((n, r) => n + (r.load?.errors ?? 0), 0)),
              ],
        ],
      ),
    );
    print();
    print(
      `- Refresh tokens need a user who logged in through the browser pages, so the measurable grant without a browser is client_credentials ` +
        `(same endpoint, client authentication, token minting and store write; a refresh also looks up and rotates the old token). ` +
        `The gateway allows ${120} token requests a minute per client address, so the loop spreads its requests over loopback source addresses ` +
        `(127.0.x.y, ${TOKEN_PER_ADDRESS} each): this is the endpoint's capacity, not what one client may do (2 a second).`,
    );
    print(
      `- The OAuth gateway's bearer token is a client_credentials token for resource /echo/mcp (config client \`bench\`, random secret, store: memory), ` +
        `fetched once after start; every request (initialize, notifications, tools/call, DELETE) carries it.`,
    );
    print();
    results.auth = {
      targets: slots.map((s) => ({ key: s.key, label: s.label, restarts: s.restarts, ...(s.error ? { error: s.error } : {}) })),
      runs,
      summary: [...summaries.values()],
      tokenEndpoint: { grant: 'client_credentials', concurrency: TOKEN_CONCURRENCY, runs: tokenRuns, tokensPerSec: tps },
    } satisfies SectionResult & { tokenEndpoint: unknown };
  } finally {
    await stopSlots(slots);
  }
}

interface RssResult {
  readonly target: string;
  readonly label: string;
  readonly error?: string;
  readonly idle?: TreeSample & { childNames: string[] };
  readonly loaded?: TreeSample & { childNames: string[] };
  readonly sessions?: number;
  readonly capped?: string;
}

function childNames(pid: number): string[] {
  const counts = new Map<string, number>();
  for (const k of descendants(pid)) {
    let name: string;
    try {
      const argv = readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const base = (a: string | undefined) => (a ?? '?').split('/').pop()!;
      const script = argv.slice(1).find((a) => /\.(m?js|ts)$/.test(a));
      // `sh -c "node x.mjs"` (supergateway spawns through a shell): name the shell as such.
      name = argv[1] === '-c' ? `${base(argv[0])} -c` : script ? `${base(argv[0])} ${base(script)}` : base(argv[0]);
    } catch {
      continue;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].map(([n, c]) => `${c}x ${n}`);
}

function memAvailableKiB(): number {
  const m = readFileSync('/proc/meminfo', 'utf8').match(/^MemAvailable:\s+(\d+)/m);
  return m ? Number(m[1]) : Number.POSITIVE_INFINITY;
}

async function rssOne(key: string, label: string, starter: () => Promise<Running>): Promise<RssResult> {
  const slot = await startSlot(key, label, starter);
  const t = slot.running;
  if (!t) return { target: key, label, error: slot.error ?? 'not started' };
  const client = new McpHttp(t.url, 16, 60_000);
  const sessions: Session[] = [];
  try {
    await sleep(1000); // let start-up garbage settle
    const idle = { ...sampleTree(t.proc.pid), childNames: childNames(t.proc.pid) };
    const capKiB = settings.rssCapMiB * 1024;
    let capped: string | undefined;
    const batch = 10;
    let nextId = 1;
    while (sessions.length < settings.rssSessions) {
      const n = Math.min(batch, settings.rssSessions - sessions.length);
      const opened = await openSessions(client, n, 5);
      sessions.push(...opened);
      // One call each, as a client that lists tools and then idles would leave it.
      await Promise.all(opened.map((s) => callEcho(client, s, nextId++)));
      if (t.proc.hasExited()) throw new Error(`exited: ${lastLines(t.proc.tail())}`);
      const now = sampleTree(t.proc.pid);
      const total = now.selfRssKiB + now.childRssKiB;
      if (sessions.length < settings.rssSessions && (total > capKiB || memAvailableKiB() < 2 * 1024 * 1024)) {
        const perSession = (total - idle.selfRssKiB - idle.childRssKiB) / sessions.length;
        capped =
          `stopped at ${sessions.length} sessions: ${fmtMiB(total)} MiB in ${now.children + 1} processes (cap ${settings.rssCapMiB} MiB); ` +
          `about ${fmtMiB(perSession)} MiB per session, so ${settings.rssSessions} would take about ${(mib(idle.selfRssKiB + idle.childRssKiB + perSession * settings.rssSessions) / 1024).toFixed(1)} GiB`;
        progress(`${label}: ${capped}`);
        break;
      }
    }
    await sleep(1000);
    const loaded = { ...sampleTree(t.proc.pid), childNames: childNames(t.proc.pid) };
    progress(
      `${label}: idle ${fmtMiB(idle.selfRssKiB)} MiB (+${fmtMiB(idle.childRssKiB)} children); ` +
        `${sessions.length} sessions ${fmtMiB(loaded.selfRssKiB)} MiB (+${fmtMiB(loaded.childRssKiB)} in ${loaded.children} children)`,
    );
    return { target: key, label: t.label, idle, loaded, sessions: sessions.length, ...(capped ? { capped } : {}) };
  } catch (err) {
    return { target: key, label: t.label, error: (err as Error).message };
  } finally {
    await closeSessions(client, sessions).catch(() => undefined);
    client.close();
    await t.stop();
  }
}

/** RSS of an idle .ts file under tsx minus the same file's RSS under plain node. */
async function tsxOverhead(): Promise<number | undefined> {
  const file = join(ROOT, 'bench', 'idle.ts');
  const plain = start('idle-node', process.execPath, [file.replace(/\.ts$/, '.mjs')], { cwd: ROOT });
  const viaTsx = start('idle-tsx', process.execPath, ['--import', 'tsx', file], { cwd: ROOT });
  try {
    await Promise.all([plain.waitForLine(/^idle/, 15_000), viaTsx.waitForLine(/^idle/, 15_000)]);
    await sleep(1000);
    return rssKiB(viaTsx.pid) - rssKiB(plain.pid);
  } catch {
    return undefined;
  } finally {
    await Promise.all([stop(plain), stop(viaTsx)]);
  }
}

async function rssSection(): Promise<void> {
  const n = settings.rssSessions;
  print(`## 4. Memory: RSS idle and with ${n} open idle sessions (stdio upstream)`);
  print();
  const up = stdioUpstream(upstreamKind);
  const rows: RssResult[] = [];
  rows.push(await rssOne('gateway', 'gatehouse', () => startGateway(up, 'gateway-rss')));
  rows.push(await rssOne('supergateway', 'supergateway --stateful', () => startSupergateway(upstreamKind, 'supergateway-rss')));
  rows.push(await rssOne('mcp-proxy', 'mcp-proxy', () => startMcpProxy(upstreamKind, 'mcp-proxy-rss')));
  rows.push(await rssOne('direct', 'direct HTTP', () => startDirect(upstreamKind, 'direct-rss')));
  await haltIfExiting();
  const body = rows.map((r) => {
    if (r.error || !r.idle || !r.loaded) return [r.label, `failed: ${short(r.error ?? 'unknown')}`, '', '', '', '', '', ''];
    const idleTotal = r.idle.selfRssKiB + r.idle.childRssKiB;
    const loadedTotal = r.loaded.selfRssKiB + r.loaded.childRssKiB;
    return [
      r.label,
      fmtMiB(r.idle.selfRssKiB),
      `${fmtMiB(r.idle.childRssKiB)} (${r.idle.childNames.join(', ') || 'none'})`,
      String(r.sessions),
      fmtMiB(r.loaded.selfRssKiB),
      `${fmtMiB(r.loaded.childRssKiB)} (${r.loaded.childNames.join(', ') || 'none'})`,
      `+${fmtMiB(r.loaded.selfRssKiB - r.idle.selfRssKiB)}`,
      `+${fmtMiB(loadedTotal - idleTotal)}${r.capped ? ' (capped, see below)' : ''}`,
    ];
  });
  print(
    table(
      ['target', 'idle MiB (process)', 'idle MiB (children)', 'sessions', 'loaded MiB (process)', 'loaded MiB (children)', 'added MiB (process)', 'added MiB (process + children)'],
      body,
    ),
  );
  print();
  for (const r of rows) if (r.capped) print(`- ${r.label}: ${r.capped}.`);
  if (runner.runner === 'tsx') {
    const overhead = await tsxOverhead();
    print(
      `- The gateway ran through tsx (${runner.why}); tsx itself adds about ${overhead === undefined ? '?' : fmtMiB(overhead)} MiB ` +
        `(an empty .ts file under \`node --import tsx\` vs plain node). \`--runner build\` compiles src/ into bench/.build to measure the build.`,
    );
  }
  if (rows.some((r) => r.capped) || runner.runner === 'tsx') print();
  const gw = rows.find((r) => r.target === 'gateway');
  check('rss: gateway idle < 80 MiB (process)', gw?.idle ? mib(gw.idle.selfRssKiB) : undefined, (v) => v < 80, (v) => `${v.toFixed(1)} MiB`);
  check(
    `rss: ${n} idle sessions add < 25 MiB to the gateway (process)`,
    gw?.idle && gw.loaded && gw.sessions === n ? mib(gw.loaded.selfRssKiB - gw.idle.selfRssKiB) : undefined,
    (v) => v < 25,
    (v) => `${v.toFixed(1)} MiB`,
  );
  results.rss = rows;
}

// ---- main ----------------------------------------------------------------------------

const started = new Date();
let runner: ReturnType<typeof chooseGatewayRunner>;
try {
  runner = chooseGatewayRunner(runnerFlag === 'auto' ? undefined : runnerFlag);
} catch (err) {
  fail((err as Error).message);
}
print(`# Gatehouse benchmark`);
print();
print(
  `${started.toISOString()} · node ${process.version} · ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}) · ${(totalmem() / 2 ** 30).toFixed(0)} GiB · ` +
    `gateway from ${runner.runner} (${runner.why}) · upstream: ${upstreamKind === 'raw' ? 'raw stdio/HTTP echo (no SDK)' : 'SDK v2 echo'}`,
);
print();
print(
  `Load: our raw JSON-RPC client (node http, keep-alive), C sessions each with one tools/call in flight; ` +
    `${settings.repeats} alternating repeat(s) of ${settings.warmupMs} ms warm-up + ${settings.durationMs} ms timed (or ${settings.maxCalls.toLocaleString('en-US')} calls); medians shown. ` +
    `The load generator shares the ${cpus().length} cores with the target. CPU = utime+stime from /proc of the target process (children separately).`,
);
print();

for (const section of sections) {
  await haltIfExiting();
  progress(`section ${section}`);
  if (section === 'stdio') await stdioSection();
  else if (section === 'http') await httpSection();
  else if (section === 'auth') await authSection();
  else if (section === 'bridge') {
    const bridge = await bridgeSection(settings, runner.args, progress);
    for (const line of bridge.markdown) print(line);
    for (const c of bridge.checks) check(c.what, c.value, c.ok, c.show);
    results.bridge = bridge.json;
  } else if (section === 'rest') {
    const rest = await restSection(settings, progress);
    for (const line of rest.markdown) print(line);
    results.rest = rest.json;
  } else await rssSection();
}

await haltIfExiting();
if (checks.length) {
  print('## Targets (issues 2, 3 and 4)');
  print();
  print(table(['target', 'measured', 'met'], checks.map((c) => [c.what, c.value, c.pass === undefined ? '?' : c.pass ? 'yes' : 'no'])));
  print();
}

await stopAll();
const tmpDir = tmpDirUsed();
if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
const left = survivors();
if (left.length) console.error(`bench: warning: processes still running after cleanup: ${left.join(', ')}`);

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      started: started.toISOString(),
      finished: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      gatewayRunner: runner,
      settings,
      sections,
      results,
      checks,
      markdown: out.join('\n'),
    },
    null,
    2,
  )}\n`,
);
progress(`raw results: ${relative(process.cwd(), outFile)}`);
process.exit(0);

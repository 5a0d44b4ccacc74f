// Child processes for the benchmark: spawning, readiness, /proc readings (CPU ticks, RSS,
// descendants) and a cleanup that leaves no orphan behind, even for programs that put
// their own children into new process groups (supergateway does).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import * as http from 'node:http';

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A process we started, with the tail of what it printed (for failure reasons). */
export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last few KiB of stdout+stderr. */
  tail(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
  /** Resolves with the first stdout line matching `re` (rejects if the process exits first). */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

const live = new Set<Proc>();
/** Every pid (with its start time) we ever saw in a started process's tree, for the last-resort kill. */
const seen = new Map<number, string>();

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Set by stopAll: from then on nothing new may start (it could escape the cleanup). */
let closing = false;

export function start(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Proc {
  if (closing) throw new Error(`${name}: not started, the benchmark is stopping`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: a Ctrl-C at the terminal reaches us, and we stop it in order.
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn failed`);
  let tail = '';
  let exitedFlag = false;
  const lineWaiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  let stdoutBuf = '';
  const keep = (s: string) => {
    tail = (tail + s).slice(-4096);
  };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  /** The first stdout lines, so that a late waitForLine still sees them. */
  const early: string[] = [];
  child.stdout.on('data', (s: string) => {
    keep(s);
    if (lineWaiters.length === 0 && early.length >= 50) return;
    stdoutBuf = (stdoutBuf + s).slice(-65536);
    let nl;
    while ((nl = stdoutBuf.indexOf('\n')) !== -1) {
      const line = stdoutBuf.slice(0, nl);
      stdoutBuf = stdoutBuf.slice(nl + 1);
      if (early.length < 50) early.push(line);
      for (let i = lineWaiters.length - 1; i >= 0; i--) {
        const m = line.match(lineWaiters[i]!.re);
        if (m) {
          lineWaiters[i]!.resolve(m);
          lineWaiters.splice(i, 1);
        }
      }
    }
  });
  child.stderr.on('data', keep);
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
    child.on('error', (err) => {
      exitedFlag = true;
      keep(`\nspawn error: ${err.message}`);
      resolve(`error ${err.message}`);
    });
  });
  const proc: Proc = {
    name,
    child,
    pid,
    tail: () => tail,
    exited,
    hasExited: () => exitedFlag,
    waitForLine(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        for (const line of early) {
          const m = line.match(re);
          if (m) {
            resolve(m);
            return;
          }
        }
        const timer = setTimeout(() => reject(new Error(`${name}: no "${re.source}" on stdout within ${timeoutMs} ms`)), timeoutMs);
        lineWaiters.push({
          re,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
        void exited.then((how) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited (${how}) before it was ready: ${lastLines(tail)}`));
        });
      });
    },
  };
  live.add(proc);
  remember(pid);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** The last non-empty lines of some output, on one line. */
export function lastLines(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-n)
    .join(' | ')
    .slice(0, 400);
}

/** A free TCP port on 127.0.0.1 (there is a small race until the program binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One GET with a short timeout: the status, or undefined if nothing answered. */
export function httpGetStatus(url: string, timeoutMs = 1000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Polls `url` until `ok(status)`; fails fast if the process exits. */
export async function waitForHttp(proc: Proc, url: string, ok: (status: number) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < deadline) {
    if (proc.hasExited()) throw new Error(`${proc.name} exited (${await proc.exited}): ${lastLines(proc.tail())}`);
    last = await httpGetStatus(url);
    if (last !== undefined && ok(last)) return;
    await sleep(100);
  }
  throw new Error(`${proc.name} not ready within ${timeoutMs} ms (GET ${new URL(url).pathname}: ${last ?? 'no answer'})${proc.tail() ? `: ${lastLines(proc.tail())}` : ''}`);
}

// ---- /proc ---------------------------------------------------------------------------

interface Stat {
  ppid: number;
  ticks: number; // utime + stime
  start: string; // start time in ticks since boot: identifies the process across pid reuse
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] = state (field 3), so field n is f[n - 3].
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), start: f[19] ?? '' };
}

/** All descendants of `pid` (children, grandchildren, ...), from one scan of /proc. */
export function descendants(pid: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p) || p <= 0) continue;
    const st = readStat(p);
    if (!st) continue;
    const list = byParent.get(st.ppid);
    if (list) list.push(p);
    else byParent.set(st.ppid, [p]);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length) {
    const kids = byParent.get(stack.pop()!) ?? [];
    for (const k of kids) {
      out.push(k);
      stack.push(k);
    }
  }
  return out;
}

function remember(pid: number): void {
  const st = readStat(pid);
  if (st) seen.set(pid, st.start);
}

/** VmRSS in KiB, or 0 if the process is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export interface TreeSample {
  /** CPU seconds (user + system) of the process itself. */
  readonly selfCpu: number;
  /** CPU seconds of its live descendants. */
  readonly childCpu: number;
  readonly selfRssKiB: number;
  readonly childRssKiB: number;
  readonly children: number;
}

/**
 * CPU and RSS of a process and, separately, of its descendants. Pass `kids` (from
 * `descendants`) to skip the /proc scan, e.g. at the edges of a timed window.
 */
export function sampleTree(pid: number, kids: readonly number[] = descendants(pid)): TreeSample {
  for (const k of kids) if (!seen.has(k)) remember(k);
  let childTicks = 0;
  let childRss = 0;
  for (const k of kids) {
    childTicks += readStat(k)?.ticks ?? 0;
    childRss += rssKiB(k);
  }
  return {
    selfCpu: (readStat(pid)?.ticks ?? 0) / CLK_TCK,
    childCpu: childTicks / CLK_TCK,
    selfRssKiB: rssKiB(pid),
    childRssKiB: childRss,
    children: kids.length,
  };
}

// ---- cleanup -------------------------------------------------------------------------

function alive(pid: number, start: string | undefined): boolean {
  const st = readStat(pid);
  return st !== undefined && (start === undefined || st.start === start);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/**
 * Stops one process and everything below it: SIGTERM to its group and to every descendant
 * (found before anything dies, since orphans get re-parented), then SIGKILL after `graceMs`.
 */
export async function stop(proc: Proc, graceMs = 3000): Promise<void> {
  const tree = [proc.pid, ...descendants(proc.pid)].map((pid) => ({ pid, start: readStat(pid)?.start }));
  for (const t of tree) if (t.start) seen.set(t.pid, t.start);
  if (!proc.hasExited()) signal(-proc.pid, 'SIGTERM');
  for (const t of tree) if (t.start && alive(t.pid, t.start)) signal(t.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && tree.some((t) => t.start && alive(t.pid, t.start))) await sleep(50);
  for (const t of tree) if (t.start && alive(t.pid, t.start)) signal(t.pid, 'SIGKILL');
  if (!proc.hasExited()) signal(-proc.pid, 'SIGKILL');
  await Promise.race([proc.exited, sleep(1000)]);
  // Zombies are not alive for our purpose; wait briefly for the kernel to reap the rest.
  const end = Date.now() + 1000;
  while (Date.now() < end && tree.some((t) => t.start && alive(t.pid, t.start) && !isZombie(t.pid))) await sleep(20);
}

function isZombie(pid: number): boolean {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** Stops every process still running, in parallel. */
export async function stopAll(): Promise<void> {
  closing = true;
  await Promise.all([...live].map((p) => stop(p)));
  killSeenSync();
}

/** Last resort, synchronous (for process 'exit'): SIGKILL every pid we ever saw that still runs. */
export function killSeenSync(): void {
  for (const p of live) {
    for (const d of descendants(p.pid)) remember(d);
    signal(-p.pid, 'SIGKILL');
  }
  for (const [pid, startTime] of seen) if (alive(pid, startTime) && !isZombie(pid)) signal(pid, 'SIGKILL');
}

/** Pids we started (or saw below them) that are still running: should be empty at the end. */
export function survivors(): number[] {
  return [...seen].filter(([pid, startTime]) => alive(pid, startTime) && !isZombie(pid)).map(([pid]) => pid);
}

/** CPU seconds the whole machine spent busy since boot (all cores; /proc/stat). */
export function systemBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy / CLK_TCK;
}

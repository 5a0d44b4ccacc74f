// `npm run bench -- --only rest` (issue 6): REST tool calls through the OpenAPI bridge
// (`POST /echo/api/tools/echo`, JSON body = arguments) next to MCP `tools/call` on
// `/echo/mcp`, against ONE gateway process and the same stdio echo, alternating in the
// same run. Both loads use node `http` with a keep-alive Agent and C loops with one call in
// flight each; MCP loops hold a session each (initialize first), REST loops need none.
import * as http from 'node:http';
import { driveWindow, runLoad, type LoadResult } from './load.js';
import { descendants, sampleTree } from './procs.js';
import { startGateway, stdioUpstream, type Running, type UpstreamKind } from './targets.js';

const ECHO_TEXT = 'hello from the gatehouse bench';

export interface RestSectionSettings {
  readonly repeats: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly maxCalls: number;
  readonly concurrency: readonly number[];
  readonly upstream: UpstreamKind;
}

interface Run {
  readonly kind: 'mcp' | 'rest';
  readonly concurrency: number;
  readonly repeat: number;
  readonly load?: LoadResult;
  /** Gateway CPU (the process itself, not the echo child), ms per completed call. */
  readonly cpuSelfMsPerCall?: number;
  readonly error?: string;
}

export interface RestSectionResult {
  readonly markdown: string[];
  readonly json: { gateway: string; runs: Run[] };
}

/** REST calls on the echo tool: C loops, warm-up, timed window; the same figures as runLoad. */
export async function runRestLoad(opts: {
  url: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  maxCalls: number;
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}): Promise<LoadResult> {
  const u = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency + 2 });
  const body = JSON.stringify({ text: ECHO_TEXT });
  const expected = JSON.stringify([ECHO_TEXT]);
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: Number(u.port), path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let raw = '';
          res.setEncoding('utf8');
          res.on('data', (s: string) => (raw += s));
          res.on('end', () => (res.statusCode === 200 && raw === expected ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${raw.slice(0, 200)}`))));
          res.on('error', reject);
        },
      );
      req.setTimeout(15_000, () => req.destroy(new Error('timeout after 15000 ms')));
      req.on('error', reject);
      req.end(body);
    });
  try {
    const result = await driveWindow(Array.from({ length: opts.concurrency }, (_, i) => i), call, opts);
    return { concurrency: opts.concurrency, ...result, sessionSetupMs: 0 };
  } finally {
    agent.destroy();
  }
}

/** The section: one gateway, MCP and REST alternating at each concurrency, medians shown. */
export async function restSection(settings: RestSectionSettings, progress: (msg: string) => void): Promise<RestSectionResult> {
  const markdown = ['## 5. REST (OpenAPI bridge) vs MCP tools/call: the same gateway, the same stdio echo', ''];
  progress('starting gatehouse for the REST section');
  let gw: Running;
  try {
    gw = await startGateway(stdioUpstream(settings.upstream), 'gateway-rest');
  } catch (err) {
    markdown.push(`failed: the gateway did not start: ${(err as Error).message}`, '');
    return { markdown, json: { gateway: 'failed', runs: [] } };
  }
  const restUrl = gw.url.replace(/\/echo\/mcp$/, '/echo/api/tools/echo');
  const runs: Run[] = [];
  try {
    const measure = async (kind: 'mcp' | 'rest', concurrency: number, repeat: number): Promise<Run> => {
      let c0 = 0;
      let c1 = 0;
      const kids = descendants(gw.proc.pid);
      const sample = () => sampleTree(gw.proc.pid, kids).selfCpu;
      const common = {
        concurrency,
        durationMs: settings.durationMs,
        warmupMs: settings.warmupMs,
        maxCalls: settings.maxCalls,
        onWindowStart: () => (c0 = sample()),
        onWindowEnd: () => (c1 = sample()),
      };
      try {
        const load = kind === 'mcp' ? await runLoad({ url: gw.url, ...common }) : await runRestLoad({ url: restUrl, ...common });
        if (load.calls === 0) return { kind, concurrency, repeat, load, error: load.firstError ?? 'no call completed' };
        return { kind, concurrency, repeat, load, cpuSelfMsPerCall: ((c1 - c0) * 1000) / load.calls, ...(load.firstError ? { error: load.firstError } : {}) };
      } catch (err) {
        return { kind, concurrency, repeat, error: (err as Error).message };
      }
    };
    // Untimed first runs: JIT and lazy imports would otherwise land in whichever runs first.
    await measure('mcp', 4, -1);
    await measure('rest', 4, -1);
    for (const c of settings.concurrency) {
      for (let r = 0; r < settings.repeats; r++) {
        const order: ('mcp' | 'rest')[] = r % 2 === 0 ? ['mcp', 'rest'] : ['rest', 'mcp'];
        for (const kind of order) {
          const run = await measure(kind, c, r);
          runs.push(run);
          progress(
            `C=${String(c).padStart(3)} #${r + 1} ${kind.padEnd(5)} ` +
              (run.load && !run.error ? `${Math.round(run.load.callsPerSec)} calls/s  p50 ${run.load.p50Ms.toFixed(2)} ms` : `failed: ${run.error ?? ''}`),
          );
        }
      }
    }
  } finally {
    await gw.stop();
  }
  const med = (xs: number[]) => {
    const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2) : undefined;
  };
  const cell = (kind: 'mcp' | 'rest', c: number, f: (r: Run) => number | undefined) =>
    med(runs.filter((r) => r.kind === kind && r.concurrency === c && r.load && r.load.calls > 0).map(f).filter((x): x is number => x !== undefined));
  const int = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
  const ms = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2));
  const cpu = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(3));
  markdown.push(
    `${gw.label}; MCP = raw JSON-RPC client, one session per loop; REST = POST /echo/api/tools/echo with {"text": ...}, answer ["..."] checked.`,
    '',
    '| C | MCP calls/s | REST calls/s | REST/MCP | MCP p50 ms | REST p50 ms | MCP CPU ms/call | REST CPU ms/call |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const c of settings.concurrency) {
    const m = cell('mcp', c, (r) => r.load!.callsPerSec);
    const r = cell('rest', c, (x) => x.load!.callsPerSec);
    markdown.push(
      `| ${c} | ${int(m)} | ${int(r)} | ${m && r ? `${(r / m).toFixed(2)}x` : '-'} | ${ms(cell('mcp', c, (x) => x.load!.p50Ms))} | ${ms(cell('rest', c, (x) => x.load!.p50Ms))} | ` +
        `${cpu(cell('mcp', c, (x) => x.cpuSelfMsPerCall))} | ${cpu(cell('rest', c, (x) => x.cpuSelfMsPerCall))} |`,
    );
  }
  const failures = runs.filter((r) => r.error);
  if (failures.length) markdown.push('', `Errors: ${failures.map((f) => `${f.kind} C=${f.concurrency}: ${f.error}`).join('; ').slice(0, 500)}`);
  markdown.push('');
  return { markdown, json: { gateway: gw.label, runs } };
}

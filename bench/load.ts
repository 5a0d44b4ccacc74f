// The benchmark's load generator: raw JSON-RPC over HTTP with node's `http` module and a
// keep-alive Agent, no SDK (the SDK Client costs 1-2 ms of CPU per call and would be the
// bottleneck). It opens C MCP sessions (initialize + notifications/initialized, keeping
// Mcp-Session-Id) and each session loops `tools/call echo`, one call in flight per session.
//
// Responses may be plain JSON or an SSE stream (Streamable HTTP allows both). Latency is
// measured per call; calls/s counts the calls completed inside the timed window, which
// follows a short warm-up and ends at `durationMs` or after `maxCalls`, whichever is first.
//
// Usable on its own:  node --import tsx bench/load.ts URL [C] [seconds]
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';

export const PROTOCOL_VERSION = '2025-06-18';
const ECHO_TEXT = 'hello from the gatehouse bench';

export interface RpcReply {
  readonly status: number;
  readonly sessionId: string | undefined;
  /** JSON-RPC messages in the body (one for JSON, every `data:` event for SSE). */
  readonly messages: unknown[];
  readonly raw: string;
}

/** One HTTP/1.1 client for one MCP endpoint, sharing a keep-alive Agent. */
export class McpHttp {
  readonly #host: string;
  readonly #port: number;
  readonly #path: string;
  readonly agent: http.Agent;
  readonly timeoutMs: number;

  constructor(url: string, maxSockets: number, timeoutMs = 15_000) {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new Error(`only http: URLs: ${url}`);
    this.#host = u.hostname;
    this.#port = Number(u.port || 80);
    this.#path = u.pathname + u.search;
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
    this.timeoutMs = timeoutMs;
  }

  request(method: 'POST' | 'DELETE', body: string | undefined, headers: http.OutgoingHttpHeaders): Promise<RpcReply> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: this.#host, port: this.#port, path: this.#path, method, agent: this.agent, headers },
        (res) => {
          res.setEncoding('utf8');
          let raw = '';
          res.on('data', (s: string) => {
            raw += s;
          });
          res.on('end', () => {
            const sid = res.headers['mcp-session-id'];
            let messages: unknown[];
            try {
              messages = parseBody(res.headers['content-type'], raw);
            } catch (err) {
              reject(new Error(`HTTP ${res.statusCode}: unparsable body (${(err as Error).message}): ${raw.slice(0, 200)}`));
              return;
            }
            resolve({ status: res.statusCode ?? 0, sessionId: typeof sid === 'string' ? sid : undefined, messages, raw });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`timeout after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** JSON-RPC messages from a response body, JSON or SSE. */
export function parseBody(contentType: string | undefined, raw: string): unknown[] {
  if (raw === '') return [];
  const ct = (contentType ?? '').toLowerCase();
  if (ct.startsWith('text/event-stream')) {
    const out: unknown[] = [];
    for (const event of raw.split(/\r?\n\r?\n/)) {
      let data = '';
      let any = false;
      for (const line of event.split(/\r?\n/)) {
        if (line.startsWith('data:')) {
          data += (any ? '\n' : '') + (line[5] === ' ' ? line.slice(6) : line.slice(5));
          any = true;
        }
      }
      if (any && data !== '') {
        const msg: unknown = JSON.parse(data);
        if (Array.isArray(msg)) out.push(...(msg as unknown[]));
        else out.push(msg);
      }
    }
    return out;
  }
  if (ct.startsWith('application/json')) {
    const msg: unknown = JSON.parse(raw);
    return Array.isArray(msg) ? msg : [msg];
  }
  return [];
}

interface JsonRpcReply {
  id?: unknown;
  result?: { content?: Array<{ type?: string; text?: string }>; protocolVersion?: string; isError?: boolean };
  error?: { code?: number; message?: string };
}

function findReply(reply: RpcReply, id: number): JsonRpcReply {
  for (const m of reply.messages) {
    if (m && typeof m === 'object' && (m as JsonRpcReply).id === id) return m;
  }
  throw new Error(`HTTP ${reply.status}: no JSON-RPC reply for id ${id}: ${reply.raw.slice(0, 200)}`);
}

/** An open MCP session. */
export interface Session {
  readonly id: string | undefined;
  readonly headers: http.OutgoingHttpHeaders;
}

const BASE_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' } as const;

/** initialize + notifications/initialized. */
export async function openSession(client: McpHttp, name = 'gatehouse-bench', extra: http.OutgoingHttpHeaders = {}): Promise<Session> {
  const init = await client.request(
    'POST',
    JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name, version: '1.0.0' } },
    }),
    { ...BASE_HEADERS, ...extra },
  );
  if (init.status !== 200) throw new Error(`initialize: HTTP ${init.status}: ${init.raw.slice(0, 200)}`);
  const reply = findReply(init, 0);
  if (reply.error) throw new Error(`initialize: ${reply.error.message ?? JSON.stringify(reply.error)}`);
  const version = reply.result?.protocolVersion ?? PROTOCOL_VERSION;
  const headers: http.OutgoingHttpHeaders = { ...BASE_HEADERS, ...extra, 'mcp-protocol-version': version };
  if (init.sessionId) headers['mcp-session-id'] = init.sessionId;
  const note = await client.request('POST', JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers);
  if (note.status !== 202 && note.status !== 200) throw new Error(`notifications/initialized: HTTP ${note.status}: ${note.raw.slice(0, 200)}`);
  return { id: init.sessionId, headers };
}

/** Opens `n` sessions, at most `parallel` handshakes at a time; `extra` goes on every request of them. */
export async function openSessions(client: McpHttp, n: number, parallel = 8, extra: http.OutgoingHttpHeaders = {}): Promise<Session[]> {
  const sessions: Session[] = new Array<Session>(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      sessions[i] = await openSession(client, undefined, extra);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return sessions;
}

/** DELETE each session (best effort, bounded): peers that hold a child per session free it. */
export async function closeSessions(client: McpHttp, sessions: readonly Session[], parallel = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < sessions.length) {
      const s = sessions[next++]!;
      if (!s.id) continue;
      const auth = s.headers.authorization;
      await client
        .request('DELETE', undefined, { 'mcp-session-id': s.id, 'mcp-protocol-version': s.headers['mcp-protocol-version'], ...(auth ? { authorization: auth } : {}) })
        .catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, sessions.length) }, worker));
}

/** One tools/call echo; throws on any failure. */
export async function callEcho(client: McpHttp, session: Session, id: number): Promise<void> {
  const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"echo","arguments":{"text":"${ECHO_TEXT}"}}}`;
  const res = await client.request('POST', body, session.headers);
  if (res.status !== 200) throw new Error(`tools/call: HTTP ${res.status}: ${res.raw.slice(0, 200)}`);
  const reply = findReply(res, id);
  if (reply.error) throw new Error(`tools/call: JSON-RPC error ${reply.error.code}: ${reply.error.message}`);
  if (reply.result?.content?.[0]?.text !== ECHO_TEXT) throw new Error(`tools/call: unexpected result ${JSON.stringify(reply.result).slice(0, 200)}`);
}

export interface LoadOptions {
  readonly url: string;
  readonly concurrency: number;
  /** Length of the timed window. */
  readonly durationMs: number;
  /** Calls before the timed window starts (JIT, connection pools). */
  readonly warmupMs: number;
  /** The window also ends after this many completed calls. */
  readonly maxCalls: number;
  /** Called right when the timed window starts and ends (CPU sampling). Must be quick. */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
  /** Called once the sessions are open, before any call (e.g. to list the target's children). */
  readonly onSessionsOpen?: () => void;
  /** Extra headers on every request (e.g. `authorization: Bearer ...`). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface LoadResult {
  readonly concurrency: number;
  readonly calls: number;
  readonly errors: number;
  readonly seconds: number;
  readonly callsPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly sessionSetupMs: number;
  readonly firstError?: string;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export interface WindowOptions {
  /** Length of the timed window. */
  readonly durationMs: number;
  /** Calls before the timed window starts (JIT, connection pools). */
  readonly warmupMs: number;
  /** The window also ends after this many completed calls. */
  readonly maxCalls: number;
  /** Called right when the timed window starts and ends (CPU sampling). Must be quick. */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export type WindowResult = Omit<LoadResult, 'concurrency' | 'sessionSetupMs'>;

/**
 * One loop per worker, each making `call` back to back: a warm-up, then a timed window
 * that ends after durationMs or maxCalls completed calls. A target that mostly fails (200
 * errors and more than half of the attempts), or that `gone()` reports gone, ends the run.
 * Latencies are recorded only inside the window. Every load of the bench runs on this.
 */
export async function driveWindow<W>(workers: readonly W[], call: (worker: W) => Promise<void>, opts: WindowOptions, gone?: () => boolean): Promise<WindowResult> {
  const latencies = new Float64Array(opts.maxCalls);
  let recorded = 0;
  let errors = 0;
  let attempted = 0;
  let firstError: string | undefined;
  let phase: 'warmup' | 'timed' | 'done' = 'warmup';
  let windowStart = 0;
  let windowEnd = 0;
  let endTimer: NodeJS.Timeout | undefined;

  const endWindow = () => {
    if (phase !== 'timed') return;
    windowEnd = performance.now();
    phase = 'done';
    if (endTimer) clearTimeout(endTimer);
    opts.onWindowEnd?.();
  };
  const startTimer = setTimeout(() => {
    opts.onWindowStart?.();
    windowStart = performance.now();
    phase = 'timed';
    endTimer = setTimeout(endWindow, opts.durationMs);
  }, opts.warmupMs);
  const stop = () => {
    if (phase === 'warmup') {
      clearTimeout(startTimer);
      phase = 'done';
    } else endWindow();
  };

  const loop = async (worker: W) => {
    while (phase !== 'done') {
      const started = performance.now();
      attempted++;
      try {
        await call(worker);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        // A broken target: stop rather than spin on errors.
        if ((errors >= 200 && errors * 2 > attempted) || gone?.()) stop();
        continue;
      }
      if (phase === 'timed') {
        latencies[recorded++] = performance.now() - started;
        if (recorded >= opts.maxCalls) endWindow();
      }
    }
  };
  try {
    await Promise.all(workers.map(loop));
  } finally {
    clearTimeout(startTimer);
    if (endTimer) clearTimeout(endTimer);
  }

  const seconds = windowEnd > windowStart ? (windowEnd - windowStart) / 1000 : 0;
  const sorted = latencies.subarray(0, recorded).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    calls: recorded,
    errors,
    seconds,
    callsPerSec: seconds > 0 ? recorded / seconds : 0,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p99Ms: percentile(sorted, 0.99),
    meanMs: recorded ? sum / recorded : NaN,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/** Opens the sessions, drives the calls, closes the sessions. Throws only if no session opens. */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const c = opts.concurrency;
  const client = new McpHttp(opts.url, c + 2);
  try {
    const t0 = performance.now();
    const sessions = await openSessions(client, c, 8, { ...opts.headers });
    const sessionSetupMs = performance.now() - t0;
    opts.onSessionsOpen?.();
    let nextId = 1;
    const result = await driveWindow(sessions, (session) => callEcho(client, session, nextId++), opts);
    await closeSessions(client, sessions);
    return { concurrency: c, ...result, sessionSetupMs };
  } finally {
    client.close();
  }
}

// ---- the token endpoint ---------------------------------------------------------------

export interface TokenRequest {
  /** e.g. http://127.0.0.1:PORT/oauth/token */
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Form fields besides the client authentication (grant_type, scope, resource...). */
  readonly form: Readonly<Record<string, string>>;
}

export interface TokenReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly raw: string;
}

/** One POST to the token endpoint with client_secret_basic; `localAddress` picks the source IP. */
export function requestToken(req: TokenRequest, agent?: http.Agent, localAddress?: string, timeoutMs = 15_000): Promise<TokenReply> {
  const u = new URL(req.tokenUrl);
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before the Basic encoding.
  const basic = Buffer.from(`${encodeURIComponent(req.clientId)}:${encodeURIComponent(req.clientSecret)}`).toString('base64');
  const body = new URLSearchParams(req.form).toString();
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: u.hostname,
        port: Number(u.port || 80),
        path: u.pathname + u.search,
        method: 'POST',
        ...(agent ? { agent } : {}),
        ...(localAddress ? { localAddress } : {}),
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}`, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.setEncoding('utf8');
        let raw = '';
        res.on('data', (c: string) => {
          raw += c;
        });
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(raw);
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, body: parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {}, raw });
        });
        res.on('error', reject);
      },
    );
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    r.on('error', reject);
    r.end(body);
  });
}

/** A client_credentials access token, or throws with the endpoint's answer. */
export async function fetchToken(req: TokenRequest): Promise<string> {
  const res = await requestToken(req);
  const token = res.body.access_token;
  if (res.status !== 200 || typeof token !== 'string') throw new Error(`token endpoint: HTTP ${res.status}: ${res.raw.slice(0, 200)}`);
  return token;
}

export interface TokenLoadOptions extends TokenRequest {
  readonly concurrency: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  /**
   * Source addresses to spread the requests over (127.0.0.x on Linux loopback), a new one
   * every `perAddress` requests: the gateway limits token requests per client address.
   */
  readonly addresses?: readonly string[];
  readonly perAddress?: number;
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export interface TokenLoadResult {
  readonly concurrency: number;
  readonly tokens: number;
  readonly errors: number;
  readonly seconds: number;
  readonly tokensPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly addressesUsed: number;
  readonly firstError?: string;
}

/** C workers each with one token request in flight: warm-up, then a timed window. */
export async function runTokenLoad(opts: TokenLoadOptions): Promise<TokenLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency + 2 });
  const addresses = opts.addresses ?? [];
  const perAddress = opts.perAddress ?? 100;
  let sent = 0;
  let tokens = 0;
  let errors = 0;
  let firstError: string | undefined;
  const latencies: number[] = [];
  let phase: 'warmup' | 'timed' | 'done' = 'warmup';
  let windowStart = 0;
  let windowEnd = 0;
  const endWindow = () => {
    if (phase !== 'timed') return;
    windowEnd = performance.now();
    phase = 'done';
    opts.onWindowEnd?.();
  };
  let endTimer: NodeJS.Timeout | undefined;
  const startTimer = setTimeout(() => {
    opts.onWindowStart?.();
    windowStart = performance.now();
    phase = 'timed';
    endTimer = setTimeout(endWindow, opts.durationMs);
  }, opts.warmupMs);
  const halt = () => {
    if (phase === 'timed') endWindow();
    else {
      clearTimeout(startTimer);
      phase = 'done';
    }
  };
  const worker = async () => {
    while (phase !== 'done') {
      const n = sent++;
      const slot = Math.floor(n / perAddress);
      if (addresses.length && slot >= addresses.length) {
        firstError ??= `ran out of source addresses after ${n} requests`;
        halt();
        break;
      }
      const started = performance.now();
      try {
        const res = await requestToken(opts, agent, addresses[slot]);
        if (res.status !== 200 || typeof res.body.access_token !== 'string') throw new Error(`HTTP ${res.status}: ${res.raw.slice(0, 200)}`);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
        if (errors >= 50 && errors * 2 > sent) {
          halt();
        }
        continue;
      }
      if (phase === 'timed') {
        tokens++;
        latencies.push(performance.now() - started);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    clearTimeout(startTimer);
    if (endTimer) clearTimeout(endTimer);
    agent.destroy();
  }
  const seconds = windowEnd > windowStart ? (windowEnd - windowStart) / 1000 : 0;
  const sorted = Float64Array.from(latencies).sort();
  return {
    concurrency: opts.concurrency,
    tokens,
    errors,
    seconds,
    tokensPerSec: seconds > 0 ? tokens / seconds : 0,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    addressesUsed: addresses.length ? Math.min(addresses.length, Math.ceil(sent / perAddress)) : 1,
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

// Stand-alone use: node --import tsx bench/load.ts URL [C] [seconds]
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const [url, c = '1', secs = '3'] = process.argv.slice(2);
  if (!url) {
    console.error('usage: node --import tsx bench/load.ts URL [concurrency] [seconds]');
    process.exit(2);
  }
  const result = await runLoad({ url, concurrency: Number(c), durationMs: Number(secs) * 1000, warmupMs: 500, maxCalls: 1_000_000 });
  console.log(JSON.stringify(result, null, 2));
}

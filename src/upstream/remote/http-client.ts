import { readFileSync } from 'node:fs';

import type { FetchLike } from '@modelcontextprotocol/client';
import { Agent, fetch as undiciFetch, type Dispatcher, type RequestInit as UndiciRequestInit, type Response as UndiciResponse } from 'undici';

import { tracedFetch, type Tracer } from '../../auth/client/index.js';
import { RemoteLinkError } from './errors.js';
import { leanFetch } from './lean-fetch.js';
import { relaySignal } from './signal-relay.js';
import { headerProblem, WirePool } from './wire/index.js';

export interface HttpClientOptions {
  /** The MCP server URL: its origin alone gets the static headers and the server's TLS settings. */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: { readonly rejectUnauthorized: boolean; readonly ca: string | undefined };
  /** Bounds connecting and waiting for response headers; never the body (an SSE stream may idle for hours). */
  readonly timeoutMs: number;
  /** `--trace-file`: a span per request made through `fetchFor`. */
  readonly tracer?: Tracer | undefined;
}

/** Sees every request of one link: lets the link tell a lost event stream from a failed POST. */
export interface FetchObserver {
  /** `url`: what was fetched (the OAuth client's discovery GETs go through the same fetch). */
  onResponse?(method: string, status: number, url: URL): void;
  onError?(method: string, error: unknown, url: URL): void;
}

/** The HTTP machinery shared by every link of one server: two connection pools and the rules. */
export interface HttpClient {
  /** A fetch for one link's SDK transport. */
  fetchFor(observer?: FetchObserver): FetchLike;
  /** The keep-alive pool for the server's own origin (its TLS settings), for raw undici requests. */
  readonly serverDispatcher: Dispatcher;
  /** The server's own origin again, on the wire pool: the lean link's POSTs when no OAuth dispatcher wraps them. */
  readonly wire: WirePool;
  close(): Promise<void>;
}

/**
 * `tls.ca` is PEM text or a path to a PEM file. Read at start-up, so a wrong path stops the
 * gateway with a clear error instead of failing every connection later.
 */
export function loadCa(ca: string | undefined): string | undefined {
  if (ca === undefined || ca.trim() === '') return undefined;
  if (ca.trimStart().startsWith('-----BEGIN')) return ca;
  let text: string;
  try {
    text = readFileSync(ca, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new RemoteLinkError('bad-config', `tls.ca: cannot read ${ca} (${typeof code === 'string' ? code : String(error)})`, { cause: error });
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RemoteLinkError('bad-config', `tls.ca: ${ca} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  }
  return text;
}

/** Checks header names and values once, naming the bad header but never showing a value. */
export function checkHeaders(headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers([[name, value]]);
    } catch {
      throw new RemoteLinkError('bad-config', `headers: "${name}" is not a valid HTTP header name, or its value holds characters a header cannot carry`);
    }
    // What the wire pool would refuse on every request (wire-pool.ts headerProblem): said once, at start.
    const problem = headerProblem(name, value);
    if (problem !== undefined) throw new RemoteLinkError('bad-config', `headers: ${problem}`);
  }
}

/** Fetch's null-body statuses: a Response cannot carry a body with them. */
const NULL_BODY = new Set([204, 205, 304]);

/**
 * undici's fetch answers with undici's own Response class, not the global one (another copy of
 * undici than Node's built-in fetch). The SDK tells an OAuth error answer from a string by
 * `input instanceof Response` (parseErrorResponse): given undici's, it read the text
 * "[object Response]", so every token endpoint error became `server_error`: its recovery for
 * `invalid_grant` (drop the tokens, log in again) and `invalid_client` (register again) did not
 * run (a removed client's person was sent to log in with it), and no log named the real error.
 * The same status, status text, headers and body (the stream itself, not a copy: an event
 * stream stays a stream), in the global class; the final URL and `redirected` are kept too.
 */
export function asGlobalResponse(response: UndiciResponse): Response {
  // A 1xx or 0 status cannot be built (the Response constructor takes 200-599 only).
  if (response.status < 200 || response.status > 599) return response;
  const body = NULL_BODY.has(response.status) ? null : (response.body as ReadableStream<Uint8Array> | null);
  const headers = new Headers();
  for (const [name, value] of response.headers) headers.append(name, value);
  const answer = new Response(body, { status: response.status, statusText: response.statusText, headers });
  if (response.url !== '') Object.defineProperty(answer, 'url', { value: response.url });
  if (response.redirected) Object.defineProperty(answer, 'redirected', { value: true });
  return answer;
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  checkHeaders(options.headers);
  const ca = loadCa(options.tls.ca);
  const origin = options.url.origin;
  const timeouts = {
    headersTimeout: options.timeoutMs,
    // An idle SSE stream is normal; undici's default (300 s) would cut it.
    bodyTimeout: 0,
  };
  // The server's own TLS settings (its CA replaces the default trust store, as Node's `ca`
  // does; `rejectUnauthorized: false`) apply to its origin only: an authorization server on
  // another origin, or anything else an auth provider fetches there, keeps the default trust
  // (one on the server's own origin shares them).
  const serverAgent = new Agent({
    ...timeouts,
    connect: {
      timeout: options.timeoutMs,
      rejectUnauthorized: options.tls.rejectUnauthorized,
      ...(ca === undefined ? {} : { ca }),
    },
  });
  const otherAgent = new Agent({ ...timeouts, connect: { timeout: options.timeoutMs } });
  const wire = new WirePool({ url: options.url, tls: { rejectUnauthorized: options.tls.rejectUnauthorized, ca }, timeoutMs: options.timeoutMs });
  const staticHeaders = Object.entries(options.headers);

  return {
    serverDispatcher: serverAgent,
    wire,
    fetchFor(observer?: FetchObserver): FetchLike {
      const fetchFn: FetchLike = async (input, init) => {
        const target = input instanceof URL ? input : new URL(input);
        const sameOrigin = target.origin === origin;
        const method = (init?.method ?? 'GET').toUpperCase();
        let headers = init?.headers;
        if (sameOrigin && staticHeaders.length > 0) {
          const merged = new Headers(init?.headers);
          // The transport's own headers (Authorization from an auth provider, Mcp-Session-Id,
          // MCP-Protocol-Version, Accept) win over configured ones of the same name.
          for (const [name, value] of staticHeaders) if (!merged.has(name)) merged.set(name, value);
          headers = merged;
        }
        if (sameOrigin) {
          try {
            const response = await leanFetch(serverAgent, target, init, headers);
            if (response) {
              observer?.onResponse?.(method, response.status, target);
              return response;
            }
          } catch (error) {
            observer?.onError?.(method, error, target);
            throw error;
          }
        }
        const relayed = init?.signal ? relaySignal(init.signal) : undefined;
        try {
          // undici's own fetch with its own Agent (the `dispatcher` option: the server's TLS
          // settings on its origin only, the timeouts): one library version end to end (Node
          // 20's built-in fetch is undici 6, which takes no dispatcher from this one). Its
          // Response is handed over as a global one (asGlobalResponse).
          const request = { ...init, headers, ...(relayed ? { signal: relayed.signal } : {}), dispatcher: sameOrigin ? serverAgent : otherAgent } as unknown as UndiciRequestInit;
          const response = asGlobalResponse(await undiciFetch(target, request));
          // A JSON (or empty) answer is read at once; an event stream stays abortable until the
          // transport's signal ends it (rare on this path: the MCP server's own requests go
          // through leanFetch, which releases a stream when its body closes).
          if (relayed && !response.headers.get('content-type')?.startsWith('text/event-stream')) relayed.release();
          observer?.onResponse?.(method, response.status, target);
          return response;
        } catch (error) {
          relayed?.release();
          observer?.onError?.(method, error, target);
          throw error;
        }
      };
      return options.tracer === undefined ? fetchFn : tracedFetch(fetchFn, options.tracer);
    },
    async close() {
      // The links are closed by now: an answer still under way on the wire pool has no reader
      // (a POST stream the server keeps open would hold a close() forever).
      await Promise.allSettled([serverAgent.close(), otherAgent.close(), wire.destroy()]);
    },
  };
}

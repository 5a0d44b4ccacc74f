import { openSync, writeSync, closeSync } from 'node:fs';

import type { FetchLike } from '@modelcontextprotocol/client';

/**
 * One finished step: an HTTP request (`kind: 'http'`) or an OAuth step (`kind: 'oauth'`).
 * Attributes are chosen by the caller from a closed list of harmless fields; a URL goes
 * through `traceableUrl` first. Never a token, code, secret or header value.
 */
export interface TraceSpan {
  readonly kind: 'http' | 'oauth';
  readonly name: string;
  readonly start: number;
  readonly ms: number;
  readonly method?: string;
  readonly url?: string;
  readonly status?: number;
  readonly grant?: string;
  readonly outcome?: 'ok' | 'error';
  /** An error's class or OAuth error code (e.g. `invalid_grant`), never its description. */
  readonly error?: string;
}

/** Where spans go (`--trace-file`): JSONL, one span a line. */
export interface Tracer {
  record(span: TraceSpan): void;
  close(): void;
}

/** A tracer that drops everything: the default. */
export const noTracer: Tracer = { record: () => undefined, close: () => undefined };

/**
 * Appends spans to FILE (created 0600: it names the servers one talks to). Writes are
 * synchronous so that a span is on disk before the process may exit on a signal.
 */
export function createFileTracer(path: string): Tracer {
  const fd = openSync(path, 'a', 0o600);
  let open = true;
  return {
    record(span) {
      if (!open) return;
      writeSync(fd, `${JSON.stringify({ ts: new Date(span.start).toISOString(), ...span })}\n`);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

/** Query parameters whose values say nothing secret; every other value is left out. */
const HARMLESS_PARAMS = new Set(['response_type', 'code_challenge_method', 'scope', 'resource', 'client_id', 'redirect_uri', 'prompt']);

/**
 * The URL as a trace may show it: no user info, no fragment, and of the query only the
 * parameter names (values of the few harmless ones kept). `code`, `state`, `token`,
 * `code_challenge` and anything unknown lose their values.
 */
export function traceableUrl(input: string | URL): string {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    return '[not a URL]';
  }
  const params: string[] = [];
  for (const [name, value] of url.searchParams) params.push(HARMLESS_PARAMS.has(name) ? `${encodeURIComponent(name)}=${encodeURIComponent(value)}` : encodeURIComponent(name));
  return `${url.protocol}//${url.host}${url.pathname}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

/** The OAuth step an HTTP request is part of, told from its URL and form body. */
function oauthStepOf(url: URL, body: unknown): string | undefined {
  if (url.pathname.includes('/.well-known/oauth-protected-resource')) return 'discovery.protected-resource';
  if (url.pathname.includes('/.well-known/oauth-authorization-server') || url.pathname.includes('/.well-known/openid-configuration')) {
    return 'discovery.authorization-server';
  }
  if (body instanceof URLSearchParams) {
    const grant = body.get('grant_type');
    if (grant) return `token.${grant === 'urn:ietf:params:oauth:grant-type:device_code' ? 'device_code' : grant}`;
  }
  return undefined;
}

/** A fetch that records a span for every request it makes (the OAuth client's discovery, registration and token calls). */
export function tracedFetch(fetchFn: FetchLike, tracer: Tracer): FetchLike {
  if (tracer === noTracer) return fetchFn;
  return async (input, init) => {
    const start = Date.now();
    const t0 = performance.now();
    const url = input instanceof URL ? input : new URL(String(input));
    const method = (init?.method ?? 'GET').toUpperCase();
    const step = oauthStepOf(url, init?.body);
    const grant = init?.body instanceof URLSearchParams ? (init.body.get('grant_type') ?? undefined) : undefined;
    const base = { kind: 'http' as const, name: step ? `oauth.${step}` : 'http.request', start, method, url: traceableUrl(url), ...(grant ? { grant } : {}) };
    try {
      const response = await fetchFn(input, init);
      tracer.record({ ...base, ms: round(performance.now() - t0), status: response.status, outcome: response.ok ? 'ok' : 'error' });
      return response;
    } catch (error) {
      tracer.record({ ...base, ms: round(performance.now() - t0), outcome: 'error', error: errorName(error) });
      throw error;
    }
  };
}

/** Runs `step` as an OAuth span (a login, a refresh, a device authorization). */
export async function traceStep<T>(tracer: Tracer, name: string, step: () => Promise<T>, attributes: { grant?: string } = {}): Promise<T> {
  const start = Date.now();
  const t0 = performance.now();
  try {
    const result = await step();
    tracer.record({ kind: 'oauth', name, start, ms: round(performance.now() - t0), outcome: 'ok', ...attributes });
    return result;
  } catch (error) {
    tracer.record({ kind: 'oauth', name, start, ms: round(performance.now() - t0), outcome: 'error', error: errorName(error), ...attributes });
    throw error;
  }
}

/** An error's class or OAuth code: never its message, which may quote a server's answer. */
export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && /^[a-z_A-Z0-9.-]{1,64}$/.test(code)) return code;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'Error';
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

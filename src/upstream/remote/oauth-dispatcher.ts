import type { AuthProvider, FetchLike } from '@modelcontextprotocol/client';
import { extractWWWAuthenticateParams } from '@modelcontextprotocol/client';
import { Dispatcher } from 'undici';

import { errorName, noTracer, round, traceableUrl, type Tracer } from '../../auth/client/index.js';
import type { Logger } from '../../observability/index.js';
import type { InsufficientScopeChallenge } from './link-context.js';

export interface AuthorizingDispatcherOptions {
  /** The pool requests really go through (the server's keep-alive agent). */
  readonly inner: Dispatcher;
  /** The MCP server: handed to the auth provider with a 401. */
  readonly serverUrl: URL;
  /** Bearer tokens: `token()` before each request, `onUnauthorized` after a 401. */
  readonly auth?: AuthProvider | undefined;
  /** 403 `insufficient_scope` (MCP scope challenge): resolve true to retry with the new token. */
  readonly onInsufficientScope?: ((challenge: InsufficientScopeChallenge) => Promise<boolean>) | undefined;
  /** The fetch the auth provider uses for its own requests (discovery, token endpoint). */
  readonly fetchFn: FetchLike;
  readonly tracer?: Tracer | undefined;
  readonly logger: Logger;
}

/** Re-authorizations one request may cause (401 -> refresh -> retry; refused again -> new login -> retry). */
const AUTH_ROUNDS = 2;
/** Step-ups one request may cause (as the SSE link). */
const STEP_UP_ROUNDS = 2;

type RequestOptions<T> = Dispatcher.RequestOptions<T>;
type ResponseData<T> = Dispatcher.ResponseData<T>;

/**
 * A dispatcher for the lean Streamable HTTP link (streamable-link.ts) that adds the OAuth
 * client: `Authorization: Bearer` on every request, and on 401 the provider's re-authorization
 * followed by the same request once more (its body is a string, so it can be sent again).
 * A request that was sent with a token that has been replaced meanwhile (another request's
 * 401 already refreshed it) is retried with the new token at once, so that 64 requests
 * failing together cause one refresh, not 64. Also records a trace span per request.
 *
 * Only `request()` is authorized: the lean link uses nothing else.
 */
export class AuthorizingDispatcher extends Dispatcher {
  readonly #o: AuthorizingDispatcherOptions;
  readonly #tracer: Tracer;

  constructor(options: AuthorizingDispatcherOptions) {
    super();
    this.#o = options;
    this.#tracer = options.tracer ?? noTracer;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.#o.inner.dispatch(options, handler);
  }

  override request<TOpaque = null>(options: RequestOptions<TOpaque>, callback: (err: Error | null, data: ResponseData<TOpaque>) => void): void;
  override request<TOpaque = null>(options: RequestOptions<TOpaque>): Promise<ResponseData<TOpaque>>;
  override request<TOpaque = null>(
    options: RequestOptions<TOpaque>,
    callback?: (err: Error | null, data: ResponseData<TOpaque>) => void,
  ): Promise<ResponseData<TOpaque>> | void {
    const result = this.#authorized(options);
    if (!callback) return result;
    result.then(
      (data) => callback(null, data),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), undefined as never),
    );
  }

  async #authorized<T>(options: RequestOptions<T>): Promise<ResponseData<T>> {
    const auth = this.#o.auth;
    let authRounds = 0;
    let stepUps = 0;
    for (;;) {
      const token = auth ? await auth.token() : undefined;
      const response = await this.#send(options, token);
      if (response.statusCode === 401 && auth?.onUnauthorized && authRounds < AUTH_ROUNDS) {
        authRounds++;
        const challenge = header(response.headers, 'www-authenticate');
        await response.body.dump();
        // Another request's 401 may have brought a new token already: try that first.
        const now = await auth.token();
        if (now === undefined || now === token) {
          await auth.onUnauthorized({ response: challengeResponse(401, challenge), serverUrl: this.#o.serverUrl, fetchFn: this.#o.fetchFn });
        }
        continue;
      }
      if (response.statusCode === 403 && this.#o.onInsufficientScope && stepUps < STEP_UP_ROUNDS) {
        const challenge = header(response.headers, 'www-authenticate');
        const params = challenge === undefined ? undefined : extractWWWAuthenticateParams(challengeResponse(403, challenge));
        if (params?.error === 'insufficient_scope') {
          stepUps++;
          await response.body.dump();
          const retry = await this.#o.onInsufficientScope({ scope: params.scope, resourceMetadataUrl: params.resourceMetadataUrl });
          if (retry) continue;
          return this.#send(options, auth ? await auth.token() : undefined);
        }
      }
      return response;
    }
  }

  async #send<T>(options: RequestOptions<T>, token: string | undefined): Promise<ResponseData<T>> {
    const request = token === undefined ? options : { ...options, headers: { ...(options.headers as Record<string, string>), authorization: `Bearer ${token}` } };
    if (this.#tracer === noTracer) return this.#o.inner.request(request);
    const start = Date.now();
    const t0 = performance.now();
    const span = { kind: 'http' as const, name: 'http.request', start, method: options.method, url: traceableUrl(new URL(options.path, String(options.origin))) };
    try {
      const response = await this.#o.inner.request(request);
      this.#tracer.record({ ...span, ms: round(performance.now() - t0), status: response.statusCode, outcome: response.statusCode < 400 ? 'ok' : 'error' });
      return response;
    } catch (error) {
      this.#tracer.record({ ...span, ms: round(performance.now() - t0), outcome: 'error', error: errorName(error) });
      throw error;
    }
  }

  override close(callback: () => void): void;
  override close(): Promise<void>;
  override close(callback?: () => void): Promise<void> | void {
    // The inner pool belongs to the HTTP client, which closes it.
    if (callback) {
      callback();
      return;
    }
    return Promise.resolve();
  }
}

/** A Response carrying only the challenge, for the SDK's WWW-Authenticate helpers. */
function challengeResponse(status: number, challenge: string | undefined): Response {
  return new Response(null, { status, headers: challenge === undefined ? {} : { 'www-authenticate': challenge } });
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

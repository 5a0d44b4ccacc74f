// Resource subscriptions and list changes for ModernAdapterLink: a 2026-07-28 server has no
// session to hold them, so one `subscriptions/listen` stream carries what the 2025-era
// session above wants (list changes the server offers, the subscribed resource URIs).

import { SUBSCRIPTION_ID_META_KEY } from '@modelcontextprotocol/client';
import { ErrorCode, errorResponse, type JsonRpcMessage, type JsonRpcNotification, type JsonRpcRequest, type JsonRpcResponse } from '../../jsonrpc/index.js';
import type { Logger } from '../../observability/index.js';
import { closesLink, RemoteLinkError } from './errors.js';
import { isObject, without } from './modern-translate.js';

const LISTEN_BACKOFF_INITIAL_MS = 1_000;
const LISTEN_BACKOFF_MAX_MS = 30_000;

/** What the adapter lends its listen streams. */
export interface ListenHost {
  readonly name: string;
  readonly logger: Logger;
  readonly timeoutMs: number;
  /** The server's capabilities from server/discover. */
  capabilities(): Record<string, unknown>;
  /** The session above sent notifications/initialized and the link is open. */
  ready(): boolean;
  closed(): boolean;
  newId(): string;
  post(method: string, params: Record<string, unknown>, signal: AbortSignal, id: string): Promise<JsonRpcResponse>;
  /** A notification for the session above. */
  deliver(message: JsonRpcMessage): void;
  /** The stream failed in a way that ends the link. */
  fail(reason: RemoteLinkError): void;
}

interface Listen {
  /** The request id, which is also the subscriptionId the server stamps on what it sends. */
  readonly id: string;
  readonly abort: AbortController;
  acked: boolean;
  readonly ready: Promise<boolean>;
  markReady(ok: boolean): void;
}

export class ListenStreams {
  readonly #host: ListenHost;
  readonly #subscribed = new Set<string>();
  readonly #open = new Set<Listen>();
  #current: Listen | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = LISTEN_BACKOFF_INITIAL_MS;
  #refused = false;

  constructor(host: ListenHost) {
    this.#host = host;
  }

  /** Answers resources/subscribe once a stream covering the URI is acknowledged. */
  async subscribe(request: JsonRpcRequest): Promise<JsonRpcMessage | undefined> {
    const uri = request.params?.uri;
    if (typeof uri !== 'string') return errorResponse(request.id, ErrorCode.InvalidParams, 'resources/subscribe needs a uri');
    const resources = this.#host.capabilities().resources;
    if (!isObject(resources) || resources.subscribe !== true) return errorResponse(request.id, ErrorCode.MethodNotFound, 'Method not found');
    if (this.#subscribed.has(uri) && this.#current?.acked === true) return { jsonrpc: '2.0', id: request.id, result: {} };
    this.#subscribed.add(uri);
    let listen = this.refresh();
    let ok = false;
    // Confirmed once a stream that covers the uri is acknowledged (a later subscribe may replace ours).
    for (let tries = 0; listen !== undefined && tries < 3 && !ok; tries++) {
      ok = await bounded(listen.ready, this.#host.timeoutMs, false);
      if (this.#host.closed()) return undefined;
      listen = this.#current === listen ? undefined : this.#current;
    }
    if (ok) return { jsonrpc: '2.0', id: request.id, result: {} };
    this.#subscribed.delete(uri);
    return errorResponse(request.id, ErrorCode.UpstreamUnavailable, `upstream "${this.#host.name}" did not confirm the subscription`);
  }

  unsubscribe(uri: unknown): void {
    if (typeof uri === 'string' && this.#subscribed.delete(uri)) this.refresh();
  }

  /**
   * Opens a `subscriptions/listen` stream for what is wanted now; the one it replaces is
   * closed once the new one is acknowledged. Returns the new stream, if one is needed.
   */
  refresh(): Listen | undefined {
    if (!this.#host.ready() || this.#refused) return undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const filter = this.#filter();
    if (filter === undefined) {
      for (const old of this.#open) old.abort.abort();
      this.#open.clear();
      this.#current = undefined;
      return undefined;
    }
    let markReady: (ok: boolean) => void = () => undefined;
    const ready = new Promise<boolean>((resolve) => (markReady = resolve));
    const listen: Listen = { id: this.#host.newId(), abort: new AbortController(), acked: false, ready, markReady };
    const posted = this.#host.post('subscriptions/listen', { notifications: filter }, listen.abort.signal, listen.id);
    this.#current = listen;
    this.#open.add(listen);
    posted.then(
      (reply) => this.#ended(listen, 'error' in reply ? reply.error : undefined),
      (error: unknown) => this.#ended(listen, error),
    );
    return listen;
  }

  /** A notification stamped with a subscriptionId: the acknowledgement or something to pass on. */
  notification(subscription: string, n: JsonRpcNotification): void {
    let listen: Listen | undefined;
    for (const l of this.#open) if (l.id === subscription) listen = l;
    if (listen === undefined) return;
    if (n.method === 'notifications/subscriptions/acknowledged') {
      listen.acked = true;
      listen.markReady(true);
      this.#backoffMs = LISTEN_BACKOFF_INITIAL_MS;
      if (listen === this.#current) {
        for (const old of this.#open) {
          if (old === listen) continue;
          old.markReady(true); // what it was opened for is covered by the new stream
          old.abort.abort();
          this.#open.delete(old);
        }
      }
      return;
    }
    // An older stream still delivers until its replacement is acknowledged.
    if (listen !== this.#current && this.#current?.acked === true) return;
    const params = n.params ?? {};
    const meta = without(isObject(params._meta) ? params._meta : {}, [SUBSCRIPTION_ID_META_KEY]);
    const rest = without(params, ['_meta']);
    this.#host.deliver({ jsonrpc: '2.0', method: n.method, params: Object.keys(meta).length > 0 ? { ...rest, _meta: meta } : rest });
  }

  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const listen of this.#open) listen.abort.abort();
    this.#open.clear();
    this.#current = undefined;
  }

  #filter(): Record<string, unknown> | undefined {
    const caps = this.#host.capabilities();
    const filter: Record<string, unknown> = {};
    if (isObject(caps.tools) && caps.tools.listChanged === true) filter.toolsListChanged = true;
    if (isObject(caps.prompts) && caps.prompts.listChanged === true) filter.promptsListChanged = true;
    if (isObject(caps.resources) && caps.resources.listChanged === true) filter.resourcesListChanged = true;
    if (isObject(caps.resources) && caps.resources.subscribe === true && this.#subscribed.size > 0) filter.resourceSubscriptions = [...this.#subscribed];
    return Object.keys(filter).length > 0 ? filter : undefined;
  }

  #ended(listen: Listen, why: unknown): void {
    this.#open.delete(listen);
    listen.markReady(false);
    if (this.#host.closed() || listen !== this.#current || listen.abort.signal.aborted) return;
    this.#current = undefined;
    const log = this.#host.logger;
    if (isObject(why) && why.code === ErrorCode.MethodNotFound) {
      this.#refused = true;
      log.warn('the remote server refused subscriptions/listen: list changes and resource updates will not be delivered');
      return;
    }
    if (why instanceof RemoteLinkError && closesLink(why)) {
      this.#host.fail(new RemoteLinkError(why.code, `lost the subscriptions/listen stream: ${why.message}`, { status: why.status, cause: why }));
      return;
    }
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(delay * 2, LISTEN_BACKOFF_MAX_MS);
    log.debug({ retryInMs: delay, reason: why instanceof Error ? why.message : isObject(why) ? why.message : 'ended' }, 'subscriptions/listen stream ended; reopening');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.refresh();
    }, delay);
    this.#timer.unref();
  }
}

/** The promise's value, or `fallback` after `ms`. */
async function bounded<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

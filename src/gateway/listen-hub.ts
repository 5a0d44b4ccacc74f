import { ErrorCode, type JsonRpcId, type JsonRpcNotification, type JsonRpcRequest } from '../jsonrpc/index.js';
import type { Dispatcher } from './dispatcher.js';
import { StreamLog } from './exchange.js';
import { jsonRpcHttpError } from './http-util.js';
import { META } from './protocol.js';
import type { Reply } from './reply.js';
import { SSE_HEADERS, SseStream } from './sse.js';

// 2026-07-28 `subscriptions/listen` (it replaces the GET stream and resources/subscribe):
// one long SSE answer per listener, carrying only the change notifications it asked for,
// each stamped with the listen request's id as its subscriptionId.
//
// Listeners share held upstream sessions (one channel serves many), and a channel holds a
// URI's subscription once: so the hub counts listeners per (held session, URI), subscribes
// upstream for the first and unsubscribes only when the last one leaves. Without the count,
// one listener closing unsubscribed the URI for every other listener on that session.

/** Most resourceSubscriptions one listen request may carry: each costs an upstream request on open and on close. */
export const MAX_LISTEN_URIS = 100;

/** One URI subscribed upstream through one held session, and how many listeners want it. */
interface Held {
  listeners: number;
  /** Settles once the upstream answered the subscribe. */
  readonly ready: Promise<unknown>;
}

interface Listener {
  readonly log: StreamLog;
  readonly id: JsonRpcId;
  readonly wants: { tools: boolean; prompts: boolean; resources: boolean; uris: Set<string> };
}

export class ListenHub {
  readonly #listeners = new Set<Listener>();
  readonly #held = new WeakMap<Dispatcher, Map<string, Held>>();
  readonly #nextStream: () => number;
  readonly #nextId: () => string;
  readonly #keepAliveMs: number | undefined;

  constructor(options: { nextStream: () => number; nextId: () => string; keepAliveMs: number | undefined }) {
    this.#nextStream = options.nextStream;
    this.#nextId = options.nextId;
    this.#keepAliveMs = options.keepAliveMs;
  }

  /** Listeners open now. */
  get listening(): number {
    return this.#listeners.size;
  }

  /** True while some listener holds a resource subscription on this held session's dispatcher. */
  holds(dispatcher: Dispatcher): boolean {
    const byUri = this.#held.get(dispatcher);
    return byUri !== undefined && byUri.size > 0;
  }

  /** Opens a listener; honours only what the upstream advertises. */
  open(request: JsonRpcRequest, dispatcher: Dispatcher): Reply {
    const caps = dispatcher.initializeResult.capabilities as Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined>;
    const asked = (request.params?.notifications ?? {}) as Record<string, unknown>;
    if (Array.isArray(asked.resourceSubscriptions) && asked.resourceSubscriptions.length > MAX_LISTEN_URIS) {
      return jsonRpcHttpError(
        400,
        ErrorCode.InvalidParams,
        `Invalid params: at most ${MAX_LISTEN_URIS} resourceSubscriptions per subscriptions/listen request (got ${asked.resourceSubscriptions.length}); open several listeners`,
        request.id,
      );
    }
    const uris =
      Array.isArray(asked.resourceSubscriptions) && caps.resources?.subscribe
        ? [...new Set(asked.resourceSubscriptions.filter((u): u is string => typeof u === 'string'))]
        : [];
    const wants = {
      tools: asked.toolsListChanged === true && Boolean(caps.tools?.listChanged),
      prompts: asked.promptsListChanged === true && Boolean(caps.prompts?.listChanged),
      resources: asked.resourcesListChanged === true && Boolean(caps.resources?.listChanged),
      uris: new Set(uris),
    };
    const log = new StreamLog(this.#nextStream(), 64);
    const listener: Listener = { log, id: request.id, wants };
    const joined = uris.map((uri) => this.#join(dispatcher, uri));
    log.outlet = new SseStream({
      keepAliveMs: this.#keepAliveMs,
      onClose: () => {
        this.#listeners.delete(listener);
        uris.forEach((uri, i) => this.#leave(dispatcher, uri, joined[i] as Held));
      },
    });
    this.#listeners.add(listener);
    void Promise.all(joined.map((h) => h.ready)).then(() => {
      const honored: Record<string, unknown> = {};
      if (wants.tools) honored.toolsListChanged = true;
      if (wants.prompts) honored.promptsListChanged = true;
      if (wants.resources) honored.resourcesListChanged = true;
      if (uris.length) honored.resourceSubscriptions = uris;
      log.push({
        jsonrpc: '2.0',
        method: 'notifications/subscriptions/acknowledged',
        params: { notifications: honored, _meta: { [META.subscriptionId]: request.id } },
      });
    });
    return { status: 200, headers: SSE_HEADERS, stream: log.outlet.body };
  }

  /** One more listener of `uri` on this held session: subscribes upstream for the first. */
  #join(dispatcher: Dispatcher, uri: string): Held {
    let byUri = this.#held.get(dispatcher);
    if (byUri === undefined) this.#held.set(dispatcher, (byUri = new Map<string, Held>()));
    const known = byUri.get(uri);
    if (known !== undefined) {
      known.listeners++;
      return known;
    }
    const table = byUri;
    const held: Held = {
      listeners: 1,
      ready: this.#request(dispatcher, 'resources/subscribe', uri).then((ok) => {
        // Refused: nothing is held upstream; the next listener asks again.
        if (!ok && table.get(uri) === held) table.delete(uri);
      }),
    };
    byUri.set(uri, held);
    return held;
  }

  /** A listener of `uri` left: unsubscribes upstream only when it was the last one. */
  #leave(dispatcher: Dispatcher, uri: string, held: Held): void {
    if (--held.listeners > 0) return;
    const byUri = this.#held.get(dispatcher);
    if (byUri?.get(uri) !== held) return; // refused upstream: nothing to undo
    byUri.delete(uri);
    void this.#request(dispatcher, 'resources/unsubscribe', uri);
  }

  /** True when the upstream answered with a result. */
  #request(dispatcher: Dispatcher, method: string, uri: string): Promise<boolean> {
    return dispatcher.request({ jsonrpc: '2.0', id: this.#nextId(), method, params: { uri } }).then(
      (reply) => 'result' in reply,
      () => false,
    );
  }

  /** A change notification from upstream, to every listener that asked for it. */
  publish(message: JsonRpcNotification): void {
    const m = message.method;
    const uri = message.params?.uri;
    for (const l of this.#listeners) {
      const wanted =
        (m === 'notifications/tools/list_changed' && l.wants.tools) ||
        (m === 'notifications/prompts/list_changed' && l.wants.prompts) ||
        (m === 'notifications/resources/list_changed' && l.wants.resources) ||
        (m === 'notifications/resources/updated' && typeof uri === 'string' && l.wants.uris.has(uri));
      if (wanted) l.log.push({ ...message, params: { ...message.params, _meta: { [META.subscriptionId]: l.id } } });
    }
  }

  close(): void {
    for (const l of this.#listeners) l.log.outlet?.close();
  }
}

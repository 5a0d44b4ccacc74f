import type { JsonRpcId, JsonRpcNotification, JsonRpcRequest } from '../jsonrpc/index.js';
import type { Dispatcher } from './dispatcher.js';
import { StreamLog } from './exchange.js';
import { META } from './protocol.js';
import type { Reply } from './reply.js';
import { SSE_HEADERS, SseStream } from './sse.js';

// 2026-07-28 `subscriptions/listen` (it replaces the GET stream and resources/subscribe):
// one long SSE answer per listener, carrying only the change notifications it asked for,
// each stamped with the listen request's id as its subscriptionId.

interface Listener {
  readonly log: StreamLog;
  readonly id: JsonRpcId;
  readonly wants: { tools: boolean; prompts: boolean; resources: boolean; uris: Set<string> };
}

export class ListenHub {
  readonly #listeners = new Set<Listener>();
  readonly #nextStream: () => number;
  readonly #nextId: () => string;
  readonly #keepAliveMs: number | undefined;

  constructor(options: { nextStream: () => number; nextId: () => string; keepAliveMs: number | undefined }) {
    this.#nextStream = options.nextStream;
    this.#nextId = options.nextId;
    this.#keepAliveMs = options.keepAliveMs;
  }

  /** Opens a listener; honours only what the upstream advertises. */
  open(request: JsonRpcRequest, dispatcher: Dispatcher): Reply {
    const caps = dispatcher.initializeResult.capabilities as Record<string, { listChanged?: boolean; subscribe?: boolean } | undefined>;
    const asked = (request.params?.notifications ?? {}) as Record<string, unknown>;
    const uris =
      Array.isArray(asked.resourceSubscriptions) && caps.resources?.subscribe
        ? asked.resourceSubscriptions.filter((u): u is string => typeof u === 'string')
        : [];
    const wants = {
      tools: asked.toolsListChanged === true && Boolean(caps.tools?.listChanged),
      prompts: asked.promptsListChanged === true && Boolean(caps.prompts?.listChanged),
      resources: asked.resourcesListChanged === true && Boolean(caps.resources?.listChanged),
      uris: new Set(uris),
    };
    const log = new StreamLog(this.#nextStream(), 64);
    const listener: Listener = { log, id: request.id, wants };
    const subscribe = (method: string) =>
      Promise.all(uris.map((uri) => dispatcher.request({ jsonrpc: '2.0', id: this.#nextId(), method, params: { uri } })));
    log.outlet = new SseStream({
      keepAliveMs: this.#keepAliveMs,
      onClose: () => {
        this.#listeners.delete(listener);
        void subscribe('resources/unsubscribe');
      },
    });
    this.#listeners.add(listener);
    void subscribe('resources/subscribe').then(() => {
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

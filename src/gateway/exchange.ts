import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from '../jsonrpc/index.js';
import type { Reply } from './reply.js';
import { SSE_HEADERS, SseStream } from './sse.js';

/** Replayable events of one SSE stream, for resumption with Last-Event-ID. */
export class StreamLog {
  readonly id: number;
  #seq = 0;
  readonly #events: { seq: number; data: JsonRpcMessage }[] = [];
  readonly #limit: number;
  outlet: SseStream | undefined;
  /** No more events will come (the request is answered, or the GET stream ended for good). */
  done = false;

  constructor(id: number, limit = 256) {
    this.id = id;
    this.#limit = limit;
  }

  /** Records an event and writes it to the live outlet, if there is one. */
  push(data: JsonRpcMessage): void {
    const seq = ++this.#seq;
    this.#events.push({ seq, data });
    if (this.#events.length > this.#limit) this.#events.shift();
    this.outlet?.send(data, { id: `${this.id}-${seq}` });
  }

  /**
   * Re-sends what came after `afterSeq` to a new outlet and makes it the live one. A client
   * resumes because it lost the stream, possibly before we noticed (2025-11-25 transports,
   * "Resumability and Redelivery"); and a message must not travel on more than one stream.
   * So the previous outlet, if still open, is closed rather than left running (orphaned with
   * its keep-alive timer) or the resumption refused.
   */
  resume(outlet: SseStream, afterSeq: number): void {
    const previous = this.outlet;
    if (previous && previous !== outlet && !previous.closed) previous.close();
    this.outlet = outlet;
    for (const e of this.#events) if (e.seq > afterSeq) outlet.send(e.data, { id: `${this.id}-${e.seq}` });
    if (this.done) outlet.close();
  }
}

/** Parses `${stream}-${seq}` event ids. */
export function parseEventId(value: string | null): { stream: number; seq: number } | undefined {
  const m = value ? /^(\d+)-(\d+)$/.exec(value.trim()) : null;
  return m ? { stream: Number(m[1]), seq: Number(m[2]) } : undefined;
}

export interface ExchangeOptions {
  readonly ids: readonly JsonRpcId[];
  /** The client accepts text/event-stream, so the answer may become a stream. */
  readonly sseAllowed: boolean;
  /** A JSON-RPC batch (2025-03-26): answer with an array. */
  readonly batch: boolean;
  readonly headers: Record<string, string>;
  readonly newStream: () => StreamLog;
  readonly keepAliveMs?: number | undefined;
  /** 2025-11-25: open the stream with an id-only event so the client can resume from the start. */
  readonly prime?: boolean;
}

/**
 * The answer to one POST that carried requests. It stays plain JSON while nothing but the
 * replies arrive, and turns into an SSE stream the moment a related notification or server
 * request must travel first (a progress update, a sampling request).
 */
export class PostExchange {
  readonly response: Promise<Reply>;
  #resolve!: (r: Reply) => void;
  readonly #waiting: Set<JsonRpcId>;
  readonly #replies: JsonRpcResponse[] = [];
  readonly #options: ExchangeOptions;
  #log: StreamLog | undefined;

  constructor(options: ExchangeOptions) {
    this.#options = options;
    this.#waiting = new Set(options.ids);
    this.response = new Promise((resolve) => (this.#resolve = resolve));
  }

  owns(id: JsonRpcId): boolean {
    return this.#waiting.has(id);
  }

  get streaming(): boolean {
    return this.#log !== undefined;
  }

  get finished(): boolean {
    return this.#waiting.size === 0;
  }

  /** A related notification or server request. False when this exchange cannot carry it. */
  deliver(message: JsonRpcMessage): boolean {
    if (this.finished) return false;
    if (!this.#log) {
      if (!this.#options.sseAllowed) return false;
      this.#startStream();
    }
    this.#log!.push(message);
    return true;
  }

  /** The reply to one of this POST's requests; `status` applies when the answer is plain JSON. */
  reply(response: JsonRpcResponse, status = 200): void {
    if (response.id === null || !this.#waiting.delete(response.id)) return;
    if (this.#log) {
      this.#log.push(response);
      if (this.finished) {
        this.#log.done = true;
        this.#log.outlet?.close();
      }
      return;
    }
    this.#replies.push(response);
    if (!this.finished) return;
    const body = this.#options.batch ? this.#replies : this.#replies[0];
    this.#resolve({ status, headers: { ...this.#options.headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  #startStream(): void {
    const log = this.#options.newStream();
    this.#log = log;
    log.outlet = new SseStream({
      keepAliveMs: this.#options.keepAliveMs,
      onClose: () => {
        if (log.outlet && log.outlet.closed) log.outlet = undefined;
      },
    });
    if (this.#options.prime) log.outlet.prime(`${log.id}-0`);
    this.#resolve({ status: 200, headers: { ...this.#options.headers, ...SSE_HEADERS }, stream: log.outlet.body });
    // Replies that arrived before the stream started (batch) go first.
    for (const r of this.#replies.splice(0)) log.push(r);
  }
}

// One Server-Sent Events response body (HTML Living Standard, "Server-sent events").
// Idle streams carry comment lines so that proxies do not cut them.

const encoder = new TextEncoder();
export const DEFAULT_KEEPALIVE_MS = 15_000;

export interface SseStreamOptions {
  readonly keepAliveMs?: number;
  /** Called once when the client goes away (or `close` is called). */
  readonly onClose?: () => void;
}

export class SseStream {
  readonly body: ReadableStream<Uint8Array>;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;
  #onClose: (() => void) | undefined;

  constructor(options: SseStreamOptions = {}) {
    this.#onClose = options.onClose;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.#finish(),
    });
    const every = options.keepAliveMs ?? DEFAULT_KEEPALIVE_MS;
    if (every > 0) {
      this.#timer = setInterval(() => this.#write(': keep-alive\n\n'), every);
      this.#timer.unref();
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one event; `data` is serialised as JSON on one line. */
  send(data: unknown, options: { id?: string; event?: string } = {}): boolean {
    let frame = '';
    if (options.event) frame += `event: ${options.event}\n`;
    if (options.id) frame += `id: ${options.id}\n`;
    frame += `data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
    return this.#write(frame);
  }

  /** An event with an id and empty data: lets a 2025-11-25 client resume before anything is sent. */
  prime(id: string, retryMs?: number): boolean {
    return this.#write(`id: ${id}\n${retryMs ? `retry: ${retryMs}\n` : ''}data: \n\n`);
  }

  close(): void {
    if (this.#closed) return;
    try {
      this.#controller?.close();
    } catch {
      // already closed by the consumer
    }
    this.#finish();
  }

  #write(text: string): boolean {
    if (this.#closed || !this.#controller) return false;
    try {
      this.#controller.enqueue(encoder.encode(text));
      return true;
    } catch {
      this.#finish();
      return false;
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    const cb = this.#onClose;
    this.#onClose = undefined;
    cb?.();
  }
}

export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // nginx buffers responses unless told not to.
  'x-accel-buffering': 'no',
};

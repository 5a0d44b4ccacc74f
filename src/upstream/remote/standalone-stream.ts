import type { Dispatcher } from 'undici';

import type { Logger } from '../../observability/index.js';
import { redactUrl } from '../../observability/index.js';
import { closesLink, describeFailure, describeStatus, RemoteLinkError } from './errors.js';
import { readEventStream, type EventSourceMessage } from './event-stream.js';

/** Consecutive failed attempts to (re)open an event stream before giving up on it. */
export const STREAM_RETRIES = 5;
/** A standalone stream that ends sooner than this without an event counts as a failed attempt. */
const SHORT_STREAM_MS = 5_000;

/** What the standalone stream needs from its Streamable HTTP link. */
export interface StandaloneStreamHost {
  readonly url: URL;
  readonly timeoutMs: number;
  readonly dispatcher: Dispatcher;
  readonly logger: Logger;
  /** The endpoint's path now (a redirect may have moved it). */
  path(): string;
  /** Request headers with the session id and protocol version. */
  headers(accept: string): Record<string, string>;
  /** The link is closed: stop. */
  closed(): boolean;
  /** One event of the stream for the link's handlers. */
  deliver(event: EventSourceMessage): void;
  /** The server's `retry:` field, heard on the stream. */
  onRetry(ms: number): void;
  /** How long to wait before attempt `n` (the server's `retry:`, else a growing delay). */
  retryDelay(n: number): number;
  /** Ends the link (the stream found it dead). */
  fail(reason: RemoteLinkError): void;
  /** The stream stopped being live (refused, given up, closed): no message will come on it. */
  ended?(): void;
}

/**
 * The server's standalone event stream of a Streamable HTTP session (the GET after
 * initialize): notifications and requests outside any POST. 405 means the server offers none.
 * When it ends it is reopened with `Last-Event-ID` after the server's `retry:` delay (MCP
 * 2025-11-25: the client MUST respect the retry field), so nothing sent meanwhile is lost.
 * A refused connection, a 401, or a 404 to a stream seen before ends the link ("lost the event
 * stream: ..."), as do 5 failed reopenings in a row. A stream that ends at once, empty, again
 * and again, or a 200 that is not an event stream (a login page), is given up with a warning:
 * the link lives on without it.
 */
export class StandaloneStream {
  readonly #h: StandaloneStreamHost;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastEventId: string | undefined;
  /** A stream was open once: the server serves them. */
  #seen = false;
  /** Consecutive failed reopenings, and streams that ended at once, empty. */
  #failures = 0;
  #empties = 0;
  /** The GET is on its way, or its stream is being read. */
  #running = false;

  constructor(host: StandaloneStreamHost) {
    this.#h = host;
  }

  /**
   * A stream is asked for, being read, or about to be reopened: a message may still come on it.
   * Some servers (ruby-sdk before its PR #294), against the transports' rules, answer a request
   * there and not on its POST, and the SDK's own client waits for that: the link too, while this
   * holds (the request timeout above it bounds the wait); else it fails the request at once.
   */
  get live(): boolean {
    return this.#running || this.#timer !== undefined;
  }

  open(): void {
    if (this.#h.closed()) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#running = true;
    void this.#run(abort).finally(() => {
      if (this.#abort !== abort) return;
      this.#running = false;
      if (!this.live) this.#h.ended?.();
    });
  }

  close(): void {
    this.#abort?.abort();
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#h.ended?.();
  }

  /** A failed stream GET. A 404 to a session whose streams the server is known to serve: the session is gone. */
  statusFailure(status: number, known = this.#seen): RemoteLinkError {
    return streamStatusFailure(this.#h.url, status, known);
  }

  async #run(abort: AbortController): Promise<void> {
    const h = this.#h;
    let failure: RemoteLinkError | undefined;
    try {
      const headers = h.headers('text/event-stream');
      if (this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
      const res = await h.dispatcher.request({ origin: h.url.origin, path: h.path(), method: 'GET', headers, signal: abort.signal });
      const type = header(res.headers, 'content-type') ?? '';
      if (res.statusCode === 200 && type.startsWith('text/event-stream')) {
        this.#seen = true;
        this.#failures = 0;
        const opened = Date.now();
        let events = 0;
        const onEvent = (event: EventSourceMessage): void => {
          events++;
          if (event.id) this.#lastEventId = event.id;
          h.deliver(event);
        };
        // A stream that breaks (reset, server gone) is handled as one that ended: reopen it.
        await readEventStream(res.body, onEvent, (ms) => h.onRetry(ms)).catch(() => undefined);
        // One that ends at once and empty, again and again, is not worth reopening for ever.
        this.#empties = events > 0 || Date.now() - opened >= SHORT_STREAM_MS ? 0 : this.#empties + 1;
        if (this.#empties >= STREAM_RETRIES && !h.closed()) {
          h.logger.warn('the remote server ends its event stream as soon as it opens it; notifications outside requests will be missed');
          return;
        }
      } else {
        await res.body.dump().catch(() => undefined);
        if (res.statusCode === 405 || res.statusCode < 400) {
          // No stream offered (a 200 that is not an event stream: a login page, most often).
          if (res.statusCode !== 405 && !h.closed()) h.logger.warn({ status: res.statusCode, type }, 'the event stream GET did not get an event stream; notifications outside requests will be missed');
          return;
        }
        failure = this.statusFailure(res.statusCode);
      }
    } catch (err) {
      if (abort.signal.aborted || h.closed()) return;
      failure = describeFailure(err, h.url, h.timeoutMs);
    }
    if (h.closed() || abort.signal.aborted) return;
    if (failure !== undefined) {
      if (closesLink(failure)) {
        h.fail(new RemoteLinkError(failure.code, `lost the event stream: ${failure.message}`, { status: failure.status, cause: failure }));
        return;
      }
      if (!this.#seen) {
        h.logger.warn({ reason: failure.message }, 'no standalone event stream from the remote server; notifications outside requests will be missed');
        return;
      }
      this.#failures++;
      if (this.#failures >= STREAM_RETRIES) {
        h.fail(
          new RemoteLinkError('connection-lost', `lost the event stream from ${redactUrl(h.url.href)} and could not reopen it after ${this.#failures} attempts: ${failure.message}`, {
            cause: failure,
          }),
        );
        return;
      }
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.open();
    }, h.retryDelay(Math.max(this.#failures, this.#empties)));
    this.#timer.unref();
  }
}

/**
 * A failed event stream GET. A 404 with a session the server is `known` to serve streams for:
 * the session is gone. Some servers answer a GET they do not support with 404 instead of 405:
 * that must not end the link.
 */
export function streamStatusFailure(url: URL, status: number, known: boolean): RemoteLinkError {
  const shown = redactUrl(url.href);
  if (status === 404) {
    if (known) {
      return new RemoteLinkError('session-expired', `session expired: ${shown} answered HTTP 404 for our session's event stream; a new link must initialize again`, { status });
    }
    return new RemoteLinkError('protocol', `${shown} answered HTTP 404 to the event stream GET (a server without one should answer 405)`, { status });
  }
  return describeStatus(status, url);
}

export function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Dispatcher } from 'undici';
import { boundedEventParser, MAX_EVENT_LENGTH, readBoundedText, readEventStream, tooLong, type EventSourceMessage } from './event-stream.js';
import type { WireHandler, WirePool, WireRequest } from './wire/index.js';

// The answer to one of the lean link's requests, the same whichever client carried it:
// undici's `request()` (its body a Readable; what an OAuth dispatcher wraps), or the wire pool
// (wire/, decision 0017) driving the raw handler below, which skips the Readable, the header
// object and the promise plumbing of `request()` on the hot path
// (docs/decisions/0005-performance.md, sessions 4 and 7).

export type AnswerHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** An answer's body, read exactly one way. */
export interface AnswerBody {
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
  /** Reads and drops the body (so that the connection can be reused). */
  dump(): Promise<void>;
  /**
   * Feeds the body as server-sent events to `onEvent` until it ends or is destroyed (resolves)
   * or breaks (rejects). `onRetry` hears the server's `retry:` field.
   */
  events(onEvent: (event: EventSourceMessage) => void, onRetry?: (ms: number) => void): Promise<void>;
  /** Stops reading: the request is aborted if it is still running. */
  destroy(): void;
}

export interface Answer {
  readonly statusCode: number;
  /** Lower-case names; only the ones the link reads (content-type, location, mcp-session-id) with `dispatch`. */
  readonly headers: AnswerHeaders;
  readonly body: AnswerBody;
}

/** An answer read through `request()`. */
export function fromResponseData(res: Dispatcher.ResponseData): Answer {
  const body: Readable = res.body;
  return {
    statusCode: res.statusCode,
    headers: res.headers,
    body: {
      text: () => readBoundedText(body),
      dump: () => res.body.dump(),
      events: (onEvent, onRetry) => readEventStream(body, onEvent, onRetry),
      destroy: () => body.destroy(),
    },
  };
}

/** An answer read off the wire pool with the raw handler; rejects when no status line came. */
export function dispatchRequest(pool: WirePool, options: WireRequest): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    pool.dispatch(options, new RawAnswer(resolve, reject));
  });
}

/** The headers the link reads. */
const KEPT = new Set(['content-type', 'location', 'mcp-session-id']);
/** Their lengths: other names are passed over without being turned into strings. */
const KEPT_LENGTHS = new Set([...KEPT].map((name) => name.length));
/** What `dump()` reads before it gives up on the connection (as undici's own dump). */
const DUMP_LIMIT = 128 * 1024;

type Sink = (chunk: Buffer) => void;

/**
 * The wire pool's handler (onConnect .. onComplete, undici's legacy dispatch shape): the
 * status and the kept headers resolve the answer, body chunks are held until a reader is
 * chosen and then handed to it as they come.
 */
class RawAnswer implements WireHandler, AnswerBody {
  readonly #resolve: (answer: Answer) => void;
  readonly #reject: (err: Error) => void;
  #abort: ((reason?: Error) => void) | undefined;
  #answered = false;
  /** Chunks that came before a reader. */
  #held: Buffer[] | undefined;
  #sink: Sink | undefined;
  #state: 'open' | 'complete' | 'destroyed' | 'failed' = 'open';
  #error: Error | undefined;
  #settle: { resolve: () => void; reject: (err: Error) => void } | undefined;

  constructor(resolve: (answer: Answer) => void, reject: (err: Error) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  // --- the pool's side ---------------------------------------------------------------------

  onConnect(abort: (reason?: Error) => void): void {
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: string[]): boolean {
    // 1xx (102 Processing, 103 Early Hints) come before the answer; request() hides them too.
    if (statusCode < 200) return true;
    const headers: Record<string, string> = {};
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      const raw = rawHeaders[i]!;
      if (!KEPT_LENGTHS.has(raw.length)) continue;
      const name = raw.toLowerCase();
      if (!KEPT.has(name) || headers[name] !== undefined) continue;
      const value = rawHeaders[i + 1]!;
      // Values come as latin1 (one character per byte, so a session id goes back out byte for
      // byte); a Location's bytes are read as UTF-8, as undici reads them.
      headers[name] = name === 'location' ? Buffer.from(value, 'latin1').toString('utf8') : value;
    }
    this.#answered = true;
    this.#resolve({ statusCode, headers, body: this });
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.#sink !== undefined) this.#sink(chunk);
    else if (this.#state === 'open') (this.#held ??= []).push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.#state !== 'open') return;
    this.#state = 'complete';
    this.#settle?.resolve();
  }

  onError(err: Error): void {
    if (!this.#answered) {
      this.#answered = true;
      this.#state = 'failed';
      this.#reject(err);
      return;
    }
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#error = err;
    this.#settle?.reject(err);
  }

  // --- the reader's side -------------------------------------------------------------------

  /** Hands held and future chunks to `sink`; resolves when the body ends. */
  #read(sink: Sink): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined) for (const chunk of held) sink(chunk);
    if (this.#state === 'complete' || this.#state === 'destroyed') return Promise.resolve();
    if (this.#state === 'failed') return Promise.reject(this.#error!);
    this.#sink = sink;
    return new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
  }

  async text(): Promise<string> {
    const decoder = new StringDecoder('utf8');
    let text = '';
    await this.#read((chunk) => {
      if (this.#state !== 'open' && this.#state !== 'complete') return;
      text += decoder.write(chunk);
      if (text.length > MAX_EVENT_LENGTH) this.#fail(tooLong('answer'));
    });
    return text + decoder.end();
  }

  dump(): Promise<void> {
    let size = 0;
    return this.#read((chunk) => {
      size += chunk.length;
      if (size > DUMP_LIMIT) this.destroy();
    });
  }

  events(onEvent: (event: EventSourceMessage) => void, onRetry?: (ms: number) => void): Promise<void> {
    let over = false;
    const parser = boundedEventParser(onEvent, onRetry, () => (over = true));
    const decoder = new StringDecoder('utf8');
    return this.#read((chunk) => {
      if (over) return;
      parser.feed(decoder.write(chunk));
      if (over) this.#fail(tooLong('event'));
    });
  }

  /** The reader cannot go on (an event or answer past MAX_EVENT_LENGTH): it fails, and the connection is dropped. */
  #fail(err: Error): void {
    if (this.#state !== 'open' && this.#state !== 'complete') return;
    this.#state = 'failed';
    this.#error = err;
    this.#held = undefined;
    this.#sink = undefined;
    this.#abort?.(err);
    this.#settle?.reject(err);
  }

  destroy(): void {
    if (this.#state !== 'open') return;
    this.#state = 'destroyed';
    this.#held = undefined;
    this.#sink = undefined;
    this.#abort?.(new Error('destroyed'));
    this.#settle?.resolve();
  }
}

import type { Socket } from 'node:net';

import { ResponseParser, type ResponseSink } from './response-parser.js';
import { WireError } from './wire-error.js';

// One connection of the wire pool (wire-pool.ts): its socket, the answer it is reading, and
// when it may carry another request.

/** The part of undici's legacy dispatch handler that the pool drives (post-answer.ts RawAnswer). */
export interface WireHandler {
  onConnect?(abort: (reason?: Error) => void): void;
  onHeaders?(statusCode: number, rawHeaders: string[], resume: () => void, statusText: string): boolean;
  onData?(chunk: Buffer): boolean;
  onComplete?(trailers: string[] | null): void;
  onError?(err: Error): void;
}

/** What a connection tells its pool. */
export interface ConnectionHost {
  /** The connection finished an answer and may carry another. */
  release(conn: WireConnection): void;
  /** The connection is gone. */
  forget(conn: WireConnection): void;
}

/** An idle connection is not used again this long after its last answer when the server named no keep-alive timeout (as undici). */
const DEFAULT_IDLE_MS = 4_000;
/**
 * Not used again this much before the server's own `Keep-Alive: timeout` (undici's threshold):
 * the request must reach the server before its close. Checked when a connection is taken; the
 * sweep only closes connections nobody took.
 */
const IDLE_MARGIN_MS = 2_000;
const MAX_IDLE_MS = 600_000;

/** One socket and the answer it is reading. */
export class WireConnection implements ResponseSink {
  readonly #pool: ConnectionHost;
  readonly #socket: Socket;
  readonly #parser = new ResponseParser(this);
  readonly #resume: () => void;
  /** The request's bytes are still being written: an answer that comes first must not free the connection. */
  #writing = false;
  readonly #written = (): void => {
    this.#writing = false;
  };
  /** The request asked for `Connection: close`. */
  #once = false;
  #handler: WireHandler | undefined;
  #dead = false;
  connected = false;
  /** When the request under way was sent, until its header section came. */
  waitingSince: number | undefined;
  idleSince = 0;
  idleMs = DEFAULT_IDLE_MS;

  constructor(pool: ConnectionHost, socket: Socket, secure: boolean) {
    this.#pool = pool;
    this.#socket = socket;
    this.#resume = () => socket.resume();
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      // The wait for the answer starts once connected (the connect had its own bound).
      if (this.waitingSince !== undefined) this.waitingSince = Date.now();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('end', () => this.#onEnd());
    socket.on('close', () => this.#onEnd());
  }

  get busy(): boolean {
    return this.#handler !== undefined;
  }

  /** Idle and still open. */
  get usable(): boolean {
    return !this.#dead && !this.#socket.destroyed && this.#socket.readable;
  }

  send(handler: WireHandler, method: string, head: string, ascii: boolean, body: string | undefined, once: boolean): void {
    this.#handler = handler;
    this.#once = once;
    this.#parser.expect(method);
    this.waitingSince = Date.now();
    handler.onConnect?.((reason) => {
      if (this.#handler === handler) this.fail(reason ?? new Error('aborted'));
    });
    if (this.#handler !== handler) return; // aborted from onConnect
    this.#writing = true;
    if (ascii) {
      this.#socket.write(body === undefined ? head : head + body, this.#written);
    } else {
      this.#socket.cork();
      this.#socket.write(head, 'latin1');
      this.#socket.write(body ?? '', 'utf8', this.#written);
      this.#socket.uncork();
    }
  }

  // --- ResponseSink ------------------------------------------------------------------------

  head(status: number, rawHeaders: string[]): void {
    this.waitingSince = undefined;
    this.#handler?.onHeaders?.(status, rawHeaders, this.#resume, '');
  }

  informational(): void {
    // 102 Processing and the like: the server is alive; the wait starts again (as undici).
    this.waitingSince = Date.now();
  }

  data(chunk: Buffer): void {
    if (this.#handler?.onData?.(chunk) === false) this.#socket.pause();
  }

  // --- endings -----------------------------------------------------------------------------

  /** Ends the connection; the answer under way, if any, fails with `error`. */
  fail(error: Error): void {
    if (this.#dead) return;
    this.#dead = true;
    this.waitingSince = undefined;
    this.#socket.destroy();
    this.#pool.forget(this);
    const handler = this.#handler;
    this.#handler = undefined;
    handler?.onError?.(error);
  }

  /** Ends an idle connection. */
  destroy(): void {
    if (this.#dead) return;
    if (this.#handler !== undefined) {
      this.fail(new WireError('WIRE_POOL_CLOSED', 'the connection pool was closed'));
      return;
    }
    this.#dead = true;
    this.#socket.destroy();
    this.#pool.forget(this);
  }

  #onData(chunk: Buffer): void {
    if (this.#handler === undefined) {
      // Bytes no request asked for: the server is out of step with us.
      this.destroy();
      return;
    }
    let rest: number;
    try {
      rest = this.#parser.feed(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    // The handler may have aborted while it heard the head or a chunk.
    if (rest >= 0 && this.#handler !== undefined) this.#complete(rest === 0 && this.#parser.keepAlive);
  }

  #onEnd(): void {
    if (this.#dead) return;
    if (this.#handler === undefined) {
      this.destroy();
      return;
    }
    let complete: boolean;
    try {
      complete = this.#parser.end();
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    if (complete) this.#complete(false);
    else this.destroy();
  }

  #complete(reusable: boolean): void {
    const handler = this.#handler!;
    this.#handler = undefined;
    this.waitingSince = undefined;
    const seconds = this.#parser.keepAliveSeconds;
    if (seconds !== undefined) this.idleMs = Math.min(MAX_IDLE_MS, Math.max(0, seconds * 1_000 - IDLE_MARGIN_MS));
    // Back in the pool before the handler hears of it, so that a request it sends at once can
    // use it; not while the request is still being written (a server may answer early, a 413,
    // and the rest of the body would reach it as the next request), nor paused by a reader.
    if (reusable && !this.#writing && !this.#once && this.idleMs > 0) {
      if (this.#socket.isPaused()) this.#socket.resume();
      this.#pool.release(this);
    } else this.destroy();
    handler.onComplete?.(null);
  }
}

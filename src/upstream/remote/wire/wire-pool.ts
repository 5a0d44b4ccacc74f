import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

import { BAD_VALUE } from './response-parser.js';
import { WireConnection, type ConnectionHost, type WireHandler } from './wire-connection.js';
import { WireError } from './wire-error.js';

// A keep-alive pool of HTTP/1.1 connections to one origin, for the lean Streamable HTTP
// link's POSTs (docs/decisions/0017-wire-client.md): a request is one string written to a
// socket, the answer is framed by ResponseParser and handed to a raw handler in the shape of
// undici's legacy `dispatch()` handler (post-answer.ts RawAnswer). No
// pipelining (one request per connection at a time), no retries (a POST may have been
// acted on), no redirects (the link follows same-origin ones itself).

/** What the link asks for: one request to the pool's origin. */
export interface WireRequest {
  readonly origin: string;
  readonly path: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

export interface WirePoolOptions {
  /** The origin every request goes to (http: or https:). */
  readonly url: URL;
  readonly tls: { readonly rejectUnauthorized: boolean; readonly ca: string | undefined };
  /** Bounds connecting and waiting for an answer's header section; never the body (an event stream may idle for hours). */
  readonly timeoutMs: number;
}

/** Fields that would change how the connection is framed; refused as undici refuses them. */
const FRAMING = new Set(['transfer-encoding', 'keep-alive', 'upgrade', 'expect']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Anything but HTAB and printable ASCII: such a head is written as latin1, byte per character. */
const NON_ASCII = /[^\t -~]/;
/** An origin-form request target (RFC 9112 §3.2.1): no spaces or controls. */
const PATH = /^\/[\x21-\x7e]*$/;
const METHOD = /^[A-Z]+$/;

interface CheckedHeaders {
  /** `name: value\r\n` lines. */
  readonly lines: string;
  /** A configured Host field replaces the origin's (and names the server for TLS, as with undici). */
  readonly host: string | undefined;
  /** The lines hold only ASCII (else written as latin1, as undici writes header values). */
  readonly ascii: boolean;
  /** `Connection: close` was asked for: the connection carries this one request. */
  readonly once: boolean;
}

/**
 * Why a header cannot be sent as given, or undefined: the rule the pool applies to every
 * request, and config checks apply to configured headers (http-client.ts checkHeaders).
 * As undici's: a token name; HTAB, visible ASCII and obs-text in the value (a character past
 * U+00FF would lose its high byte on the wire: U+010D U+010A becomes CR LF); no fields that
 * frame the connection; `Connection` only `close` or `keep-alive`. Content-Length is the
 * pool's own and replaced.
 */
export function headerProblem(name: string, value: string): string | undefined {
  if (!TOKEN.test(name)) return `bad header name ${JSON.stringify(name.slice(0, 40))}`;
  if (BAD_VALUE.test(value)) return `header ${name} holds characters a header cannot carry (CR, LF, NUL, other controls, or past U+00FF)`;
  const lower = name.toLowerCase();
  if (FRAMING.has(lower)) return `header ${name} is set by the HTTP client itself`;
  if (lower === 'connection' && !/^(?:close|keep-alive)$/i.test(value.trim())) return 'header Connection may only be close or keep-alive';
  return undefined;
}

export type { WireHandler } from './wire-connection.js';

export class WirePool implements ConnectionHost {
  readonly #origin: string;
  readonly #host: string;
  readonly #port: number;
  readonly #hostField: string;
  readonly #secure: boolean;
  readonly #tls: WirePoolOptions['tls'];
  readonly #timeoutMs: number;
  /** Header objects already checked: the link reuses one per session for its POSTs. */
  readonly #checked = new WeakMap<object, CheckedHeaders>();
  readonly #idle: WireConnection[] = [];
  readonly #all = new Set<WireConnection>();
  #sweep: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  constructor(options: WirePoolOptions) {
    const { url } = options;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`the wire pool speaks http and https, not ${url.protocol}`);
    this.#origin = url.origin;
    this.#secure = url.protocol === 'https:';
    this.#host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    this.#port = url.port === '' ? (this.#secure ? 443 : 80) : Number(url.port);
    this.#hostField = url.host;
    this.#tls = options.tls;
    this.#timeoutMs = options.timeoutMs;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** The header and connect timeout; 0 is none (as undici's 0). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  /** Sends `request`; the handler hears the answer (or one onError). Same contract as undici's `dispatch`. */
  dispatch(request: WireRequest, handler: WireHandler): boolean {
    if (this.#closed !== undefined) {
      handler.onError?.(new WireError('WIRE_POOL_CLOSED', 'the connection pool is closed'));
      return false;
    }
    let head: string;
    let checked: CheckedHeaders;
    try {
      if (request.origin !== this.#origin) throw new WireError('WIRE_BAD_REQUEST', `this pool sends to ${this.#origin} only`);
      if (!PATH.test(request.path)) throw new WireError('WIRE_BAD_REQUEST', 'the request path holds spaces or control characters');
      if (!METHOD.test(request.method)) throw new WireError('WIRE_BAD_REQUEST', `bad method ${JSON.stringify(request.method)}`);
      checked = this.#check(request.headers);
      head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${checked.host ?? this.#hostField}\r\n${checked.lines}`;
      if (request.body !== undefined) head += `content-length: ${Buffer.byteLength(request.body)}\r\n`;
      head += '\r\n';
    } catch (error) {
      handler.onError?.(error as Error);
      return false;
    }
    this.#take(checked.host).send(handler, request.method, head, checked.ascii, request.body, checked.once);
    return true;
  }

  /** Stops taking requests; resolves when the answers under way are complete (their connections close). */
  close(): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.#closed = new Promise((resolve) => {
      this.#drained = resolve;
    });
    for (const conn of this.#idle.splice(0)) conn.destroy();
    if (this.#all.size === 0) this.#finish();
    return this.#closed;
  }

  /** Closes at once: answers under way fail. */
  destroy(): Promise<void> {
    const done = this.close();
    for (const conn of [...this.#all]) conn.fail(new WireError('WIRE_POOL_CLOSED', 'the connection pool was destroyed'));
    return done;
  }

  // --- the connections' side ---------------------------------------------------------------

  /** A connection finished an answer and may carry another. */
  release(conn: WireConnection): void {
    if (this.#closed !== undefined) {
      conn.destroy();
      return;
    }
    conn.idleSince = Date.now();
    this.#idle.push(conn);
  }

  /** A connection is gone. */
  forget(conn: WireConnection): void {
    this.#all.delete(conn);
    const at = this.#idle.indexOf(conn);
    if (at >= 0) this.#idle.splice(at, 1);
    if (this.#all.size === 0) this.#finish();
  }

  // --- inside ----------------------------------------------------------------------------

  #check(headers: Readonly<Record<string, string>>): CheckedHeaders {
    const known = this.#checked.get(headers);
    if (known !== undefined) return known;
    let lines = '';
    let host: string | undefined;
    let ascii = true;
    let once = false;
    for (const name of Object.keys(headers)) {
      const value = headers[name]!;
      const problem = headerProblem(name, value);
      if (problem !== undefined) throw new WireError('WIRE_BAD_REQUEST', problem);
      if (NON_ASCII.test(value)) ascii = false;
      const lower = name.toLowerCase();
      if (lower === 'host') host = value;
      else if (lower === 'content-length') continue; // the pool's own, from the body
      else {
        if (lower === 'connection' && /^close$/i.test(value.trim())) once = true;
        lines += `${name}: ${value}\r\n`;
      }
    }
    const checked: CheckedHeaders = { lines, host, ascii, once };
    // Only frozen objects are remembered: a header object changed after its check would go out unchecked.
    if (Object.isFrozen(headers)) this.#checked.set(headers, checked);
    return checked;
  }

  /** An idle connection still safe to use (the newest first), else a new one. */
  #take(hostField: string | undefined): WireConnection {
    const now = Date.now();
    for (;;) {
      const conn = this.#idle.pop();
      if (conn === undefined) break;
      if (conn.usable && now - conn.idleSince < conn.idleMs) return conn;
      conn.destroy();
    }
    return this.#connect(hostField);
  }

  #connect(hostField: string | undefined): WireConnection {
    let socket: Socket;
    if (this.#secure) {
      // The name the certificate must hold: a configured Host's, else the URL's (as undici).
      const name = hostField === undefined ? this.#host : serverName(hostField);
      socket = tlsConnect({
        host: this.#host,
        port: this.#port,
        // SNI takes a host name, never an IP literal (RFC 6066 §3); Node checks the certificate
        // against `servername` when set, else `host`.
        ...(isIP(name) === 0 ? { servername: name } : {}),
        rejectUnauthorized: this.#tls.rejectUnauthorized,
        ...(this.#tls.ca === undefined ? {} : { ca: this.#tls.ca }),
        ALPNProtocols: ['http/1.1'],
      });
    } else {
      socket = netConnect({ host: this.#host, port: this.#port });
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const conn = new WireConnection(this, socket, this.#secure);
    this.#all.add(conn);
    if (this.#sweep === undefined) {
      // One timer for the pool, not one per request: the timeouts are coarse (a quarter of the timeout, at most 1 s late).
      const every = this.#timeoutMs > 0 ? Math.max(50, Math.min(1_000, Math.floor(this.#timeoutMs / 4))) : 1_000;
      this.#sweep = setInterval(() => this.#sweepNow(), every);
      this.#sweep.unref();
    }
    return conn;
  }

  #sweepNow(): void {
    const now = Date.now();
    for (const conn of [...this.#all]) {
      if (conn.waitingSince !== undefined) {
        if (this.#timeoutMs > 0 && now - conn.waitingSince > this.#timeoutMs) {
          conn.fail(
            conn.connected
              ? new WireError('WIRE_HEADERS_TIMEOUT', `no answer within ${this.#timeoutMs} ms`)
              : new WireError('WIRE_CONNECT_TIMEOUT', `no connection within ${this.#timeoutMs} ms`),
          );
        }
      } else if (!conn.busy && now - conn.idleSince > conn.idleMs) {
        conn.destroy();
      }
    }
  }

  /** No connection left: the sweep stops, and a close waiting for the answers under way resolves. */
  #finish(): void {
    if (this.#sweep !== undefined) clearInterval(this.#sweep);
    this.#sweep = undefined;
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }
}

/** The host name in a Host field (no port, no IPv6 brackets). */
function serverName(hostField: string): string {
  const value = hostField.trim();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  const colon = value.lastIndexOf(':');
  return colon > 0 ? value.slice(0, colon) : value;
}

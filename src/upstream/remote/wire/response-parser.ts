import { WireError } from './wire-error.js';

// Reads one HTTP/1.1 response after another off a connection's bytes (RFC 9112), strictly:
// whatever could make two parties disagree on where a response ends (both Transfer-Encoding
// and Content-Length, differing lengths, a transfer coding other than chunked, folded or
// malformed header lines, bare LF line ends) is an error that ends the connection, never a
// guess. A pooled connection carries every session's answers, so reading one response's
// end in the wrong place would hand one session's bytes to another.

/** What the parser hands over while it reads a response. */
export interface ResponseSink {
  /** The final status line and header section. Raw: [name, value, ...], values as latin1 (one character per byte). */
  head(status: number, rawHeaders: string[]): void;
  /** A 1xx answer was read and passed over (the server is still working: a wait for the answer starts again). */
  informational(): void;
  /** A piece of the body, with transfer framing removed. Only valid during the call. */
  data(chunk: Buffer): void;
}

/** Limits against a server that never stops sending a header section or a chunk line. */
export const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 4 * 1024;

const HEAD = 0;
const LENGTH = 1;
const CHUNK_SIZE = 2;
const CHUNK_DATA = 3;
const CHUNK_END = 4;
const TRAILERS = 5;
const UNTIL_CLOSE = 6;
const DONE = 7;
type State = typeof HEAD | typeof LENGTH | typeof CHUNK_SIZE | typeof CHUNK_DATA | typeof CHUNK_END | typeof TRAILERS | typeof UNTIL_CLOSE | typeof DONE;

/** RFC 9110 §5.6.2 token characters: a header name. */
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** 1 for each character code that may appear in a token. */
const IS_TOKEN = new Uint8Array(256);
for (let i = 0; i < TOKEN_CHARS.length; i++) IS_TOKEN[TOKEN_CHARS.charCodeAt(i)] = 1;
/** RFC 9112 §4: `HTTP/1.x SP 3DIGIT SP reason` (the reason may be empty; some servers drop its SP). */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: [^\r\n]*)?$/;
/** A field value holds HTAB, visible ASCII and obs-text only (RFC 9110 §5.5; undici's rule too). */
export const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** RFC 9112 §7.1: `chunk-size [ chunk-ext ]`; the size is hex, at most 12 digits here (2^48 bytes). */
const CHUNK_LINE = /^([0-9a-fA-F]{1,12})[ \t]*(?:;[^\r\n]*)?$/;
const DIGITS = /^\d{1,15}$/;
/** Needles for Buffer.indexOf, made once (a string needle is encoded on every search). */
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');

function bad(message: string): WireError {
  return new WireError('WIRE_BAD_RESPONSE', `the server's answer is not valid HTTP/1.1: ${message}`);
}

export class ResponseParser {
  readonly #sink: ResponseSink;
  #state: State = DONE;
  /** No body whatever the headers say: the request was HEAD. */
  #headRequest = false;
  /** Bytes of an unfinished head, chunk line or chunk end, carried to the next feed. */
  #pending: Buffer | undefined;
  /** Body bytes left in the Content-Length body or the current chunk. */
  #remaining = 0;
  #trailerBytes = 0;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** Seconds from the server's `Keep-Alive: timeout=N`, if it sent one. */
  keepAliveSeconds: number | undefined;

  constructor(sink: ResponseSink) {
    this.#sink = sink;
  }

  /** Gets ready for the response to a request sent with `method`. */
  expect(method: string): void {
    this.#state = HEAD;
    this.#headRequest = method === 'HEAD';
    this.#pending = undefined;
    this.#remaining = 0;
    this.#trailerBytes = 0;
    this.keepAlive = true;
    this.keepAliveSeconds = undefined;
  }

  /** The response is complete. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** The status line and headers have been read. */
  get headRead(): boolean {
    return this.#state !== HEAD && this.#state !== DONE;
  }

  /**
   * Reads `chunk`. Returns -1 while the response goes on, else the count of bytes after its
   * end (a well-behaved server sends none: it answers only what it was asked). Throws WireError.
   */
  feed(chunk: Buffer): number {
    let buf = chunk;
    if (this.#pending !== undefined) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = undefined;
    }
    let pos = 0;
    for (;;) {
      switch (this.#state) {
        case HEAD: {
          const end = buf.indexOf(HEAD_END, pos);
          if (end < 0) {
            if (buf.length - pos > MAX_HEAD_BYTES) throw bad(`header section longer than ${MAX_HEAD_BYTES} bytes`);
            this.#pending = buf.subarray(pos);
            return -1;
          }
          if (end - pos > MAX_HEAD_BYTES) throw bad(`header section longer than ${MAX_HEAD_BYTES} bytes`);
          const text = buf.toString('latin1', pos, end);
          pos = end + 4;
          this.#readHead(text);
          if ((this.#state as State) === DONE) return buf.length - pos;
          break;
        }
        case LENGTH:
        case CHUNK_DATA: {
          const left = buf.length - pos;
          if (left === 0) return -1;
          const take = left < this.#remaining ? left : this.#remaining;
          this.#sink.data(pos === 0 && take === buf.length ? buf : buf.subarray(pos, pos + take));
          pos += take;
          this.#remaining -= take;
          if (this.#remaining > 0) return -1;
          if (this.#state === LENGTH) {
            this.#state = DONE;
            return buf.length - pos;
          }
          this.#state = CHUNK_END;
          break;
        }
        case CHUNK_END: {
          if (buf.length - pos < 2) {
            if (buf.length > pos) this.#pending = buf.subarray(pos);
            return -1;
          }
          if (buf[pos] !== 0x0d || buf[pos + 1] !== 0x0a) throw bad('chunk data not followed by CRLF');
          pos += 2;
          this.#state = CHUNK_SIZE;
          break;
        }
        case CHUNK_SIZE:
        case TRAILERS: {
          const eol = buf.indexOf(CRLF, pos);
          if (eol < 0) {
            if (buf.length - pos > MAX_LINE_BYTES) throw bad(this.#state === CHUNK_SIZE ? 'chunk size line too long' : 'trailer line too long');
            if (buf.length > pos) this.#pending = buf.subarray(pos);
            return -1;
          }
          const line = buf.toString('latin1', pos, eol);
          pos = eol + 2;
          if (line.includes('\n')) throw bad('bare LF in chunked framing');
          if (this.#state === TRAILERS) {
            // Trailer fields are read past, not used (RFC 9112 §7.1.2 lets a recipient drop them).
            if (line === '') {
              this.#state = DONE;
              return buf.length - pos;
            }
            this.#trailerBytes += line.length + 2;
            if (this.#trailerBytes > MAX_HEAD_BYTES) throw bad('trailer section too long');
            break;
          }
          const m = CHUNK_LINE.exec(line);
          if (m === null) throw bad(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
          const size = parseInt(m[1]!, 16);
          if (size === 0) this.#state = TRAILERS;
          else {
            this.#remaining = size;
            this.#state = CHUNK_DATA;
          }
          break;
        }
        case UNTIL_CLOSE: {
          if (buf.length > pos) this.#sink.data(pos === 0 ? buf : buf.subarray(pos));
          return -1;
        }
        case DONE:
          // Bytes with no request waiting for them.
          return buf.length - pos;
      }
    }
  }

  /**
   * The server closed the connection. True when that ends the response (a body delimited by
   * the close, RFC 9112 §6.3 item 8); false when nothing was being read. Throws when the
   * response was cut short.
   */
  end(): boolean {
    if (this.#state === UNTIL_CLOSE) {
      this.#state = DONE;
      return true;
    }
    if (this.#state === DONE) return false;
    throw new WireError('WIRE_CLOSED', this.#state === HEAD ? 'the server closed the connection without answering' : 'the server closed the connection before the answer was complete');
  }

  #readHead(text: string): void {
    let eol = text.indexOf('\r\n');
    if (eol < 0) eol = text.length;
    const statusLine = text.slice(0, eol);
    const m = STATUS_LINE.exec(statusLine);
    if (m === null) throw bad(`bad status line ${JSON.stringify(statusLine.slice(0, 60))}`);
    const status = Number(m[2]);
    const http10 = m[1] === '0';
    const raw: string[] = [];
    let contentLength: number | undefined;
    let chunked = false;
    let close = http10;
    let keepAlive: string | undefined;
    // One pass per line over its characters (no split, no regular expression per field: this
    // runs for every answer on the hot path); the rules are TOKEN and BAD_VALUE's.
    for (let start = eol + 2; start < text.length; start = eol + 2) {
      eol = text.indexOf('\r\n', start);
      if (eol < 0) eol = text.length;
      let colon = start;
      while (colon < eol && IS_TOKEN[text.charCodeAt(colon)] === 1) colon++;
      if (colon === start || colon === eol || text.charCodeAt(colon) !== 0x3a) {
        // A line folded onto the previous one starts with whitespace: no colon-led name (RFC 9112 §5.2).
        const c = text.charCodeAt(start);
        if (c === 0x20 || c === 0x09) throw bad('folded header line');
        const first = text.indexOf(':', start);
        if (first <= start || first > eol) throw bad('header line without a name');
        throw bad(`bad header name ${JSON.stringify(text.slice(start, first).slice(0, 40))}`);
      }
      const name = text.slice(start, colon);
      // The value without optional whitespace (SP, HTAB) around it; every character checked.
      let from = -1;
      let to = -1;
      for (let i = colon + 1; i < eol; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x20 || c === 0x09) continue;
        if (c < 0x20 || c === 0x7f) throw bad(`bad characters in header ${name}`); // latin1: nothing past 0xff
        if (from < 0) from = i;
        to = i + 1;
      }
      const value = from < 0 ? '' : text.slice(from, to);
      raw.push(name, value);
      switch (name.length) {
        case 10: // connection, keep-alive
        case 14: // content-length
        case 17: {
          // transfer-encoding
          const lower = name.toLowerCase();
          if (lower === 'content-length') contentLength = contentLength === undefined && DIGITS.test(value) ? Number(value) : mergeLength(contentLength, value);
          else if (lower === 'transfer-encoding') chunked = mergeCoding(chunked, value);
          else if (lower === 'connection') {
            // String trim (not trimOws) on both paths: it also drops obs-text NBSP, as before.
            const tokens = value.includes(',') ? value.toLowerCase().split(',').map((t) => t.trim()) : [value.toLowerCase().trim()];
            if (tokens.includes('close')) close = true;
            else if (http10 && tokens.includes('keep-alive')) close = false;
          } else if (lower === 'keep-alive') keepAlive = value;
          break;
        }
        default:
      }
    }
    // 1xx (100 Continue, 102 Processing, 103 Early Hints) come before the answer and have no
    // body (RFC 9110 §15.2); 101 would switch protocols, which no request of ours asks for.
    if (status < 200) {
      if (status === 101) throw bad('101 Switching Protocols without an upgrade request');
      this.#sink.informational();
      return; // still HEAD: the real answer follows
    }
    // RFC 9112 §6.1: both fields "ought to be handled as an error" (request smuggling); and
    // an HTTP/1.0 message with Transfer-Encoding has faulty framing: close after it.
    if (chunked && contentLength !== undefined) throw bad('both Transfer-Encoding and Content-Length');
    if (chunked && http10) close = true;
    this.keepAlive = !close;
    const t = keepAlive === undefined ? null : /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(keepAlive);
    if (t) this.keepAliveSeconds = Number(t[1]);
    this.#sink.head(status, raw);
    // RFC 9112 §6.3: HEAD, 204 and 304 answers end with their header section.
    if (this.#headRequest || status === 204 || status === 304) this.#state = DONE;
    else if (chunked) this.#state = CHUNK_SIZE;
    else if (contentLength !== undefined) {
      this.#remaining = contentLength;
      this.#state = contentLength === 0 ? DONE : LENGTH;
    } else {
      this.#state = UNTIL_CLOSE;
      this.keepAlive = false;
    }
  }
}

/** Removes optional whitespace (SP, HTAB) around a field value. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 0x20 || value.charCodeAt(start) === 0x09)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 0x20 || value.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/** RFC 9110 §8.6: repeated or listed lengths must all be the same valid number. */
function mergeLength(previous: number | undefined, value: string): number {
  let length = previous;
  for (const part of value.split(',')) {
    const digits = trimOws(part);
    if (!DIGITS.test(digits)) throw bad(`bad Content-Length ${JSON.stringify(value.slice(0, 40))}`);
    const n = Number(digits);
    if (length !== undefined && length !== n) throw bad('differing Content-Length values');
    length = n;
  }
  return length!;
}

/**
 * Our requests send no TE field, so chunked is the only transfer coding a server may use
 * (RFC 9112 §6.1); anything else, or chunked twice, would leave the body's end unknown.
 */
function mergeCoding(chunked: boolean, value: string): boolean {
  const codings = value.split(',').map((c) => trimOws(c).toLowerCase());
  if (chunked || codings.length !== 1 || codings[0] !== 'chunked') throw bad(`unsupported Transfer-Encoding ${JSON.stringify(value.slice(0, 40))}`);
  return true;
}

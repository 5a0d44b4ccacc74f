import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { ErrorCode, errorResponse, isRequest, parseMessage, type JsonRpcId, type JsonRpcMessage } from '../../jsonrpc/index.js';
import type { Logger } from '../../observability/index.js';
import { redactUrl } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { RemoteLinkError } from './errors.js';

// A lean Streamable HTTP client link for the hot path (MCP 2025-03-26 .. 2025-11-25
// transports): undici's `request` on a keep-alive pool, JSON or SSE answers, the session id
// and protocol version headers, the server's GET stream with Last-Event-ID resumption.
// The SDK's transport does the same with web fetch, at several times the CPU per call.

export interface StreamableLinkOptions {
  readonly url: URL;
  readonly dispatcher: Dispatcher;
  /** Configured static headers (already checked). */
  readonly headers: Readonly<Record<string, string>>;
  readonly logger: Logger;
  /** Extra headers per request (e.g. Authorization from an OAuth client); may be async. */
  readonly authHeaders?: () => Promise<Record<string, string>> | Record<string, string>;
}

const GET_STREAM_RETRIES = 5;

export class StreamableHttpLink implements Link {
  readonly description: string;
  readonly #o: StreamableLinkOptions;
  readonly #handlers: LinkHandlers;
  #sessionId: string | undefined;
  #protocolVersion: string | undefined;
  #closed: Error | undefined;
  #getStream: AbortController | undefined;
  #lastEventId: string | undefined;

  constructor(options: StreamableLinkOptions, handlers: LinkHandlers) {
    this.#o = options;
    this.#handlers = handlers;
    this.description = `streamable-http ${redactUrl(options.url.href)}`;
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.#closed) throw this.#closed;
    // Fire and forget: a slow tool call must not hold up the next message.
    void this.#post(message);
    return Promise.resolve();
  }

  /** Request headers; awaits only when an OAuth client supplies some (no microtask otherwise). */
  #headers(accept: string): Promise<Record<string, string>> | Record<string, string> {
    const auth = this.#o.authHeaders;
    if (auth === undefined) return this.#plainHeaders(accept);
    return Promise.resolve(auth()).then((extra) => Object.assign(this.#plainHeaders(accept), extra));
  }

  #plainHeaders(accept: string): Record<string, string> {
    const h: Record<string, string> = { ...this.#o.headers, accept };
    if (this.#sessionId) h['mcp-session-id'] = this.#sessionId;
    if (this.#protocolVersion) h['mcp-protocol-version'] = this.#protocolVersion;
    return h;
  }

  async #post(message: JsonRpcMessage): Promise<void> {
    const id: JsonRpcId | undefined = isRequest(message) ? message.id : undefined;
    // No AbortController per POST (it costs more than the rest of the request's JS): after
    // close, late answers are dropped, and headersTimeout bounds a hung request.
    try {
      const pending = this.#headers('application/json, text/event-stream');
      const headers = pending instanceof Promise ? await pending : pending;
      headers['content-type'] = 'application/json';
      const res = await this.#o.dispatcher.request({
        origin: this.#o.url.origin,
        path: this.#o.url.pathname + this.#o.url.search,
        method: 'POST',
        headers,
        body: JSON.stringify(message),
      });
      const sid = header(res.headers, 'mcp-session-id');
      if (sid && !this.#sessionId) this.#sessionId = sid;
      const type = header(res.headers, 'content-type') ?? '';
      if (res.statusCode === 202 || res.statusCode === 204) {
        await res.body.dump();
        if ('method' in message && message.method === 'notifications/initialized') this.#openGetStream(0);
        return;
      }
      if (res.statusCode >= 400) {
        const text = await res.body.text().catch(() => '');
        this.#httpError(res.statusCode, text, id, 'method' in message ? message.method : undefined);
        return;
      }
      if (type.startsWith('text/event-stream')) {
        await this.#readSse(res.body, id, false);
        return;
      }
      const text = await res.body.text();
      if (!/^application\/(?:[\w.+-]+\+)?json/i.test(type)) {
        if (text.trim() === '' && id === undefined) return;
        // An HTML login page from a proxy in front of the server, most often.
        this.#fail(
          new RemoteLinkError('protocol', `${redactUrl(this.#o.url.href)} answered with ${type.split(';')[0] || 'no content type'}, not JSON or an event stream (a login page? check the URL and the configured headers)`),
        );
        return;
      }
      if (text.trim() === '') return;
      this.#deliverJson(text, id);
    } catch (err) {
      if (this.#closed) return;
      this.#transportError(err, id);
    }
  }

  #deliverJson(text: string, id: JsonRpcId | undefined): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#o.logger.warn('upstream sent a body that is not JSON');
      if (id !== undefined) this.#handlers.onMessage(errorResponse(id, ErrorCode.UpstreamUnavailable, 'the upstream answered with malformed JSON'));
      return;
    }
    if (this.#closed) return;
    for (const item of Array.isArray(value) ? value : [value]) {
      const parsed = parseMessage(item);
      if (parsed.ok) this.#handlers.onMessage(parsed.message);
      else this.#o.logger.warn({ reason: parsed.reason }, 'upstream sent a malformed message');
    }
  }

  /**
   * Reads SSE events into messages; for a POST stream, a stream that ends unanswered fails
   * its request. Event listeners rather than `for await`, and a StringDecoder rather than a
   * TextDecoder: on the hot path the async iterator and the ICU converter cost more than
   * the parsing itself (measured with --cpu-prof, docs/decisions/0005-performance.md).
   */
  #readSse(body: Readable, requestId: JsonRpcId | undefined, standalone: boolean): Promise<void> {
    let answered = requestId === undefined;
    const parser = createParser({
      onEvent: (event) => {
        if (event.id) this.#lastEventId = standalone ? event.id : this.#lastEventId;
        if (event.event && event.event !== 'message') return;
        if (!event.data) return; // priming events carry only an id
        let value: unknown;
        try {
          value = JSON.parse(event.data);
        } catch {
          this.#o.logger.warn('upstream sent an SSE event that is not JSON');
          return;
        }
        const parsed = parseMessage(value);
        if (!parsed.ok) return;
        if (!answered && 'id' in parsed.message && !('method' in parsed.message) && parsed.message.id === requestId) answered = true;
        this.#handlers.onMessage(parsed.message);
      },
    });
    const decoder = new StringDecoder('utf8');
    return new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => parser.feed(decoder.write(chunk)));
      body.once('error', reject);
      body.once('end', () => {
        if (!answered && requestId !== undefined && !this.#closed) {
          this.#handlers.onMessage(errorResponse(requestId, ErrorCode.UpstreamUnavailable, 'the upstream ended its response stream without an answer'));
        }
        resolve();
      });
    });
  }

  /** The server's standalone stream (GET); 405 means it offers none. Resumes with Last-Event-ID. */
  #openGetStream(attempt: number): void {
    if (this.#closed || !this.#sessionId) return;
    const abort = new AbortController();
    this.#getStream = abort;
    void (async () => {
      try {
        const headers = await this.#headers('text/event-stream');
        if (this.#lastEventId) headers['last-event-id'] = this.#lastEventId;
        const res = await this.#o.dispatcher.request({
          origin: this.#o.url.origin,
          path: this.#o.url.pathname + this.#o.url.search,
          method: 'GET',
          headers,
          signal: abort.signal,
        });
        if (res.statusCode === 404 && this.#sessionId) {
          await res.body.dump();
          this.#fail(new RemoteLinkError('session-expired', `session expired: ${redactUrl(this.#o.url.href)} answered HTTP 404 for our session`));
          return;
        }
        if (res.statusCode !== 200) {
          await res.body.dump();
          return; // 405: no stream offered; anything else: live without it
        }
        await this.#readSse(res.body, undefined, true);
        if (!this.#closed && attempt < GET_STREAM_RETRIES) this.#openGetStream(attempt + 1);
      } catch {
        if (!this.#closed && !abort.signal.aborted && attempt < GET_STREAM_RETRIES) {
          setTimeout(() => this.#openGetStream(attempt + 1), 250 * 2 ** attempt).unref();
        }
      }
    })();
  }

  #httpError(status: number, text: string, id: JsonRpcId | undefined, method: string | undefined): void {
    const where = redactUrl(this.#o.url.href);
    if (status === 404 && this.#sessionId) {
      this.#fail(new RemoteLinkError('session-expired', `session expired: ${where} answered HTTP 404 for our session`, { status }));
      return;
    }
    if (status === 401) {
      this.#fail(new RemoteLinkError('http-status', `HTTP 401 from ${where}: needs credentials (set headers or oauth for this server)`, { status }));
      return;
    }
    // A JSON-RPC error body is the server's own answer; pass it on (a 2026-only server's
    // -32022 to initialize is how the era detection above this link learns about it).
    if (id !== undefined) {
      try {
        const parsed = parseMessage(JSON.parse(text));
        if (parsed.ok && 'error' in parsed.message) {
          this.#handlers.onMessage({ ...parsed.message, id });
          return;
        }
      } catch {
        // not JSON
      }
    }
    if (method === 'initialize') {
      this.#fail(new RemoteLinkError('http-status', `HTTP ${status} from ${where} to initialize`, { status }));
      return;
    }
    if (id === undefined) return;
    this.#handlers.onMessage(errorResponse(id, ErrorCode.UpstreamUnavailable, `upstream answered HTTP ${status}`));
  }

  #transportError(err: unknown, id: JsonRpcId | undefined): void {
    const code = (err as { code?: string }).code ?? '';
    const where = redactUrl(this.#o.url.href);
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /CERT|SSL|TLS|SELF_SIGNED/i.test(code)) {
      this.#fail(new RemoteLinkError(code === 'ECONNREFUSED' ? 'connection-refused' : /CERT|SSL|TLS|SELF_SIGNED/i.test(code) ? 'tls' : 'dns', `${code} talking to ${where}`, { cause: err }));
      return;
    }
    // Socket-level failures (ECONNRESET, undici's UND_ERR_*) come and go; anything else (an
    // OAuth client refusing an authorization server, a bug) is worth the operator's eye.
    const network = code.startsWith('E') || code.startsWith('UND_ERR');
    if (id !== undefined) {
      const timeout = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT';
      const message = timeout ? 'upstream timed out' : network ? 'upstream connection failed' : 'upstream request failed (the gateway log says why)';
      this.#handlers.onMessage(errorResponse(id, timeout ? ErrorCode.RequestTimeout : ErrorCode.UpstreamUnavailable, message));
    }
    if (network) this.#o.logger.debug({ code, err: (err as Error).message }, 'upstream request failed');
    else this.#o.logger.warn({ err: (err as Error).message }, 'upstream request failed');
  }

  #fail(reason: Error): void {
    if (this.#closed) return;
    this.#closed = reason;
    this.#getStream?.abort();
    this.#handlers.onClose(reason);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    const sid = this.#sessionId;
    this.#fail(new RemoteLinkError('closed', 'closed'));
    if (sid) {
      // Tell the server we are done with the session (best effort).
      const headers: Record<string, string> = { ...this.#o.headers, 'mcp-session-id': sid };
      if (this.#protocolVersion) headers['mcp-protocol-version'] = this.#protocolVersion;
      await this.#o.dispatcher
        .request({ origin: this.#o.url.origin, path: this.#o.url.pathname + this.#o.url.search, method: 'DELETE', headers })
        .then((r) => r.body.dump())
        .catch(() => undefined);
    }
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

import { randomUUID } from 'node:crypto';
import type { JsonRpcId, JsonRpcMessage } from '../jsonrpc/index.js';
import type { Dispatcher } from './dispatcher.js';
import type { PostExchange } from './exchange.js';
import { StreamLog } from './exchange.js';
import { SseStream } from './sse.js';

const BACKLOG_LIMIT = 100;

/** Which inbound transport opened a session; each route serves only its own kind. */
export type SessionTransport = 'streamable' | 'sse';

/**
 * One 2025-era client session (`Mcp-Session-Id`), or one legacy SSE connection. It owns its
 * dispatcher (the way to its upstream channels) and decides which response stream each
 * upstream message travels on.
 */
export class Session {
  readonly id = randomUUID();
  readonly route: string;
  /** Who opened it (a hash of the credential); another caller cannot use it. */
  readonly principal: string;
  readonly protocolVersion: string;
  readonly transport: SessionTransport;
  dispatcher!: Dispatcher;
  /** Legacy SSE: an initialize was taken (a second one is refused, never replaces the dispatcher). */
  initializeSeen = false;
  lastActivity = Date.now();
  #closed = false;
  #nextStream = 0;
  readonly #exchanges = new Set<PostExchange>();
  readonly #logs = new Map<number, StreamLog>();
  #standalone: StreamLog | undefined;
  readonly #backlog: JsonRpcMessage[] = [];
  /** Every SSE outlet handed out for a GET, closed with the session. */
  readonly #outlets = new Set<SseStream>();
  /** Ids of the client's requests still waiting for their reply. */
  readonly #inFlight = new Set<JsonRpcId>();
  readonly #onClose: (s: Session) => void;

  constructor(route: string, principal: string, protocolVersion: string, transport: SessionTransport, onClose: (s: Session) => void) {
    this.route = route;
    this.principal = principal;
    this.protocolVersion = protocolVersion;
    this.transport = transport;
    this.#onClose = onClose;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True when a request with this id is already waiting for its reply in this session. */
  isInFlight(id: JsonRpcId): boolean {
    return this.#inFlight.has(id);
  }

  /**
   * Marks a client request as in flight; false when one with the same id already is (JSON-RPC
   * and MCP: a request id must not be reused while its request is pending, or the two replies
   * cannot be told apart).
   */
  begin(id: JsonRpcId): boolean {
    if (this.#inFlight.has(id)) return false;
    this.#inFlight.add(id);
    return true;
  }

  end(id: JsonRpcId): void {
    this.#inFlight.delete(id);
  }

  newStream(): StreamLog {
    const log = new StreamLog(++this.#nextStream);
    this.#logs.set(log.id, log);
    // Keep the logs of recent streams only.
    if (this.#logs.size > 32) {
      for (const [id, l] of this.#logs) {
        if (l.done && l !== this.#standalone) {
          this.#logs.delete(id);
          if (this.#logs.size <= 32) break;
        }
      }
    }
    return log;
  }

  stream(id: number): StreamLog | undefined {
    return this.#logs.get(id);
  }

  /** A new SSE outlet for a GET (standalone or resumed), closed when the session closes. */
  openOutlet(keepAliveMs: number | undefined): SseStream {
    const outlet: SseStream = new SseStream({ keepAliveMs, onClose: () => this.#outlets.delete(outlet) });
    this.#outlets.add(outlet);
    return outlet;
  }

  track(exchange: PostExchange): void {
    this.#exchanges.add(exchange);
  }

  untrack(exchange: PostExchange): void {
    this.#exchanges.delete(exchange);
  }

  /** The standalone (GET) stream; a second live one is refused by the caller. */
  get standalone(): StreamLog | undefined {
    return this.#standalone;
  }

  openStandalone(outlet: SseStream): StreamLog {
    const log = this.#standalone && !this.#standalone.done ? this.#standalone : (this.#standalone = this.newStream());
    log.outlet = outlet;
    for (const m of this.#backlog.splice(0)) log.push(m);
    return log;
  }

  /**
   * Routes an upstream message: to the POST that it belongs to when that POST can stream,
   * else to the standalone stream, else to any streaming POST, else a short backlog that
   * the next GET stream receives.
   */
  deliver(message: JsonRpcMessage, relatedTo: JsonRpcId | undefined): void {
    if (this.#closed) return;
    this.lastActivity = Date.now();
    if (relatedTo !== undefined) {
      for (const ex of this.#exchanges) if (ex.owns(relatedTo) && ex.deliver(message)) return;
    }
    if (this.#standalone?.outlet) {
      this.#standalone.push(message);
      return;
    }
    for (const ex of this.#exchanges) if (ex.streaming && ex.deliver(message)) return;
    this.#backlog.push(message);
    if (this.#backlog.length > BACKLOG_LIMIT) this.#backlog.shift();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const log of this.#logs.values()) {
      log.done = true;
      log.outlet?.close();
    }
    for (const outlet of [...this.#outlets]) outlet.close();
    this.#onClose(this);
    await this.dispatcher?.close();
  }
}

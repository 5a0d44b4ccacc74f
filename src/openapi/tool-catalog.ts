import type { Dispatcher, DownstreamSink } from '../gateway/index.js';
import { ErrorCode, errorResponse, isRequest, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse } from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import type { InitializeParams } from '../upstream/types.js';
import { isSchemaObject } from './schema.js';

// The REST bridge's door to the upstreams: held MCP sessions opened through the gateway (so the
// server's tool filter applies to both the list and the calls), the tool list cached, and
// tools/call over them. One session per server lists the tools and serves every caller, except
// on servers that isolate clients (`sharing: per-session` stdio, remote servers): there each
// caller (principal) gets a session of its own, closed after `idleMs` without calls.
//
// Freshness: the list is dropped when the server sends notifications/tools/list_changed on the
// held session, when the session ends (the server restarted), and after `maxAgeMs` at most,
// for servers that change their tools without saying so.

/** A tool as `tools/list` gives it (only the fields the bridge reads). */
export interface ToolDefinition {
  readonly name: string;
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly inputSchema: unknown;
  readonly outputSchema?: unknown;
  readonly annotations?: unknown;
}

/** Opens a session on one server with the gateway's filters; the gateway's `openDispatcher`. */
export type OpenServerSession = (server: string, sink: DownstreamSink, initialize: InitializeParams) => Promise<Dispatcher>;

export interface ToolCatalogOptions {
  readonly open: OpenServerSession;
  readonly clientInfo: InitializeParams['clientInfo'];
  readonly logger: Logger;
  /** How long a tool list is trusted at most (default 60 s). */
  readonly maxAgeMs?: number;
  /** How long a tools/call may take before the caller gets 504 and the call is cancelled (default 40 s: `openapi.callTimeout`). */
  readonly callTimeoutMs?: number;
  /** Servers whose calls run on a session per caller, as their MCP clients get one each. */
  readonly isolated?: ReadonlySet<string>;
  /** A caller's own session closes after this long without calls (default 5 min). */
  readonly idleMs?: number;
}

interface Held {
  readonly dispatcher: Promise<Dispatcher>;
  /** A caller's own session (isolated servers), closed when idle; else the server's shared one. */
  readonly perCaller: boolean;
  dead: boolean;
  inFlight: number;
  lastUsed: number;
  tools: { readonly at: number; readonly list: Promise<readonly ToolDefinition[]> } | undefined;
}

const MAX_PAGES = 100;
/** Under OpenAI GPT Actions' 45 s limit on a call, so the caller gets our 504 rather than its own timeout. */
export const DEFAULT_CALL_TIMEOUT_MS = 40_000;
/** A server that does not list its tools within this long is reported unavailable. */
const LIST_TIMEOUT_MS = 30_000;

export class ToolCatalog {
  readonly #options: ToolCatalogOptions;
  readonly #held = new Map<string, Held>();
  #nextId = 0;
  #inFlight = 0;
  #closed = false;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: ToolCatalogOptions) {
    this.#options = options;
    const idle = options.idleMs ?? 5 * 60_000;
    this.#sweeper = setInterval(() => this.#closeIdle(Date.now() - idle), Math.min(idle, 60_000));
    this.#sweeper.unref();
  }

  /** The server's tools after its filter; rejects when the server cannot be reached. */
  tools(server: string): Promise<readonly ToolDefinition[]> {
    const held = this.#session(server);
    const maxAge = this.#options.maxAgeMs ?? 60_000;
    if (held.tools && Date.now() - held.tools.at < maxAge) return held.tools.list;
    const list = this.#listAll(held);
    const entry = { at: Date.now(), list };
    held.tools = entry;
    // A failed listing is not kept: the next caller tries again.
    list.catch(() => {
      if (held.tools === entry) held.tools = undefined;
    });
    return list;
  }

  /** tools/call for `principal`; resolves with the JSON-RPC reply (an error reply on failure), never rejects. */
  async call(server: string, tool: string, args: Record<string, unknown>, principal: string): Promise<JsonRpcResponse> {
    const id = `rest-${++this.#nextId}`;
    let held: Held;
    let dispatcher: Dispatcher;
    try {
      held = this.#session(server, this.#options.isolated?.has(server) ? principal : undefined);
      dispatcher = await held.dispatcher;
    } catch (err) {
      return errorResponse(id, ErrorCode.UpstreamUnavailable, `upstream unavailable: ${(err as Error).message}`);
    }
    this.#inFlight++;
    held.inFlight++;
    held.lastUsed = Date.now();
    try {
      return await this.#request(dispatcher, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } }, this.#options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    } finally {
      this.#inFlight--;
      held.inFlight--;
      held.lastUsed = Date.now();
    }
  }

  /** Open sessions: the shared ones and the callers' own (for tests and metrics). */
  get sessionCount(): number {
    return [...this.#held.values()].filter((h) => !h.dead).length;
  }

  /** Takes no new calls, lets the ones in flight finish (up to `graceMs`), then closes the sessions. */
  async close(graceMs = 0): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const held = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(held.map(async (h) => (await h.dispatcher.catch(() => undefined))?.close()));
  }

  /** The server's shared session, or `principal`'s own. */
  #session(server: string, principal?: string): Held {
    const key = principal === undefined ? server : `${server}\u0000${principal}`;
    const known = this.#held.get(key);
    if (known && !known.dead) return known;
    if (this.#closed) throw new Error('the REST bridge is closed');
    const held: Held = {
      dispatcher: undefined as unknown as Promise<Dispatcher>,
      perCaller: principal !== undefined,
      dead: false,
      inFlight: 0,
      lastUsed: Date.now(),
      tools: undefined,
    };
    const sink: DownstreamSink = {
      deliver: (message) => this.#onServerMessage(server, held, message),
      closed: (reason) => {
        held.dead = true;
        held.tools = undefined;
        this.#options.logger.info({ server, reason: reason.message }, 'REST bridge session ended; the next call opens another');
      },
    };
    (held as { dispatcher: Promise<Dispatcher> }).dispatcher = this.#options.open(server, sink, {
      protocolVersion: '2025-11-25',
      // No sampling, elicitation or roots: a REST caller cannot answer them.
      capabilities: {},
      clientInfo: this.#options.clientInfo,
    });
    held.dispatcher.catch(() => {
      held.dead = true;
    });
    this.#held.set(key, held);
    return held;
  }

  /** Closes callers' own sessions unused since `before`. */
  #closeIdle(before: number): void {
    for (const [key, held] of this.#held) {
      if (!held.perCaller || held.inFlight > 0 || held.lastUsed >= before) continue;
      this.#held.delete(key);
      held.dead = true;
      void held.dispatcher.then((d) => d.close()).catch(() => undefined);
    }
  }

  #onServerMessage(server: string, held: Held, message: JsonRpcMessage): void {
    if (!('method' in message)) return;
    if (message.method === 'notifications/tools/list_changed') {
      // The list is the server's: whichever session hears of a change, the shared list goes.
      held.tools = undefined;
      const shared = this.#held.get(server);
      if (shared) shared.tools = undefined;
      return;
    }
    if (isRequest(message)) {
      // A server request on a REST call (ping, or sampling it should not send): answer so nothing hangs.
      const reply: JsonRpcResponse =
        message.method === 'ping'
          ? { jsonrpc: '2.0', id: message.id, result: {} }
          : errorResponse(message.id, ErrorCode.MethodNotFound, `${message.method} is not available to REST callers`);
      void held.dispatcher.then((d) => d.respond(reply)).catch(() => undefined);
    }
  }

  /** One request with a deadline: past it, the server is told to stop and the caller gets a timeout error. */
  async #request(dispatcher: Dispatcher, request: JsonRpcRequest, limitMs: number): Promise<JsonRpcResponse> {
    const reply = dispatcher.request(request);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<JsonRpcResponse>((resolve) => {
      timer = setTimeout(() => {
        // Settled first: cancelling settles the pending request too (as "cancelled"), and the race must report the timeout.
        resolve(errorResponse(request.id, ErrorCode.RequestTimeout, `${request.method} got no answer within ${Math.round(limitMs / 1000)} s`));
        // MCP basic/utilities/cancellation: tell the server to stop.
        dispatcher.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: request.id, reason: 'timed out' } });
      }, limitMs);
      timer.unref();
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #listAll(held: Held): Promise<readonly ToolDefinition[]> {
    const dispatcher = await held.dispatcher;
    const tools: ToolDefinition[] = [];
    let cursor: unknown;
    for (let page = 0; page < MAX_PAGES; page++) {
      const id = `rest-list-${++this.#nextId}`;
      const request: JsonRpcRequest = { jsonrpc: '2.0', id, method: 'tools/list', ...(cursor === undefined ? {} : { params: { cursor } }) };
      const reply = await this.#request(dispatcher, request, LIST_TIMEOUT_MS);
      if ('error' in reply) throw new Error(`tools/list failed: ${reply.error.message}`);
      const result = reply.result;
      if (Array.isArray(result.tools)) {
        for (const t of result.tools as unknown[]) if (isSchemaObject(t) && typeof t.name === 'string') tools.push(t as unknown as ToolDefinition);
      }
      cursor = result.nextCursor;
      if (typeof cursor !== 'string' || cursor === '') break;
    }
    return tools;
  }
}

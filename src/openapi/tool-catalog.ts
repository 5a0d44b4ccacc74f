import type { Dispatcher, DownstreamSink } from '../gateway/index.js';
import { ErrorCode, errorResponse, isRequest, type JsonRpcMessage, type JsonRpcRequest, type JsonRpcResponse } from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import type { InitializeParams } from '../upstream/types.js';
import { isSchemaObject } from './schema.js';

// The REST bridge's door to the upstreams: one held MCP session per server (opened through the
// gateway, so the server's tool filter applies to both the list and the calls), its tool list
// cached, and tools/call over it.
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
  /** How long a tools/call may take before the caller gets 504 and the call is cancelled (default 120 s). */
  readonly callTimeoutMs?: number;
}

interface Held {
  readonly dispatcher: Promise<Dispatcher>;
  dead: boolean;
  tools: { readonly at: number; readonly list: Promise<readonly ToolDefinition[]> } | undefined;
}

const MAX_PAGES = 100;
/** A server that does not list its tools within this long is reported unavailable. */
const LIST_TIMEOUT_MS = 30_000;

export class ToolCatalog {
  readonly #options: ToolCatalogOptions;
  readonly #held = new Map<string, Held>();
  #nextId = 0;
  #inFlight = 0;
  #closed = false;

  constructor(options: ToolCatalogOptions) {
    this.#options = options;
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

  /** tools/call; resolves with the JSON-RPC reply (an error reply on failure), never rejects. */
  async call(server: string, tool: string, args: Record<string, unknown>): Promise<JsonRpcResponse> {
    const id = `rest-${++this.#nextId}`;
    let dispatcher: Dispatcher;
    try {
      dispatcher = await this.#session(server).dispatcher;
    } catch (err) {
      return errorResponse(id, ErrorCode.UpstreamUnavailable, `upstream unavailable: ${(err as Error).message}`);
    }
    this.#inFlight++;
    try {
      return await this.#request(dispatcher, { jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } }, this.#options.callTimeoutMs ?? 120_000);
    } finally {
      this.#inFlight--;
    }
  }

  /** Takes no new calls, lets the ones in flight finish (up to `graceMs`), then closes the sessions. */
  async close(graceMs = 0): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + graceMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const held = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(held.map(async (h) => (await h.dispatcher.catch(() => undefined))?.close()));
  }

  #session(server: string): Held {
    const known = this.#held.get(server);
    if (known && !known.dead) return known;
    if (this.#closed) throw new Error('the REST bridge is closed');
    const held: Held = { dispatcher: undefined as unknown as Promise<Dispatcher>, dead: false, tools: undefined };
    const sink: DownstreamSink = {
      deliver: (message) => this.#onServerMessage(held, message),
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
    this.#held.set(server, held);
    return held;
  }

  #onServerMessage(held: Held, message: JsonRpcMessage): void {
    if (!('method' in message)) return;
    if (message.method === 'notifications/tools/list_changed') {
      held.tools = undefined;
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
        // MCP basic/utilities/cancellation: tell the server to stop; the pending request settles here.
        dispatcher.notify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: request.id, reason: 'timed out' } });
        resolve(errorResponse(request.id, ErrorCode.RequestTimeout, `${request.method} got no answer within ${Math.round(limitMs / 1000)} s`));
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

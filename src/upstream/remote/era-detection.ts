// Which era a remote server speaks (docs/decisions/protocol-eras.md section 5b). The first
// link of a server sends the Upstream's `initialize` as usual, so a 2025 server costs nothing
// extra. A refusal that names 2026-07-28 (JSON-RPC -32022 "unsupported protocol version" with
// `data.supported` holding "2026-07-28", on an HTTP 400 or in-band) switches that link to the
// ModernAdapterLink, which replays the `initialize` locally; the factory remembers the verdict,
// so later links of the server go straight to the adapter (until a `server/discover` fails).

import { isRequest, isResponse, type JsonRpcErrorObject, type JsonRpcMessage, type JsonRpcRequest } from '../../jsonrpc/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { httpBodyOf } from './errors.js';
import type { RemoteLinkContext } from './link-context.js';

import { MODERN_PROTOCOL_VERSION } from '../../mcp/index.js';

export { MODERN_PROTOCOL_VERSION };

/** JSON-RPC codes of the 2026 wire that the bridge reacts to. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** What every link of one server shares about its era. Owned by the remote link factory. */
export interface ModernEraState {
  /** A link found that the server speaks only 2026-07-28: later links skip `initialize`. */
  modern: boolean;
  /** The last `server/discover` result, reused while its `ttlMs` lasts. */
  discover: { readonly result: Record<string, unknown>; readonly expiresAt: number } | undefined;
  /** Called when a link has been bridged successfully (answered `initialize` from discovery). */
  readonly onBridged?: () => void;
}

export function createModernEraState(onBridged?: () => void): ModernEraState {
  return { modern: false, discover: undefined, onBridged };
}

// ------------------------------------------------------------------ detection

/** A JSON-RPC error refusing a 2025 `initialize` because the server speaks 2026-07-28 only. */
export function isModernOnlyRefusal(error: JsonRpcErrorObject | undefined): boolean {
  if (error?.code !== UNSUPPORTED_PROTOCOL_VERSION) return false;
  const supported = isObject(error.data) ? error.data.supported : undefined;
  return Array.isArray(supported) && supported.includes(MODERN_PROTOCOL_VERSION);
}

/** The JSON-RPC error in the body of a failed HTTP exchange (anywhere in the cause chain), if any. */
export function rpcErrorInBody(failure: unknown): JsonRpcErrorObject | undefined {
  let current: unknown = failure;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const body = httpBodyOf(current);
    if (body !== undefined) {
      try {
        const parsed = JSON.parse(body) as unknown;
        const error = isObject(parsed) ? parsed.error : undefined;
        if (isObject(error) && typeof error.code === 'number') {
          return { code: error.code, message: typeof error.message === 'string' ? error.message : '', data: error.data };
        }
      } catch {
        return undefined;
      }
    }
    current = current.cause;
  }
  return undefined;
}

/**
 * A link that starts as a 2025-era link (Streamable HTTP or legacy SSE) and becomes a ModernAdapterLink when
 * the server refuses its `initialize` for 2026-07-28. Costs nothing for a 2025 server: every
 * message goes straight through.
 */
export class EraDetectingLink implements Link {
  readonly #handlers: LinkHandlers;
  readonly #openModern: (handlers: LinkHandlers) => Promise<Link>;
  readonly #log: RemoteLinkContext['logger'];
  #current: Link | undefined;
  /** The `initialize` sent over the 2025-era link, until its answer settles the era. */
  #initialize: JsonRpcRequest | undefined;
  #settled = false;
  #switched = false;
  #closing = false;
  /** While the era is being settled: later sends wait for it. */
  #decision: Promise<void> | undefined;
  #decide: (() => void) | undefined;

  private constructor(handlers: LinkHandlers, openModern: (handlers: LinkHandlers) => Promise<Link>, log: RemoteLinkContext['logger']) {
    this.#handlers = handlers;
    this.#openModern = openModern;
    this.#log = log;
  }

  static async open(
    handlers: LinkHandlers,
    openLegacy: (handlers: LinkHandlers) => Promise<Link>,
    openModern: (handlers: LinkHandlers) => Promise<Link>,
    log: RemoteLinkContext['logger'],
  ): Promise<EraDetectingLink> {
    const link = new EraDetectingLink(handlers, openModern, log);
    link.#current = await openLegacy(link.#legacyHandlers);
    return link;
  }

  get description(): string {
    return this.#current?.description ?? 'remote link';
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.#decision !== undefined) await this.#decision;
    const current = this.#current as Link;
    if (!this.#settled && isRequest(message) && message.method === 'initialize') {
      this.#initialize = message;
      this.#decision ??= new Promise<void>((resolve) => (this.#decide = resolve));
    }
    return current.send(message);
  }

  setProtocolVersion(version: string): void {
    this.#current?.setProtocolVersion?.(version);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#settle();
    await this.#current?.close();
  }

  readonly #legacyHandlers: LinkHandlers = {
    onMessage: (message) => {
      if (this.#switched) return;
      const init = this.#initialize;
      if (!this.#settled && init !== undefined && isResponse(message) && message.id === init.id) {
        if ('error' in message && isModernOnlyRefusal(message.error)) {
          void this.#switch(init);
          return;
        }
        this.#settle();
      }
      this.#handlers.onMessage(message);
    },
    onClose: (reason) => {
      if (this.#switched) return;
      const init = this.#initialize;
      if (!this.#settled && init !== undefined && isModernOnlyRefusal(rpcErrorInBody(reason))) {
        void this.#switch(init);
        return;
      }
      this.#settle();
      this.#handlers.onClose(reason);
    },
  };

  #settle(): void {
    this.#settled = true;
    this.#decide?.();
    this.#decide = undefined;
    this.#decision = undefined;
  }

  /** Never rejects: a failure to open the adapter closes this link. */
  async #switch(init: JsonRpcRequest): Promise<void> {
    this.#switched = true;
    this.#settled = true;
    this.#log.info('the remote server speaks only MCP 2026-07-28; bridging this link to a 2025-era session');
    const legacy = this.#current;
    legacy?.close().catch(() => undefined);
    try {
      const modern = await this.#openModern(this.#handlers);
      this.#current = modern;
      if (this.#closing) {
        await modern.close();
        return;
      }
      await modern.send(init);
    } catch (error) {
      this.#handlers.onClose(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.#decide?.();
      this.#decide = undefined;
      this.#decision = undefined;
    }
  }
}


function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

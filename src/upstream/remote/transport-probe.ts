import type { JsonRpcMessage } from '../../jsonrpc/index.js';
import { redactUrl, type Logger } from '../../observability/index.js';
import type { Link, LinkHandlers } from '../types.js';
import { describeFailure, RemoteLinkError } from './errors.js';

export interface TransportProbeOptions {
  readonly url: URL;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** The Streamable HTTP link; it calls `onLegacyAnswer` instead of failing on a legacy answer to initialize. */
  readonly openStreamable: (handlers: LinkHandlers, onLegacyAnswer: (first: JsonRpcMessage, status: number) => void) => Link;
  /** Opens the legacy HTTP+SSE link (rejects when its stream cannot be opened). */
  readonly openSse: (handlers: LinkHandlers) => Promise<Link>;
}

/**
 * `transport: auto` for a server whose transport is not known yet. MCP 2025-11-25 (transports,
 * "Backwards Compatibility"): POST initialize as Streamable HTTP; an HTTP 400, 404 or 405
 * (without a JSON-RPC error body, errors.ts isLegacyServerAnswer) means a server of the
 * 2024-11-05 HTTP+SSE transport: open its event stream and send initialize there. Until that
 * is settled later sends wait; afterwards every message goes straight to the link in use.
 */
export class TransportProbeLink implements Link {
  readonly #o: TransportProbeOptions;
  readonly #handlers: LinkHandlers;
  #current: Link;
  #fallback: Promise<void> | undefined;
  #failed: RemoteLinkError | undefined;
  #closing = false;
  #protocolVersion: string | undefined;

  constructor(options: TransportProbeOptions, handlers: LinkHandlers) {
    this.#o = options;
    this.#handlers = handlers;
    this.#current = options.openStreamable(handlers, (first, status) => this.#fallBack(first, status));
  }

  get description(): string {
    return this.#current.description;
  }

  async send(message: JsonRpcMessage): Promise<void> {
    if (this.#fallback !== undefined) await this.#fallback;
    if (this.#failed) throw this.#failed;
    return this.#current.send(message);
  }

  setProtocolVersion(version: string): void {
    this.#protocolVersion = version;
    this.#current.setProtocolVersion?.(version);
  }

  async close(): Promise<void> {
    this.#closing = true;
    if (this.#fallback !== undefined) await this.#fallback;
    await this.#current.close();
  }

  #fallBack(first: JsonRpcMessage, status: number): void {
    this.#o.logger.info({ status }, 'no Streamable HTTP at this URL; trying the legacy HTTP+SSE transport');
    this.#fallback = (async () => {
      try {
        const sse = await this.#o.openSse(this.#handlers);
        this.#current = sse;
        if (this.#closing) {
          // close() may have returned already: closed before the legacy answer came.
          await sse.close();
          return;
        }
        if (this.#protocolVersion !== undefined) sse.setProtocolVersion?.(this.#protocolVersion);
        await sse.send(first);
      } catch (error) {
        if (this.#closing) return;
        const second = error instanceof RemoteLinkError ? error : describeFailure(error, this.#o.url, this.#o.timeoutMs);
        this.#failed = new RemoteLinkError(
          second.code,
          `${redactUrl(this.#o.url.href)} speaks neither MCP transport: a Streamable HTTP POST got HTTP ${status}, and legacy SSE failed: ${second.message}`,
          { status: second.status, cause: second },
        );
        this.#o.logger.warn({ reason: this.#failed.message, failure: this.#failed.code }, 'remote link closed');
        this.#handlers.onClose(this.#failed);
      } finally {
        this.#fallback = undefined;
      }
    })();
  }
}

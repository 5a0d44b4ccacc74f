import type { JsonRpcMessage } from '../jsonrpc/index.js';
import type { Logger } from '../observability/index.js';
import type { Channel, ChannelHandlers, InitializeResult } from './types.js';

/** What the owner of a channel provides. */
export interface ChannelSource {
  /** The answer to initialize this channel reports; may change when a link is replaced. */
  initializeResult(): InitializeResult;
  /** Runs after `Channel.close` released the channel (per-session: stops its link). */
  onClosed?(): Promise<void>;
}

/** The multiplexer as its channels see it. */
export interface ChannelHost {
  fromChannel(channel: MuxChannel, message: JsonRpcMessage): void;
  releaseChannel(channel: MuxChannel): void;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** One client session's view of a shared link: its own ids, its own progress tokens. */
export class MuxChannel implements Channel {
  /** Requests of this channel awaiting a reply upstream. */
  inFlight = 0;
  closed = false;
  /** The multiplexer's count of link messages when a server request was last handed to this channel; -1: never. */
  askedSeq = -1;
  readonly #host: ChannelHost;
  readonly #handlers: ChannelHandlers;
  readonly #source: ChannelSource;
  readonly #log: Logger;
  #closing: Promise<void> | undefined;

  constructor(host: ChannelHost, handlers: ChannelHandlers, source: ChannelSource, log: Logger) {
    this.#host = host;
    this.#handlers = handlers;
    this.#source = source;
    this.#log = log;
  }

  get initializeResult(): InitializeResult {
    return this.#source.initializeResult();
  }

  send(message: JsonRpcMessage): void {
    this.#host.fromChannel(this, message);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    if (this.closed) return RESOLVED;
    this.#host.releaseChannel(this);
    this.#closing = this.#source.onClosed?.() ?? RESOLVED;
    return this.#closing;
  }

  /** @internal */
  deliver(message: JsonRpcMessage): void {
    if (this.closed) return;
    try {
      this.#handlers.onMessage(message);
    } catch (err) {
      this.#log.error({ err }, 'channel message handler threw');
    }
  }

  /** @internal Marks the channel closed and tells its owner, once. */
  end(reason: Error): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.#handlers.onClose?.(reason);
    } catch (err) {
      this.#log.error({ err }, 'channel close handler threw');
    }
  }
}

// `sharing: per-session`: one link per channel, initialized with the client's own params.

import { UpstreamError } from './errors.js';
import { Multiplexer } from './multiplexer.js';
import type {
  Channel,
  ChannelHandlers,
  InitializeParams,
  InitializeResult,
  OpenChannelOptions,
  Upstream,
  UpstreamState,
} from './types.js';
import { asError, bounded, LinkAttempt, tailOf } from './handshake.js';
import type { ResolvedUpstreamOptions } from './upstream.js';

// ------------------------------------------------------------------ per-session

export class PerSessionUpstream implements Upstream {
  readonly name: string;
  readonly #o: ResolvedUpstreamOptions;
  readonly #sessions = new Set<Session>();
  #state: UpstreamState = 'starting';
  #initializeResult: InitializeResult | undefined;
  #probe: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedUpstreamOptions) {
    this.name = o.name;
    this.#o = o;
  }

  get state(): UpstreamState {
    return this.#state;
  }

  get initializeResult(): InitializeResult | undefined {
    return this.#initializeResult;
  }

  start(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new UpstreamError('closed', this.name, 'closed'));
    this.#probe ??= this.#runProbe();
    return this.#probe;
  }

  async #runProbe(): Promise<void> {
    const session = new Session(this.#o, this.#o.gatewayParams);
    this.#sessions.add(session);
    try {
      const result = await session.connect();
      this.#noteSuccess(result);
    } catch (err) {
      this.#noteFailure(asError(err));
      this.#o.log.warn({ err, stderrTail: tailOf(err) }, 'upstream could not start');
      throw err;
    } finally {
      this.#sessions.delete(session);
      await session.close(new UpstreamError('closed', this.name, 'probe done'));
    }
  }

  async open(handlers: ChannelHandlers, options?: OpenChannelOptions): Promise<Channel> {
    if (this.#state === 'closed') throw new UpstreamError('closed', this.name, 'closed');
    const session = new Session(this.#o, options?.initialize ?? this.#o.gatewayParams);
    this.#sessions.add(session);
    try {
      const result = await session.connect();
      this.#noteSuccess(result);
    } catch (err) {
      this.#sessions.delete(session);
      await session.close(asError(err));
      this.#noteFailure(asError(err));
      throw err;
    }
    return session.openChannel(handlers, () => this.#sessions.delete(session));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closed';
    const reason = new UpstreamError('closed', this.name, 'closed');
    const sessions = [...this.#sessions];
    this.#sessions.clear();
    await bounded(Promise.all(sessions.map((s) => s.close(reason))), this.#o.closeTimeoutMs, this.#o.log);
  }

  #noteSuccess(result: InitializeResult): void {
    if (this.#state === 'closed') return;
    this.#initializeResult = result;
    this.#state = 'ready';
  }

  #noteFailure(error: Error): void {
    if (this.#state === 'closed') return;
    // A server refusing one client's initialize (say, its protocol version) is not a health signal.
    if (error instanceof UpstreamError && error.code === 'initialize_failed' && error.rpcError !== undefined) return;
    this.#state = 'down';
  }
}

/** One downstream session's own link, made again on demand after it dies. */
class Session {
  readonly #o: ResolvedUpstreamOptions;
  readonly #params: InitializeParams;
  readonly #mux: Multiplexer;
  #attempt: LinkAttempt | undefined;
  #result: InitializeResult | undefined;
  #closed = false;

  constructor(o: ResolvedUpstreamOptions, params: InitializeParams) {
    this.#o = o;
    this.#params = params;
    this.#mux = new Multiplexer({
      name: o.name,
      logger: o.log,
      requestTimeoutMs: o.requestTimeoutMs,
      waitForLinkMs: o.waitForReadyMs,
      onNeedLink: this.#relink,
    });
  }

  async connect(): Promise<InitializeResult> {
    const attempt = new LinkAttempt(this.#mux, this.#onLinkClose);
    this.#attempt = attempt;
    try {
      const result = await attempt.run(this.#o, this.#params);
      if (this.#closed) throw new UpstreamError('closed', this.#o.name, 'closed');
      attempt.ready = true;
      this.#result = result;
      this.#mux.release();
      return result;
    } catch (err) {
      const error = asError(err);
      if (this.#attempt === attempt) this.#attempt = undefined;
      void attempt.abandon();
      this.#mux.linkClosed(attempt.link, error);
      throw error;
    }
  }

  openChannel(handlers: ChannelHandlers, onGone: () => void): Channel {
    return this.#mux.openChannel(handlers, {
      initializeResult: () => this.#result as InitializeResult,
      onClosed: async () => {
        onGone();
        await this.close(new UpstreamError('closed', this.#o.name, 'channel closed'));
      },
    });
  }

  async close(reason: Error): Promise<void> {
    this.#closed = true;
    this.#mux.close(reason);
    const attempt = this.#attempt;
    this.#attempt = undefined;
    if (attempt !== undefined) await bounded(attempt.abandon(), this.#o.closeTimeoutMs, this.#o.log);
  }

  readonly #onLinkClose = (attempt: LinkAttempt, reason: Error): void => {
    if (attempt !== this.#attempt || !attempt.ready || this.#closed) return;
    this.#attempt = undefined;
    void attempt.abandon();
    const e = reason instanceof UpstreamError ? reason : undefined;
    this.#o.log.warn(
      { err: reason, exitCode: e?.exitCode, signal: e?.signal, stderrTail: e?.stderrTail },
      'per-session upstream went away; the session\'s next request starts a new one',
    );
  };

  /** The multiplexer holds traffic and no link is up: make one. */
  readonly #relink = (): void => {
    if (this.#closed || this.#attempt !== undefined) return;
    this.connect().then(
      () => this.#o.log.info('per-session upstream restarted'),
      (err: unknown) => {
        this.#o.log.warn({ err, stderrTail: tailOf(err) }, 'per-session upstream could not restart');
        this.#mux.failQueued(asError(err));
      },
    );
  };
}

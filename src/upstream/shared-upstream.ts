// `sharing: shared`: one supervised link serves every channel (upstream.ts describes the states).

import type { Logger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import { Multiplexer, type ChannelSource } from './multiplexer.js';
import type {
  Channel,
  ChannelHandlers,
  InitializeResult,
  OpenChannelOptions,
  Upstream,
  UpstreamState,
} from './types.js';
import { asError, bounded, LinkAttempt, tailOf } from './handshake.js';
import type { ResolvedUpstreamOptions } from './upstream.js';

// ------------------------------------------------------------------ shared

export class SharedUpstream implements Upstream {
  readonly name: string;
  readonly #o: ResolvedUpstreamOptions;
  readonly #log: Logger;
  readonly #mux: Multiplexer;
  readonly #source: ChannelSource;
  #state: UpstreamState = 'starting';
  #initializeResult: InitializeResult | undefined;
  #lastError: Error | undefined;
  #attempt: LinkAttempt | undefined;
  #started = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs: number;
  #upSince = 0;
  #stateWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;

  constructor(o: ResolvedUpstreamOptions) {
    this.name = o.name;
    this.#o = o;
    this.#log = o.log;
    this.#backoffMs = o.backoffInitialMs;
    this.#mux = new Multiplexer({ name: o.name, logger: o.log, requestTimeoutMs: o.requestTimeoutMs, waitForLinkMs: o.waitForReadyMs });
    this.#source = { initializeResult: () => this.#initializeResult as InitializeResult };
  }

  get state(): UpstreamState {
    return this.#state;
  }

  get initializeResult(): InitializeResult | undefined {
    return this.#initializeResult;
  }

  /** Resolves once a link is ready; rejects if the current attempt fails (retries go on). */
  async start(): Promise<void> {
    this.#kickOff();
    for (;;) {
      switch (this.#state) {
        case 'ready':
          return;
        case 'down':
          throw this.#lastError ?? new UpstreamError('unavailable', this.name, 'is unavailable');
        case 'closed':
          throw new UpstreamError('closed', this.name, 'closed');
        case 'starting':
        case 'restarting':
          await this.#nextState();
      }
    }
  }

  async open(handlers: ChannelHandlers, _options?: OpenChannelOptions): Promise<Channel> {
    // The downstream's initialize params do not reach a shared link: the gateway initialized it.
    this.#kickOff();
    for (;;) {
      switch (this.#state) {
        case 'ready':
        case 'restarting':
          // Restarting: the channel's requests wait for the link (up to waitForReadyMs).
          return this.#mux.openChannel(handlers, this.#source);
        case 'down':
          throw this.#lastError ?? new UpstreamError('unavailable', this.name, 'is unavailable');
        case 'closed':
          throw new UpstreamError('closed', this.name, 'closed');
        case 'starting':
          // The attempt is bounded by startTimeoutMs.
          await this.#nextState();
      }
    }
  }

  #kickOff(): void {
    if (this.#started || this.#state === 'closed') return;
    this.#started = true;
    this.#connect().catch(() => undefined);
  }

  #nextState(): Promise<void> {
    return new Promise<void>((resolve) => this.#stateWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#setState('closed');
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#mux.close(new UpstreamError('closed', this.name, 'closed'));
    const attempt = this.#attempt;
    this.#attempt = undefined;
    if (attempt !== undefined) await bounded(attempt.abandon(), this.#o.closeTimeoutMs, this.#log);
  }

  async #connect(): Promise<void> {
    const attempt = new LinkAttempt(this.#mux, this.#onLinkClose);
    this.#attempt = attempt;
    try {
      const result = await attempt.run(this.#o, this.#o.gatewayParams);
      if (this.#state === 'closed') throw new UpstreamError('closed', this.name, 'closed');
      attempt.ready = true;
      const restarted = this.#initializeResult !== undefined;
      this.#initializeResult = result;
      this.#upSince = Date.now();
      this.#lastError = undefined;
      this.#setState('ready');
      this.#mux.release();
      this.#log.info(
        { link: attempt.link?.description, server: result.serverInfo.name, serverVersion: result.serverInfo.version, protocolVersion: result.protocolVersion },
        restarted ? 'upstream restarted and ready' : 'upstream ready',
      );
    } catch (err) {
      const error = asError(err);
      if (this.#attempt === attempt) this.#attempt = undefined;
      void attempt.abandon();
      if (this.#state === 'closed') throw error;
      this.#mux.linkClosed(attempt.link, error);
      this.#lastError = error;
      this.#setState('down');
      this.#mux.setFailFast(error);
      const delay = this.#scheduleRetry();
      this.#log.warn({ err: error, stderrTail: tailOf(error), retryInMs: delay }, 'upstream could not start');
      throw error;
    }
  }

  readonly #onLinkClose = (attempt: LinkAttempt, reason: Error): void => {
    // A link lost during the handshake fails `#connect`, which takes it from there.
    if (attempt !== this.#attempt || !attempt.ready || this.#state === 'closed') return;
    this.#attempt = undefined;
    void attempt.abandon(); // releases what the link still holds (HTTP pools, pipes)
    const uptimeMs = Date.now() - this.#upSince;
    if (uptimeMs >= this.#o.backoffResetAfterMs) this.#backoffMs = this.#o.backoffInitialMs;
    this.#setState('restarting');
    const delay = this.#scheduleRetry();
    const e = reason instanceof UpstreamError ? reason : undefined;
    this.#log.warn(
      { err: reason, exitCode: e?.exitCode, signal: e?.signal, stderrTail: e?.stderrTail, uptimeMs, restartInMs: delay },
      'upstream went away; restarting',
    );
  };

  #scheduleRetry(): number {
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(delay * 2, this.#o.backoffMaxMs);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#state !== 'closed') this.#connect().catch(() => undefined);
    }, delay);
    this.#retryTimer.unref();
    return delay;
  }

  #setState(state: UpstreamState): void {
    this.#state = state;
    const waiters = this.#stateWaiters;
    this.#stateWaiters = [];
    for (const wake of waiters) wake();
  }
}

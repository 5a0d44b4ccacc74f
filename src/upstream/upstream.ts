import { z } from 'zod';
import type { ResolvedStdioServer } from '../config/resolved.js';
import type { Logger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import { Multiplexer, type ChannelSource } from './multiplexer.js';
import { createStdioLinkFactory, type StdioLinkOptions } from './stdio-link.js';
import type {
  Channel,
  ChannelHandlers,
  InitializeParams,
  InitializeResult,
  Link,
  LinkFactory,
  LinkHandlers,
  OpenChannelOptions,
  Upstream,
  UpstreamState,
} from './types.js';

/**
 * The revision the gateway asks for on links it initializes itself: the SDK's
 * LATEST_PROTOCOL_VERSION (@modelcontextprotocol/core 2.4). A test keeps them in step.
 */
export const GATEWAY_PROTOCOL_VERSION = '2025-11-25';

/** What the gateway declares on links it initializes itself; it relays these requests to its sessions. */
export const GATEWAY_CLIENT_CAPABILITIES: Readonly<Record<string, unknown>> = Object.freeze({
  sampling: {},
  elicitation: {},
  roots: { listChanged: true },
});

export interface ClientIdentity {
  readonly name: string;
  readonly version: string;
}

/** The `initialize` params of the gateway itself (shared links, probes, and per-session fallback). */
export function gatewayInitializeParams(clientInfo: ClientIdentity): InitializeParams {
  return {
    protocolVersion: GATEWAY_PROTOCOL_VERSION,
    capabilities: { ...GATEWAY_CLIENT_CAPABILITIES },
    clientInfo: { name: clientInfo.name, version: clientInfo.version },
  };
}

export interface RestartBackoff {
  /** First delay after a crash (default 250 ms); doubles on each failure. */
  readonly initialMs?: number;
  /** Longest delay (default 30 s). */
  readonly maxMs?: number;
  /** A link that stayed up this long starts the next backoff from `initialMs` again (default 60 s). */
  readonly resetAfterMs?: number;
}

export interface UpstreamOptions {
  readonly name: string;
  readonly linkFactory: LinkFactory;
  /** `shared`: one link for every channel, supervised and restarted; `per-session`: one link per channel. */
  readonly sharing: 'shared' | 'per-session';
  /** The base logger; lines carry `{ upstream: name }`. */
  readonly logger: Logger;
  /** The gateway's identity, sent as `clientInfo` when it initializes a link itself. */
  readonly clientInfo: ClientIdentity;
  /** A request not answered within this gets a -32001 error reply and is cancelled upstream. Default: none. */
  readonly requestTimeoutMs?: number;
  /** Making a link and finishing `initialize` (default 60 s: `npx -y` may download first). */
  readonly startTimeoutMs?: number;
  /** How long requests wait for a restarting link before an error reply (default 10 s). */
  readonly waitForReadyMs?: number;
  readonly restartBackoff?: RestartBackoff;
  /** Bound on `close()` (default 5 s); stdio links need about 2.2 s at worst. */
  readonly closeTimeoutMs?: number;
}

interface ResolvedUpstreamOptions {
  readonly name: string;
  readonly linkFactory: LinkFactory;
  readonly log: Logger;
  readonly gatewayParams: InitializeParams;
  readonly requestTimeoutMs: number | undefined;
  readonly startTimeoutMs: number;
  readonly waitForReadyMs: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly backoffResetAfterMs: number;
  readonly closeTimeoutMs: number;
}

/**
 * An Upstream over any kind of link (stdio here, HTTP and SSE from `remote/`).
 *
 * `shared`: one link serves every channel. `start()` makes it and does the handshake with
 * the gateway's own params; a link that dies is made again after 250 ms, doubling to 30 s
 * (back to 250 ms once a link stayed up 60 s). States: `starting` (first attempt), `ready`,
 * `restarting` (a ready link died: requests wait for the next one, up to `waitForReadyMs`),
 * `down` (the last attempt failed: requests fail at once while retries go on), `closed`.
 * `start()` rejects when the first attempt fails; retries go on regardless.
 *
 * `per-session`: every `open()` makes a link and initializes it with the downstream client's
 * params (`OpenChannelOptions.initialize`, else the gateway's). When that link dies, its
 * requests in flight get an error reply and the channel stays open: its next message makes
 * a fresh link, initialized with the same params (server-side state is gone, as after any
 * restart). `start()` probes once (a link, a handshake, then close) to fill
 * `initializeResult` and to fail early on a bad command. State: `ready` or `down` after the
 * last link start (a server that refuses one client's initialize does not count).
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  const resolved: ResolvedUpstreamOptions = {
    name: options.name,
    linkFactory: options.linkFactory,
    log: options.logger.child({ upstream: options.name }),
    gatewayParams: gatewayInitializeParams(options.clientInfo),
    requestTimeoutMs: options.requestTimeoutMs,
    startTimeoutMs: options.startTimeoutMs ?? 60_000,
    waitForReadyMs: options.waitForReadyMs ?? 10_000,
    backoffInitialMs: options.restartBackoff?.initialMs ?? 250,
    backoffMaxMs: options.restartBackoff?.maxMs ?? 30_000,
    backoffResetAfterMs: options.restartBackoff?.resetAfterMs ?? 60_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
  };
  return options.sharing === 'shared' ? new SharedUpstream(resolved) : new PerSessionUpstream(resolved);
}

export interface StdioUpstreamOptions extends Omit<UpstreamOptions, 'name' | 'linkFactory' | 'sharing'> {
  readonly link?: StdioLinkOptions;
}

/** An Upstream for a configured stdio server: its command, env, cwd and `sharing`. */
export function createStdioUpstream(server: ResolvedStdioServer, options: StdioUpstreamOptions): Upstream {
  const { link, ...rest } = options;
  return createUpstream({
    ...rest,
    name: server.name,
    sharing: server.sharing,
    linkFactory: createStdioLinkFactory(server, options.logger, link),
  });
}

// ------------------------------------------------------------------ the handshake

const InitializeResultSchema = z.looseObject({
  protocolVersion: z.string().min(1),
  capabilities: z.record(z.string(), z.unknown()).optional(),
  serverInfo: z.looseObject({ name: z.string(), version: z.string().optional() }).optional(),
  instructions: z.string().optional(),
});

function parseInitializeResult(name: string, raw: Record<string, unknown>): InitializeResult {
  const parsed = InitializeResultSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'result';
    throw new UpstreamError('initialize_failed', name, `answered initialize with an invalid result (${where}: ${issue?.message ?? 'invalid'})`);
  }
  const r = parsed.data;
  // Lenient where the spec is strict but nothing depends on it.
  return {
    ...r,
    capabilities: r.capabilities ?? {},
    serverInfo: { ...r.serverInfo, name: r.serverInfo?.name ?? name, version: r.serverInfo?.version ?? '' },
  };
}

/** One link's life: made by the factory, attached to a multiplexer, initialized. */
class LinkAttempt {
  link: Link | undefined;
  /** Set by the owner once the handshake is done and traffic released. */
  ready = false;
  closed = false;
  reason: Error | undefined;
  readonly handlers: LinkHandlers;
  readonly #mux: Multiplexer;
  #made: Promise<Link> | undefined;

  constructor(mux: Multiplexer, onClose: (attempt: LinkAttempt, reason: Error) => void) {
    this.#mux = mux;
    this.handlers = {
      onMessage: (message) => {
        if (!this.closed) mux.handleMessage(message);
      },
      onClose: (reason) => {
        if (this.closed) return;
        this.closed = true;
        this.reason = reason;
        // In-flight requests (the handshake's too) fail now.
        mux.linkClosed(this.link, reason);
        onClose(this, reason);
      },
    };
  }

  async run(o: ResolvedUpstreamOptions, params: InitializeParams): Promise<InitializeResult> {
    const started = Date.now();
    this.#made = o.linkFactory(this.handlers);
    const link = await withTimeout(this.#made, o.startTimeoutMs, () => new UpstreamError('timeout', o.name, `did not start within ${o.startTimeoutMs} ms`));
    this.link = link;
    if (this.closed) throw this.reason ?? new UpstreamError('closed', o.name, 'closed');
    this.#mux.attachLink(link);
    const remaining = Math.max(1, o.startTimeoutMs - (Date.now() - started));
    let raw: Record<string, unknown>;
    try {
      raw = await this.#mux.request('initialize', params, remaining);
    } catch (err) {
      if (err instanceof UpstreamError && err.code === 'request_failed') {
        throw new UpstreamError('initialize_failed', o.name, `refused initialize: ${err.rpcError?.message ?? err.message}`, { rpcError: err.rpcError });
      }
      throw err;
    }
    const result = parseInitializeResult(o.name, raw);
    // HTTP links must carry the negotiated version from `initialized` on.
    link.setProtocolVersion?.(result.protocolVersion);
    this.#mux.notify('notifications/initialized');
    if (this.closed) throw this.reason ?? new UpstreamError('closed', o.name, 'closed');
    return result;
  }

  /** Stops the link, including one the factory has not delivered yet. Never rejects. */
  abandon(): Promise<void> {
    this.closed = true;
    if (this.link !== undefined) return this.link.close().catch(() => undefined);
    if (this.#made !== undefined) return this.#made.then((l) => l.close(), () => undefined).catch(() => undefined);
    return Promise.resolve();
  }
}

// ------------------------------------------------------------------ shared

class SharedUpstream implements Upstream {
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

// ------------------------------------------------------------------ per-session

class PerSessionUpstream implements Upstream {
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

// ------------------------------------------------------------------ helpers

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function tailOf(err: unknown): readonly string[] | undefined {
  return err instanceof UpstreamError ? err.stderrTail : undefined;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    timer.unref();
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(asError(err));
      },
    );
  });
}

async function bounded(work: Promise<unknown>, ms: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  const outcome = await Promise.race([work.then(() => 'done' as const, (err: unknown) => (log.warn({ err }, 'error while closing upstream link'), 'done' as const)), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({ ms }, 'upstream link did not close in time');
}

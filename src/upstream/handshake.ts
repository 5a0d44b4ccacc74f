// The initialize handshake over one link, and small helpers the upstream kinds share.
import { z } from 'zod';
import type { Logger } from '../observability/index.js';
import { UpstreamError } from './errors.js';
import type { Multiplexer } from './multiplexer.js';
import type { InitializeParams, InitializeResult, Link, LinkHandlers } from './types.js';
import type { ResolvedUpstreamOptions } from './upstream.js';

// ------------------------------------------------------------------ the handshake

const InitializeResultSchema = z.looseObject({
  protocolVersion: z.string().min(1),
  capabilities: z.record(z.string(), z.unknown()).optional(),
  serverInfo: z.looseObject({ name: z.string(), version: z.string().optional() }).optional(),
  instructions: z.string().optional(),
});

export function parseInitializeResult(name: string, raw: Record<string, unknown>): InitializeResult {
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
export class LinkAttempt {
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

// ------------------------------------------------------------------ helpers

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export function tailOf(err: unknown): readonly string[] | undefined {
  return err instanceof UpstreamError ? err.stderrTail : undefined;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
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

export async function bounded(work: Promise<unknown>, ms: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  const outcome = await Promise.race([work.then(() => 'done' as const, (err: unknown) => (log.warn({ err }, 'error while closing upstream link'), 'done' as const)), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') log.warn({ ms }, 'upstream link did not close in time');
}

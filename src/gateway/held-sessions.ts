import type { JsonRpcId, JsonRpcMessage } from '../jsonrpc/index.js';
import type { InitializeParams } from '../upstream/types.js';
import { VERSION } from '../version.js';
import type { Dispatcher, DownstreamSink } from './dispatcher.js';
import { LEGACY_PROTOCOL_VERSIONS } from './protocol.js';

// The 2025-era upstream sessions the gateway holds for stateless (2026-07-28) clients,
// pooled by the client capabilities declared (docs/decisions/0003-era-bridging.md). One
// HeldSessions belongs to one StatelessEndpoint, and the gateway keeps one endpoint per
// principal and route: a held session never carries two principals' calls
// (docs/decisions/0014-held-sessions-per-principal.md).

/** Client capabilities a held 2025 session can carry for a 2026 client (bridged as input_required). */
const BRIDGED_CAPABILITIES = new Set(['sampling', 'elicitation', 'roots']);
/** Held upstream sessions per pool; calls that may ask the client for input get one to themselves. */
const POOL_LIMIT = 16;
/** Extra held sessions idle this long are closed; each pool keeps one. */
const POOL_IDLE_MS = 5 * 60_000;
/**
 * A held aggregate session that opened without a server that could not start is renewed
 * this long after it opened: the next call opens a replacement in the background, and the
 * replacement takes its place once open (with the server if it is back). Short, so a server
 * that comes back shows up soon for a principal that keeps calling; long enough that a
 * server that stays down costs one failed start per pool every so often, not one per call.
 */
export const INCOMPLETE_RETRY_MS = 15_000;

export interface HeldSession {
  readonly dispatcher: Promise<Dispatcher>;
  /** In-flight calls that may ask for input; a session with one is not shared with another. */
  interactive: number;
  dead: boolean;
  lastUsed: number;
  /** Calls that took this session and have not yet handed their request to it (see release). */
  users: number;
  /** The dispatcher once open. */
  opened: Dispatcher | undefined;
  /** When to open a replacement: set when the session opened without some server. */
  renewAt: number;
  /** What it was opened with; a replacement is opened with the same. */
  readonly initialize: InitializeParams;
}

export interface HeldSessionsOptions {
  /** How long an incomplete held session is used before it is renewed (default INCOMPLETE_RETRY_MS); tests shorten it. */
  readonly incompleteRetryMs?: number;
  /**
   * True while something outside the calls is bound to this dispatcher and would be lost with
   * it: a subscriptions/listen listener's resource subscription (listen-hub.ts).
   */
  readonly bound?: (dispatcher: Dispatcher) => boolean;
  /** A renewed session took the place of `old`; `gained` when it has a server `old` lacked. */
  readonly renewed?: (gained: boolean) => void;
}

export class HeldSessions {
  readonly #pools = new Map<string, HeldSession[]>();
  /** Renewed sessions that no new call gets; each closes once nothing is bound to it. */
  readonly #draining = new Set<HeldSession>();
  readonly #open: (sink: DownstreamSink, initialize: InitializeParams) => Promise<Dispatcher>;
  readonly #deliver: (session: HeldSession, message: JsonRpcMessage, related: JsonRpcId | undefined) => void;
  readonly #retryMs: number;
  readonly #bound: (dispatcher: Dispatcher) => boolean;
  readonly #renewed: (gained: boolean) => void;
  readonly #sweeper: NodeJS.Timeout;
  #closed = false;

  constructor(
    open: (sink: DownstreamSink, initialize: InitializeParams) => Promise<Dispatcher>,
    deliver: (session: HeldSession, message: JsonRpcMessage, related: JsonRpcId | undefined) => void,
    options: HeldSessionsOptions = {},
  ) {
    this.#open = open;
    this.#deliver = deliver;
    this.#retryMs = options.incompleteRetryMs ?? INCOMPLETE_RETRY_MS;
    this.#bound = options.bound ?? (() => false);
    this.#renewed = options.renewed ?? (() => undefined);
    this.#sweeper = setInterval(() => {
      this.#shrink(Date.now() - POOL_IDLE_MS);
      this.#drain();
    }, 60_000);
    this.#sweeper.unref();
  }

  /**
   * A held session for a client declaring `capabilities`: per-session upstreams are opened
   * with exactly those (so the server asks only for what the client can give); a free one
   * for calls that may ask for input, any live one otherwise. The caller gives it back with
   * `release` once its request is in the dispatcher (or it gave up).
   */
  take(interactive: boolean, capabilities: Record<string, unknown>, clientInfo: unknown): HeldSession {
    const bridged = Object.fromEntries(Object.entries(capabilities).filter(([k]) => BRIDGED_CAPABILITIES.has(k)));
    const key = JSON.stringify(Object.keys(bridged).sort());
    let pool = this.#pools.get(key);
    if (!pool) this.#pools.set(key, (pool = []));
    const now = Date.now();
    for (let i = pool.length - 1; i >= 0; i--) {
      const m = pool[i]!;
      if (m.dead) pool.splice(i, 1);
      else if (m.renewAt <= now) this.#renew(pool, m);
    }
    if (this.#draining.size) this.#drain();
    const free = pool.find((m) => m.interactive === 0);
    if (free) return used(free, now);
    if (!interactive && pool.length) return used(pool[0]!, now);
    if (pool.length >= POOL_LIMIT) return used(pool.reduce((a, b) => (b.interactive < a.interactive ? b : a)), now);
    const info = clientInfo && typeof clientInfo === 'object' ? (clientInfo as InitializeParams['clientInfo']) : { name: 'gatehouse', version: VERSION };
    const session = this.#start({ protocolVersion: LEGACY_PROTOCOL_VERSIONS[0], capabilities: bridged, clientInfo: info });
    pool.push(session);
    return used(session, now);
  }

  /** The call that took `session` has handed its request over (or ended): a draining session may close. */
  release(session: HeldSession): void {
    session.users--;
    if (this.#draining.has(session)) this.#drain();
  }

  #start(initialize: InitializeParams): HeldSession {
    const session: HeldSession = {
      dispatcher: undefined as unknown as Promise<Dispatcher>,
      interactive: 0,
      dead: false,
      lastUsed: Date.now(),
      users: 0,
      opened: undefined,
      renewAt: Infinity,
      initialize,
    };
    const sink: DownstreamSink = {
      deliver: (m, related) => this.#deliver(session, m, related),
      closed: () => {
        // The held upstream session ended; later requests open another.
        session.dead = true;
      },
    };
    (session as { dispatcher: Promise<Dispatcher> }).dispatcher = this.#open(sink, initialize);
    session.dispatcher.then(
      (d) => {
        session.opened = d;
        if (d.missing?.length) session.renewAt = Date.now() + this.#retryMs;
      },
      () => (session.dead = true),
    );
    return session;
  }

  /**
   * Opens a replacement for an incomplete session; calls keep using the old one until the
   * replacement is open (so none waits for a server that is still down), then it takes the
   * old one's place in the pool and the old one drains. One attempt at a time per session.
   */
  #renew(pool: HeldSession[], old: HeldSession): void {
    old.renewAt = Infinity;
    const next = this.#start(old.initialize);
    next.dispatcher.then(
      (d) => {
        const at = pool.indexOf(old);
        if (this.#closed || at < 0) {
          // Closed meanwhile, or the old one died and the pool has moved on.
          next.dead = true;
          void d.close().catch(() => undefined);
          return;
        }
        pool[at] = next;
        this.#draining.add(old);
        this.#drain();
        const before = old.opened?.missing ?? [];
        this.#renewed(before.some((name) => !d.missing?.includes(name)));
      },
      // Nothing answered at all: the old session goes on, and tries again later.
      () => {
        if (!old.dead) old.renewAt = Date.now() + this.#retryMs;
      },
    );
  }

  /**
   * Nothing would be lost by closing it: no call between take and request, no request
   * waiting for its reply (inFlight counts every request, so calls, input_required
   * continuations whose upstream call runs on, and listeners' subscribe requests), no
   * input_required continuation, no listener's resource subscription.
   */
  #idle(m: HeldSession): boolean {
    return m.users === 0 && m.interactive === 0 && (m.opened === undefined || (m.opened.inFlight === 0 && !this.#bound(m.opened)));
  }

  /** Closes the draining sessions that nothing is bound to any more. */
  #drain(): void {
    for (const m of this.#draining) {
      if (m.dead || this.#idle(m)) {
        this.#draining.delete(m);
        retire(m);
      }
    }
  }

  /** Closes held sessions beyond the first of each pool that nobody used since `before`. */
  #shrink(before: number): void {
    for (const pool of this.#pools.values()) {
      for (let i = pool.length - 1; i >= 1; i--) {
        const m = pool[i]!;
        if (m.lastUsed < before && this.#idle(m)) {
          pool.splice(i, 1);
          retire(m);
        }
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all(
      [...this.#pools.values(), this.#draining].flatMap((sessions) => [...sessions]).map(async (m) => {
        const d = await m.dispatcher.catch(() => undefined);
        await d?.close();
      }),
    );
    this.#draining.clear();
  }
}

function used(m: HeldSession, now: number): HeldSession {
  m.lastUsed = now;
  m.users++;
  return m;
}

function retire(m: HeldSession): void {
  m.dead = true;
  void m.dispatcher.then((d) => d.close()).catch(() => undefined);
}

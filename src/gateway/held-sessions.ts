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

export interface HeldSession {
  readonly dispatcher: Promise<Dispatcher>;
  /** In-flight calls that may ask for input; a session with one is not shared with another. */
  interactive: number;
  dead: boolean;
  lastUsed: number;
}

export class HeldSessions {
  readonly #pools = new Map<string, HeldSession[]>();
  readonly #open: (sink: DownstreamSink, initialize: InitializeParams) => Promise<Dispatcher>;
  readonly #deliver: (session: HeldSession, message: JsonRpcMessage, related: JsonRpcId | undefined) => void;
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    open: (sink: DownstreamSink, initialize: InitializeParams) => Promise<Dispatcher>,
    deliver: (session: HeldSession, message: JsonRpcMessage, related: JsonRpcId | undefined) => void,
  ) {
    this.#open = open;
    this.#deliver = deliver;
    this.#sweeper = setInterval(() => this.#shrink(Date.now() - POOL_IDLE_MS), 60_000);
    this.#sweeper.unref();
  }

  /**
   * A held session for a client declaring `capabilities`: per-session upstreams are opened
   * with exactly those (so the server asks only for what the client can give); a free one
   * for calls that may ask for input, any live one otherwise.
   */
  take(interactive: boolean, capabilities: Record<string, unknown>, clientInfo: unknown): HeldSession {
    const bridged = Object.fromEntries(Object.entries(capabilities).filter(([k]) => BRIDGED_CAPABILITIES.has(k)));
    const key = JSON.stringify(Object.keys(bridged).sort());
    let pool = this.#pools.get(key);
    if (!pool) this.#pools.set(key, (pool = []));
    for (let i = pool.length - 1; i >= 0; i--) if (pool[i]!.dead) pool.splice(i, 1);
    const free = pool.find((m) => m.interactive === 0);
    if (free) return used(free);
    if (!interactive && pool.length) return used(pool[0]!);
    if (pool.length >= POOL_LIMIT) return used(pool.reduce((a, b) => (b.interactive < a.interactive ? b : a)));
    const session: HeldSession = { dispatcher: undefined as unknown as Promise<Dispatcher>, interactive: 0, dead: false, lastUsed: Date.now() };
    const sink: DownstreamSink = {
      deliver: (m, related) => this.#deliver(session, m, related),
      closed: () => {
        // The held upstream session ended; later requests open another.
        session.dead = true;
      },
    };
    const info = clientInfo && typeof clientInfo === 'object' ? (clientInfo as InitializeParams['clientInfo']) : { name: 'gatehouse', version: VERSION };
    (session as { dispatcher: Promise<Dispatcher> }).dispatcher = this.#open(sink, {
      protocolVersion: LEGACY_PROTOCOL_VERSIONS[0],
      capabilities: bridged,
      clientInfo: info,
    });
    session.dispatcher.catch(() => (session.dead = true));
    pool.push(session);
    return session;
  }

  /** Closes held sessions beyond the first of each pool that nobody used since `before`. */
  #shrink(before: number): void {
    for (const pool of this.#pools.values()) {
      for (let i = pool.length - 1; i >= 1; i--) {
        const m = pool[i]!;
        if (m.interactive === 0 && m.lastUsed < before) {
          pool.splice(i, 1);
          m.dead = true;
          void m.dispatcher.then((d) => d.close()).catch(() => undefined);
        }
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all(
      [...this.#pools.values()].flat().map(async (m) => {
        const d = await m.dispatcher.catch(() => undefined);
        await d?.close();
      }),
    );
  }
}

function used(m: HeldSession): HeldSession {
  m.lastUsed = Date.now();
  return m;
}

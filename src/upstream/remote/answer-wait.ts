import type { JsonRpcId, JsonRpcMessage } from '../../jsonrpc/index.js';

/**
 * Requests whose POST was acknowledged without their answer while the session's GET stream was
 * live (streamable-link.ts #noAnswer): some servers answer there instead, against the
 * transports' rules. Each waits for its answer on the stream; when the stream stops being live
 * (refused, given up) those still waiting are given up at once, not left to the request timeout.
 */
export class AnswerWaits {
  readonly #waiting = new Map<JsonRpcId, () => void>();

  /** `id` waits; `giveUp` fails it if the stream ends first. */
  add(id: JsonRpcId, giveUp: () => void): void {
    this.#waiting.set(id, giveUp);
  }

  /** A message from the server: a response ends its request's wait. Before the handlers see it (they may rewrite the id). */
  heard(m: JsonRpcMessage): void {
    if (this.#waiting.size > 0 && 'id' in m && !('method' in m) && m.id !== null) this.#waiting.delete(m.id);
  }

  /** The stream is no longer live: no answer can come for those still waiting. */
  giveUpAll(): void {
    const all = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const giveUp of all) giveUp();
  }
}

/** The path of a 307/308 Location on the endpoint's own origin (another origin is not followed), relative to `path`. */
export function sameOriginTarget(location: string | undefined, path: string, endpoint: URL): string | undefined {
  if (location === undefined) return undefined;
  try {
    const target = new URL(location, new URL(path, endpoint.origin));
    return target.origin === endpoint.origin ? target.pathname + target.search : undefined;
  } catch {
    return undefined;
  }
}

import { ErrorCode, type JsonRpcId } from '../jsonrpc/index.js';
import { jsonRpcHttpError } from './http-util.js';
import type { Reply } from './reply.js';

/** Open sessions per principal when the options do not say (config maxSessionsPerClient has the same default). */
export const DEFAULT_MAX_SESSIONS_PER_PRINCIPAL = 100;

/**
 * Open and opening sessions per principal (maxSessionsPerPrincipal), for both session
 * transports: each may cost an upstream session or a child process, and idle ones live for
 * sessionIdleMs.
 */
export class PrincipalAdmission {
  readonly #limit: number;
  readonly #open = new Map<string, number>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Counts a session (being opened) against its principal's limit; false when it is at the limit. */
  admit(principal: string): boolean {
    const open = this.#open.get(principal) ?? 0;
    if (open >= this.#limit) return false;
    this.#open.set(principal, open + 1);
    return true;
  }

  release(principal: string): void {
    const open = (this.#open.get(principal) ?? 0) - 1;
    if (open > 0) this.#open.set(principal, open);
    else this.#open.delete(principal);
  }

  /** The answer to a principal at its limit (429, retry after a minute). */
  tooMany(id: JsonRpcId | null): Reply {
    const reply = jsonRpcHttpError(429, ErrorCode.InvalidRequest, `too many open sessions for this credential (${this.#limit}): end some (HTTP DELETE) or let idle ones expire`, id);
    return { ...reply, headers: { ...reply.headers, 'retry-after': '60' } };
  }
}

import type { JsonRpcErrorObject } from '../jsonrpc/index.js';

/** Why an upstream (or one link to it) failed. Stable: logs, metrics and tests match on these. */
export type UpstreamErrorCode =
  | 'command_not_found'
  | 'permission_denied'
  | 'cwd_not_found'
  | 'spawn_failed'
  | 'exited'
  | 'line_too_long'
  | 'input_overflow'
  | 'initialize_failed'
  | 'request_failed'
  | 'timeout'
  | 'unavailable'
  | 'closed';

export interface UpstreamErrorDetails {
  readonly cause?: unknown;
  /** Process exit code (stdio links), when the process exited by itself. */
  readonly exitCode?: number | null;
  readonly signal?: NodeJS.Signals | null;
  /** The last lines the process wrote to stderr: for logs only, never for the wire. */
  readonly stderrTail?: readonly string[];
  /** The JSON-RPC error the server answered with (`request_failed`, `initialize_failed`). */
  readonly rpcError?: JsonRpcErrorObject;
}

/**
 * A local failure of the upstream room (the `GatewayError` family of STYLE.md). The message
 * always names the upstream (`upstream "files" exited (code 1)`), so it can be used as the
 * message of the JSON-RPC error a client receives; `stderrTail` and `cause` stay local.
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  readonly code: UpstreamErrorCode;
  readonly upstream: string;
  readonly exitCode: number | null | undefined;
  readonly signal: NodeJS.Signals | null | undefined;
  readonly stderrTail: readonly string[] | undefined;
  readonly rpcError: JsonRpcErrorObject | undefined;

  /** `detail` follows the name: `new UpstreamError('exited', 'files', 'exited (code 1)')`. */
  constructor(code: UpstreamErrorCode, upstream: string, detail: string, details: UpstreamErrorDetails = {}) {
    super(`upstream "${upstream}" ${detail}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.upstream = upstream;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail;
    this.rpcError = details.rpcError;
  }
}

/**
 * The message to put in a JSON-RPC error for `reason`, naming the upstream whatever made it. A
 * failure that words itself for clients (a remote link's: its message names the server's URL,
 * which is for the log, not for whoever calls) is read that way.
 */
export function failureMessage(upstream: string, reason: Error): string {
  const worded = (reason as Error & { clientMessage?: unknown }).clientMessage;
  if (typeof worded === 'function') return (worded as (upstream: string) => string).call(reason, upstream);
  const prefix = `upstream "${upstream}"`;
  if (reason instanceof UpstreamError || reason.message.startsWith(prefix)) return reason.message;
  return `${prefix}: ${reason.message}`;
}

import { ErrorCode, type JsonRpcId, type JsonRpcResponse } from '../jsonrpc/index.js';
import type { Dispatcher } from './dispatcher.js';
import { CACHEABLE_METHODS, META, MODERN_PROTOCOL_VERSION } from './protocol.js';

// How 2025-era answers are dressed for a 2026-07-28 client (docs/decisions/protocol-eras.md §5a).

const ENVELOPE_KEYS = [META.protocolVersion, META.clientInfo, META.clientCapabilities, META.logLevel];
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'];

/** The request's `logLevel` as an index into LOG_LEVELS; undefined: no log lines for it. */
export function logLevelOf(meta: Record<string, unknown>): number | undefined {
  const name = meta[META.logLevel];
  return typeof name === 'string' && LOG_LEVELS.includes(name) ? LOG_LEVELS.indexOf(name) : undefined;
}

/** `_meta` without the 2026 envelope keys, which a 2025 server does not know. */
export function stripEnvelope(meta: Record<string, unknown>): Record<string, unknown> {
  const out = { ...meta };
  for (const k of ENVELOPE_KEYS) delete out[k];
  return out;
}

/** `server/discover`, answered from the held session's initialize result. */
export function discoverResult(dispatcher: Dispatcher): Record<string, unknown> {
  const init = dispatcher.initializeResult;
  const { tasks: _tasks, ...capabilities } = init.capabilities;
  const result: Record<string, unknown> = {
    resultType: 'complete',
    supportedVersions: [MODERN_PROTOCOL_VERSION],
    capabilities,
    ttlMs: 0,
    cacheScope: 'private',
    _meta: { [META.serverInfo]: init.serverInfo },
  };
  if (init.instructions) result.instructions = init.instructions;
  return result;
}

/** A 2025-era reply dressed for a 2026 client: resultType, cache hints, renamed error codes. */
export function toModernReply(reply: JsonRpcResponse, id: JsonRpcId, method: string): JsonRpcResponse {
  if ('error' in reply) {
    // 2026-07-28 folds -32002 (resource not found) into -32602 with the uri in data.
    const error = reply.error.code === ErrorCode.ResourceNotFound ? { ...reply.error, code: ErrorCode.InvalidParams } : reply.error;
    return { jsonrpc: '2.0', id, error };
  }
  const result: Record<string, unknown> = { resultType: 'complete', ...reply.result };
  if (CACHEABLE_METHODS.has(method)) {
    result.ttlMs ??= 0;
    result.cacheScope ??= 'private';
  }
  return { jsonrpc: '2.0', id, result };
}

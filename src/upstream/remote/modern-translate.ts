// How 2026-07-28 results and errors look to a 2025-era session, for ModernAdapterLink.

import { LATEST_PROTOCOL_VERSION, SERVER_INFO_META_KEY, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/client';
import { ErrorCode, errorResponse, type JsonRpcErrorObject, type JsonRpcFailure, type JsonRpcRequest } from '../../jsonrpc/index.js';

/** A JSON-RPC error the server answered with, carried as an exception. */
export class RpcError extends Error {
  readonly rpc: JsonRpcErrorObject;
  constructor(rpc: JsonRpcErrorObject) {
    super(rpc.message);
    this.rpc = rpc;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function without(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

/** 2026 `clientCapabilities` from 2025 initialize capabilities (no `tasks` in core 2026). */
export function modernClientCapabilities(capabilities: unknown): Record<string, unknown> {
  return isObject(capabilities) ? without(capabilities, ['tasks']) : {};
}

/** serverInfo for the 2025 initialize result: from discover's `_meta`, else its own field. */
export function serverInfoOf(discover: Record<string, unknown>, fallbackName: string): Record<string, unknown> {
  const meta = isObject(discover._meta) ? discover._meta : {};
  const info = isObject(meta[SERVER_INFO_META_KEY]) ? meta[SERVER_INFO_META_KEY] : isObject(discover.serverInfo) ? discover.serverInfo : {};
  return { ...info, name: typeof info.name === 'string' ? info.name : fallbackName, version: typeof info.version === 'string' ? info.version : '' };
}

/**
 * The 2025 initialize result, answered from server/discover: the revision the caller asked for
 * when supported (else the newest), the server's `capabilities` without `tasks` (tasks/* are not
 * bridgeable to core 2026; listChanged and subscribe are, over subscriptions/listen), its
 * serverInfo and instructions.
 */
export function initializeResult(
  discover: Record<string, unknown>,
  capabilities: Record<string, unknown>,
  asked: unknown,
  fallbackName: string,
): Record<string, unknown> {
  const protocolVersion = typeof asked === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(asked) ? asked : LATEST_PROTOCOL_VERSION;
  const result: Record<string, unknown> = { protocolVersion, capabilities: without(capabilities, ['tasks']), serverInfo: serverInfoOf(discover, fallbackName) };
  if (typeof discover.instructions === 'string') result.instructions = discover.instructions;
  return result;
}

/** A 2026 result as a 2025 client expects it: no resultType, cache hints or serverInfo `_meta`. */
export function legacyResult(result: Record<string, unknown>): Record<string, unknown> {
  const out = without(result, ['resultType', 'ttlMs', 'cacheScope', '_meta']);
  if (isObject(result._meta)) {
    const meta = without(result._meta, [SERVER_INFO_META_KEY]);
    if (Object.keys(meta).length > 0) out._meta = meta;
  }
  return out;
}

/** 2026 dropped -32002: resource-not-found is -32602 with `data.uri`. */
export function legacyError(request: JsonRpcRequest, error: JsonRpcErrorObject): JsonRpcFailure {
  const uri = request.params?.uri;
  if (request.method === 'resources/read' && error.code === ErrorCode.InvalidParams && isObject(error.data) && typeof uri === 'string' && error.data.uri === uri) {
    return errorResponse(request.id, ErrorCode.ResourceNotFound, error.message, error.data);
  }
  return errorResponse(request.id, error.code, error.message, error.data);
}

// What a request says about its MCP revision: the MCP-Protocol-Version header and the
// 2026-07-28 envelope's claim in `_meta` (docs/decisions/protocol-eras.md).
import { ErrorCode, type JsonRpcNotification, type JsonRpcRequest } from '../jsonrpc/index.js';
import { jsonRpcHttpError } from './http-util.js';
import { META, isModernVersion, isSupportedLegacyVersion } from './protocol.js';
import type { InboundRequest, Reply } from './reply.js';

/** 2025-11-25 (transports, "Resumability"): SSE streams SHOULD open with an event id and empty data. */
export function primes(version: string): boolean {
  return version >= '2025-11-25';
}

/**
 * 2025-06-18 transports ("Protocol Version Header"): an invalid or unsupported version MUST
 * get 400. Any session-era version we serve passes, not only the session's own
 * (docs/decisions/0013-inbound-guard-rails.md): the same set an initialize can be answered
 * with (negotiateLegacyVersion, docs/decisions/0018-session-era-versions.md); a malformed or
 * unknown one does not.
 */
export function unsupportedVersionHeader(request: InboundRequest): Reply | undefined {
  const version = request.headers.get('mcp-protocol-version');
  if (version === null || isSupportedLegacyVersion(version.trim())) return undefined;
  return jsonRpcHttpError(400, ErrorCode.InvalidRequest, `Bad Request: unsupported MCP-Protocol-Version ${version}`);
}

/** A 2026 header without the body claim still selects the stateless path, which then rejects the envelope (-32602). */
export function isModernHeader(request: InboundRequest): boolean {
  const v = request.headers.get('mcp-protocol-version');
  return v !== null && isModernVersion(v.trim());
}

export function hasModernClaim(m: JsonRpcRequest | JsonRpcNotification): boolean {
  const meta = m.params?._meta;
  return typeof meta === 'object' && meta !== null && META.protocolVersion in meta;
}


// Protocol revisions and the 2026-07-28 request envelope (docs/decisions/protocol-eras.md).

import { MODERN_PROTOCOL_VERSION } from '../mcp/index.js';

export { MODERN_PROTOCOL_VERSION };
/** Session-era revisions we serve, newest first. */
export const LEGACY_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26'] as const;
/** What a client that sends no MCP-Protocol-Version header is assumed to speak (2025-06-18 transports). */
export const DEFAULT_LEGACY_VERSION = '2025-03-26';

export function isModernVersion(v: string): boolean {
  return v >= MODERN_PROTOCOL_VERSION;
}

/** The revision to answer an initialize with: the client's if we speak it, else our newest. */
export function negotiateLegacyVersion(requested: unknown): string {
  return typeof requested === 'string' && (LEGACY_PROTOCOL_VERSIONS as readonly string[]).includes(requested)
    ? requested
    : LEGACY_PROTOCOL_VERSIONS[0];
}

export function isSupportedLegacyVersion(v: string): boolean {
  return (LEGACY_PROTOCOL_VERSIONS as readonly string[]).includes(v) || v === '2024-11-05';
}

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** 2026-07-28 error codes (basic/transports, basic/versioning). */
export const ModernErrorCode = {
  HeaderMismatch: -32020,
  MissingClientCapability: -32021,
  UnsupportedProtocolVersion: -32022,
} as const;

/** Results a 2026 client caches; they must carry ttlMs and cacheScope (SEP-2549). */
export const CACHEABLE_METHODS = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'server/discover',
]);

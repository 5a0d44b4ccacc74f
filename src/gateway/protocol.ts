// Protocol revisions and the 2026-07-28 request envelope (docs/decisions/protocol-eras.md).

import { MODERN_PROTOCOL_VERSION } from '../mcp/index.js';

export { MODERN_PROTOCOL_VERSION };
/**
 * Session-era revisions we serve, newest first, on both transports (Streamable HTTP and legacy
 * HTTP+SSE): an initialize asking for one of them is answered with it, any other with the first
 * (docs/decisions/0018-session-era-versions.md). 2024-11-05 is the legacy SSE transport's own
 * revision, which older SDK clients and mcp-remote speak, and mcp-remote relays it over
 * Streamable HTTP too.
 */
export const LEGACY_PROTOCOL_VERSIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
/** What a client that sends no MCP-Protocol-Version header is assumed to speak (2025-06-18 transports). */
export const DEFAULT_LEGACY_VERSION = '2025-03-26';

/** MCP revisions are dates (basic/versioning: `YYYY-MM-DD`); only those may be compared. */
const DATE_VERSION = /^\d{4}-\d{2}-\d{2}$/;

export function isDateVersion(v: string): boolean {
  return DATE_VERSION.test(v);
}

/** 2026-07-28 or later; a string that is not a date (`zzz` sorts after every date) is not. */
export function isModernVersion(v: string): boolean {
  return isDateVersion(v) && v >= MODERN_PROTOCOL_VERSION;
}

/** The session-era revision that still has JSON-RPC batching (2025-06-18 removed it). */
export const BATCHING_VERSION = '2025-03-26';

/**
 * "Session not found" (404): the code the SDK's Streamable HTTP server transport uses
 * (@modelcontextprotocol/server), so clients that look at it see the same one from us.
 */
export const SESSION_NOT_FOUND = -32001;

/** Bodies nested deeper than this are refused before anything walks them recursively. */
export const MAX_JSON_DEPTH = 1000;

/**
 * True when a JSON text nests arrays/objects deeper than `limit`. Valid JSON that deep has
 * more than 2 * limit characters, so usual bodies skip the scan; a longer body costs one pass
 * over its characters (brackets inside strings do not count).
 */
export function nestedDeeperThan(text: string, limit = MAX_JSON_DEPTH): boolean {
  if (text.length <= 2 * limit) return false;
  // Cheap first cut (indexOf hops, no per-character work): that deep needs more than `limit`
  // opening brackets in all; most large bodies (long strings) have far fewer.
  if (!hasMoreThan(text, 91, limit - hasMoreThanCount(text, 123, limit))) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/**
 * The revision to answer an initialize with (basic/lifecycle, "Version Negotiation"): the
 * client's if we support it, else our newest. Exactly the versions isSupportedLegacyVersion
 * accepts can come out of it, so a client that sends the negotiated one back in the
 * MCP-Protocol-Version header is never refused.
 */
export function negotiateLegacyVersion(requested: unknown): string {
  return typeof requested === 'string' && isSupportedLegacyVersion(requested) ? requested : LEGACY_PROTOCOL_VERSIONS[0];
}

/** Whether `v` is a session-era revision we serve (LEGACY_PROTOCOL_VERSIONS): exact, no trimming. */
export function isSupportedLegacyVersion(v: string): boolean {
  return (LEGACY_PROTOCOL_VERSIONS as readonly string[]).includes(v);
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

/** How many times the character `code` occurs in `text`, counting no further than `cap + 1`. */
function hasMoreThanCount(text: string, code: number, cap: number): number {
  const ch = String.fromCharCode(code);
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1 && n <= cap; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

function hasMoreThan(text: string, code: number, cap: number): boolean {
  return cap < 0 || hasMoreThanCount(text, code, cap) > cap;
}

/**
 * Which redirect URIs a self-registered client (DCR or CIMD) may use: the presets of the known
 * MCP clients plus `registration.allowedRedirectUris`. Pure; the provider's hooks apply it.
 */

import { REDIRECT_PRESETS, type RedirectPreset } from '../../config/index.js';

export { REDIRECT_PRESETS, type RedirectPreset };

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface RedirectPolicy {
  /** True when `uri` may be registered by a self-registered client. */
  allows(uri: string): boolean;
  /** The patterns in force, for messages and `doctor`. */
  readonly patterns: readonly string[];
}

export function createRedirectPolicy(presets: readonly RedirectPreset[], extra: readonly string[]): RedirectPolicy {
  const patterns = [...presets.flatMap((p) => REDIRECT_PRESETS[p]), ...extra];
  const matchers = patterns.map(compile);
  return {
    patterns,
    allows(uri) {
      const normalized = normalize(uri);
      return normalized !== undefined && matchers.some((m) => m(normalized));
    },
  };
}

/** http on a loopback host: the port is the client's to choose (RFC 8252 §7.3). */
export function isLoopbackHttp(uri: string): boolean {
  const u = URL.parse(uri);
  return u !== null && u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname);
}

/** A private-use scheme (`cursor://...`), as native apps use (RFC 8252 §7.1). */
export function isPrivateUseScheme(uri: string): boolean {
  const u = URL.parse(uri);
  return u !== null && u.protocol !== 'http:' && u.protocol !== 'https:' && !FORBIDDEN_SCHEMES.has(u.protocol);
}

const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

/** The comparable form: URL-parsed, no fragment (RFC 6749 §3.1.2), loopback port dropped; undefined when unusable. */
function normalize(uri: string): string | undefined {
  if (/[\s\\]/.test(uri)) return undefined;
  const u = URL.parse(uri);
  if (!u || u.hash || u.username || u.password || FORBIDDEN_SCHEMES.has(u.protocol)) return undefined;
  if (u.protocol === 'http:' && LOOPBACK_HOSTS.has(u.hostname)) u.port = '';
  return u.href;
}

function compile(pattern: string): (normalized: string) => boolean {
  if (!pattern.includes('*')) {
    const exact = normalize(pattern);
    return (candidate) => candidate === exact;
  }
  // Normalize around the wildcards so that `*` never stands for a separator.
  const marker = 'gatehousewildcard';
  const normalized = normalize(pattern.replaceAll('*', marker)) ?? '';
  const source = normalized
    .split(marker)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/?#]+');
  const re = new RegExp(`^${source}$`);
  return (candidate) => normalized !== '' && re.test(candidate);
}

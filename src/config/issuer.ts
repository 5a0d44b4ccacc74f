import type { ResolvedConfig } from './resolved.js';

/**
 * The authorization server's issuer: publicUrl, else `http://{listen}` (a wildcard bind names
 * localhost). Fixed for the process, never taken from request headers (RFC 8414 §2, RFC 9207).
 * The authorization server and `config check` (serve-checks.ts) both use this one rule.
 */
export function issuerFor(config: Pick<ResolvedConfig, 'publicUrl' | 'listen'>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  let host = config.listen.host;
  if (host === '0.0.0.0' || host === '::' || host === '') host = 'localhost';
  if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${config.listen.port}`;
}

import { createHash, randomBytes } from 'node:crypto';

/** A URL-safe random secret with `bytes` bytes of entropy (default 32). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** SHA-256 in base64url: how tokens and secrets are stored (only hashes, never the value). */
export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets without leaking, through timing, how much of them matched.
 * Both sides are hashed first so that inputs of different lengths take the same path.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** True when `candidate` equals any of `secrets`; every entry is compared, match or not. */
export function matchesAny(candidate: string, secrets: readonly string[]): boolean {
  let found = false;
  for (const s of secrets) found = constantTimeEqual(candidate, s) || found;
  return found;
}

// The sign-ins sent to an upstream provider and not yet back: what the callback is checked
// against. Kept server-side under sha256(state), for a few minutes, and usable once: a replayed
// callback finds nothing (RFC 9700 §4.7: state is one-time CSRF protection).
import { sha256 } from '../../crypto/index.js';

/** Any store of small records with a lifetime; oidc-provider's storage adapter is one. */
export interface ExpiringRecords {
  upsert(id: string, payload: Record<string, unknown>, expiresIn: number): Promise<unknown>;
  find(id: string): Promise<unknown>;
  destroy(id: string): Promise<unknown>;
}

export interface PendingLogin {
  readonly providerId: string;
  /** The oidc-provider interaction the sign-in finishes. */
  readonly uid: string;
  /** RFC 7636 code_verifier; useless without the code, and gone within minutes. */
  readonly codeVerifier: string;
  readonly nonce: string;
  /** sha256 of the browser-binding cookie's value. */
  readonly binding: string;
}

export interface PendingLogins {
  put(state: string, login: PendingLogin): Promise<void>;
  /**
   * The pending sign-in for `state`, removed as it is read; undefined when unknown, expired or
   * already taken. Single-use within this process; across instances sharing a store it is
   * find-then-destroy, not atomic (the adapter has no atomic take): bounded by the
   * browser-binding cookie and the provider's single-use code (0008, Known limits).
   */
  take(state: string): Promise<PendingLogin | undefined>;
}

export function createPendingLogins(records: ExpiringRecords, ttlSeconds: number): PendingLogins {
  // Two callbacks with the same state racing in one process: only the first gets past here.
  const taking = new Set<string>();
  return {
    async put(state, login) {
      await records.upsert(sha256(state), { ...login }, ttlSeconds);
    },
    async take(state) {
      const key = sha256(state);
      if (taking.has(key)) return undefined;
      taking.add(key);
      try {
        const found = await records.find(key);
        if (!found) return undefined;
        await records.destroy(key);
        return asPendingLogin(found);
      } finally {
        taking.delete(key);
      }
    },
  };
}

function asPendingLogin(value: unknown): PendingLogin | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  const fields = ['providerId', 'uid', 'codeVerifier', 'nonce', 'binding'] as const;
  if (!fields.every((f) => typeof v[f] === 'string' && v[f] !== '')) return undefined;
  return { providerId: v.providerId as string, uid: v.uid as string, codeVerifier: v.codeVerifier as string, nonce: v.nonce as string, binding: v.binding as string };
}

import type { ResolvedConfig } from '../../config/index.js';
import { verifyPassword } from '../../crypto/index.js';

/** Where local accounts live: config for now; the store later (same shape). */
export interface UserDirectory {
  /** The account id when the password is right; undefined for a wrong password or an unknown user alike. */
  verify(username: string, password: string): Promise<string | undefined>;
  /** Whether the account still exists (refresh tokens of removed users stop working). */
  exists(accountId: string): Promise<boolean>;
  /** Whether any local user exists (the login page shows its password form only then, when providers are configured). */
  any(): Promise<boolean>;
}

// A valid hash of a random password: unknown users cost the same scrypt work as known ones.
const DECOY_HASH = 'scrypt$32768$8$1$b6RxjGBSa8kWaTFegTpICw$qNNiukixSsHOBZmgUfpCmvA5ju3BFfml1u_jaPMDhf0';

export function configUserDirectory(config: Pick<ResolvedConfig, 'auth'>): UserDirectory {
  const users = new Map(Object.entries(config.auth.users));
  return {
    verify(username, password) {
      const user = users.get(username);
      const ok = verifyPassword(password, user?.passwordHash ?? DECOY_HASH);
      return Promise.resolve(user && ok ? username : undefined);
    },
    exists: (accountId) => Promise.resolve(users.has(accountId)),
    any: () => Promise.resolve(users.size > 0),
  };
}

/** The part of the store's user table that login needs. */
export interface StoredUsers {
  get(name: string): Promise<{ readonly passwordHash: string } | undefined>;
  list(): Promise<readonly unknown[]>;
}

/**
 * Users from the store (`gatehouse users add`) and from the config's `auth.users`; the
 * store wins when a name is in both.
 */
export function storeUserDirectory(users: StoredUsers, config: Pick<ResolvedConfig, 'auth'>): UserDirectory {
  const fromConfig = new Map(Object.entries(config.auth.users));
  const hashOf = async (name: string): Promise<string | undefined> =>
    (await users.get(name).catch(() => undefined))?.passwordHash ?? fromConfig.get(name)?.passwordHash;
  return {
    async verify(username, password) {
      const hash = await hashOf(username);
      const ok = verifyPassword(password, hash ?? DECOY_HASH);
      return hash && ok ? username : undefined;
    },
    async exists(accountId) {
      return (await hashOf(accountId)) !== undefined;
    },
    async any() {
      return fromConfig.size > 0 || (await users.list().catch(() => [])).length > 0;
    },
  };
}

// `gatehouse users add|list|remove|passwd`: local users in the store `serve` would use with
// the same --config / --data-dir, each change said with the store it changed (the wrong
// --config or working directory acts on another store). Removing a user or changing a password
// ends their sessions and revokes their grants and tokens (`passwd --keep-sessions` keeps
// them). SQLite in WAL mode with a busy timeout lets this run while `serve` holds the same
// file. `users hash` (users-hash.ts) stores nothing: a hash for auth.users in a config file.
import { hashPassword } from '../crypto/index.js';
import { StoreError, validateUserName, type Store } from '../store/index.js';
import { asCliExit, withStore, type StoreFlags } from './store-command.js';
import { revokeTokens } from './tokens.js';
import { readPassword, type PasswordFlags } from './users-hash.js';

export { usersHash } from './users-hash.js';

export interface UsersFlags extends StoreFlags, PasswordFlags {
  /** `users passwd --keep-sessions`: change the password only; sign-ins made with the old one stay. */
  keepSessions?: boolean | undefined;
}

export async function usersAdd(name: string, flags: UsersFlags): Promise<void> {
  validateNameEarly(name);
  await withStore(flags, 'users', async (store, config) => {
    if (name in config.auth.users) console.error(`note: ${name} is also defined in the config file (auth.users)`);
    // Fail before asking for a password that would be thrown away.
    if (await store.users.get(name)) throw new StoreError('user-exists', `a user named ${name} already exists (change its password with: gatehouse users passwd ${name})`);
    const password = await readPassword(name, flags, true);
    await store.users.add(name, hashPassword(password));
    console.error(`added user ${name} to ${store.location}`);
  });
}

export async function usersPasswd(name: string, flags: UsersFlags): Promise<void> {
  validateNameEarly(name);
  await withStore(flags, 'users', async (store) => {
    if (!(await store.users.get(name))) throw new StoreError('no-such-user', `no user named ${name} in ${store.location}`);
    const password = await readPassword(name, flags, true);
    await store.users.setPassword(name, hashPassword(password));
    // --keep-sessions: a routine change (the old password was not leaked) that should not sign
    // the user out of every client. The operator asks for it by name; the default ends them.
    if (flags.keepSessions) {
      console.error(`changed the password of ${name}; kept their sessions, grants and tokens (--keep-sessions; in ${store.location})`);
      return;
    }
    // A new password is often a reaction to a leaked one (RFC 9700 §4.14): whoever signed in with
    // the old one must not keep a browser session (it skips the login page) or a refresh token.
    // Remembered consent stays: it is the user's choice about a client, not a credential.
    console.error(`changed the password of ${name}${await endAccess(store, name)} (in ${store.location})`);
  });
}

export async function usersRemove(name: string, flags: UsersFlags): Promise<void> {
  validateNameEarly(name);
  await withStore(flags, 'users', async (store) => {
    await store.users.remove(name);
    // Their sessions and tokens go too: a removed user must not keep access. What else of the
    // OAuth store is theirs goes as well, uncounted.
    const ended = await endAccess(store, name);
    await store.deleteOAuth({ accountId: name });
    console.error(`removed user ${name}${ended} (in ${store.location})`);
  });
}

export async function usersList(flags: UsersFlags): Promise<void> {
  await withStore(flags, 'users', async (store, config) => {
    const users = await store.users.list();
    if (flags.json) {
      const out = users.map((u) => ({ name: u.name, createdAt: new Date(u.createdAt).toISOString(), updatedAt: new Date(u.updatedAt).toISOString() }));
      console.log(JSON.stringify(out, null, 2));
    } else {
      for (const u of users) console.log(u.name);
      if (users.length === 0) console.error(`no users in ${store.location}`);
    }
    const fromConfig = Object.keys(config.auth.users);
    if (fromConfig.length) console.error(`also defined in the config file (auth.users): ${fromConfig.join(', ')}`);
  });
}

/**
 * Ends a user's sessions and revokes their grants and tokens; says how many ("; ended 1
 * session and revoked 3 grants and tokens", or nothing), the tokens counted as `tokens list`
 * shows them (revokeTokens: the refresh grace's records go uncounted).
 */
async function endAccess(store: Store, name: string): Promise<string> {
  const sessions = await store.deleteOAuth({ accountId: name, models: ['Session'] });
  const tokens = await revokeTokens(store, { accountId: name });
  const ended = [
    sessions && `ended ${sessions} ${sessions === 1 ? 'session' : 'sessions'}`,
    tokens && `revoked ${tokens} ${tokens === 1 ? 'grant or token' : 'grants and tokens'}`,
  ].filter(Boolean);
  return ended.length ? `; ${ended.join(' and ')}` : '';
}

/** The store's rule, checked before any prompt. */
function validateNameEarly(name: string): void {
  try {
    validateUserName(name);
  } catch (err) {
    throw asCliExit(err);
  }
}

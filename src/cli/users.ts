// `gatehouse users add|list|remove|passwd`: local users in the store `serve` would use with
// the same --config / --data-dir. Removing a user or changing a password ends their sessions
// and revokes their grants and tokens (`passwd --keep-sessions` keeps them). SQLite in WAL
// mode with a busy timeout lets this run while `serve` holds the same file.
import { hashPassword } from '../crypto/index.js';
import { StoreError, validateUserName, type Store } from '../store/index.js';
import { CliExit, ExitCode } from './exit.js';
import { asCliExit, withStore, type StoreFlags } from './store-command.js';
import { revokeTokens } from './tokens.js';

export interface UsersFlags extends StoreFlags {
  passwordStdin?: boolean | undefined;
  /** `users passwd --keep-sessions`: change the password only; sign-ins made with the old one stay. */
  keepSessions?: boolean | undefined;
}

const MAX_PASSWORD = 1024;

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
      console.error(`changed the password of ${name}; kept their sessions, grants and tokens (--keep-sessions)`);
      return;
    }
    // A new password is often a reaction to a leaked one (RFC 9700 §4.14): whoever signed in with
    // the old one must not keep a browser session (it skips the login page) or a refresh token.
    // Remembered consent stays: it is the user's choice about a client, not a credential.
    console.error(`changed the password of ${name}${await endAccess(store, name)}`);
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
    console.error(`removed user ${name}${ended}`);
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

/** One line from stdin (--password-stdin), or a no-echo prompt on the terminal, asked twice. */
async function readPassword(name: string, flags: UsersFlags, confirm: boolean): Promise<string> {
  let password: string;
  if (flags.passwordStdin) {
    password = firstLine(await readAll(process.stdin));
  } else {
    if (!process.stdin.isTTY) throw new CliExit(ExitCode.Usage, 'no terminal to ask for the password on: pipe it in with --password-stdin');
    password = await promptHidden(`Password for ${name}: `);
    if (confirm && (await promptHidden('Repeat it: ')) !== password) throw new CliExit(ExitCode.Failure, 'the two passwords differ; nothing was changed');
  }
  if (password.length === 0) throw new CliExit(ExitCode.Usage, 'the password is empty; nothing was changed');
  if (password.length > MAX_PASSWORD) throw new CliExit(ExitCode.Usage, `the password is longer than ${MAX_PASSWORD} characters`);
  return password;
}

function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    chunks.push(buf);
    size += buf.length;
    // One line is all we want; stop reading early rather than buffer a huge input.
    if (buf.includes(10) || size > MAX_PASSWORD * 4) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a line from the terminal in raw mode, so nothing typed is echoed. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new CliExit(ExitCode.Failure, 'cancelled; nothing was changed'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    // Echo off before the prompt shows: whoever types as soon as they see it is not echoed.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    stdin.on('data', onData);
  });
}

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { OAuthDiscoveryState, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';

import { openKeychainKeySource, type TokenKeySource } from './keychain.js';

/** What one authorization server (by issuer) gave us for one MCP server. */
export interface IssuerRecord {
  client?: StoredOAuthClientInformation;
  tokens?: StoredOAuthTokens;
  /** When `tokens` were saved (ms since the epoch): with `expires_in`, when they expire. */
  obtainedAt?: number;
}

/** Everything kept for one MCP server URL: per-issuer clients and tokens, and discovery. */
export interface ServerRecord {
  issuers: Record<string, IssuerRecord>;
  /** The issuer whose tokens were saved last: the one the resource server gets. */
  lastIssuer?: string;
  discovery?: OAuthDiscoveryState;
  /**
   * SEP-2352: by client_id, the authorization server each pre-registered (`--client-id`)
   * client is bound to, so that a later run refuses another one before it sees the id or the
   * secret. Absent in records written before it (the next use binds).
   */
  clientIssuers?: Record<string, string>;
}

/** The loopback port of the stored dynamic registration, so that its redirect URI stays valid. */
export function registeredCallbackPort(record: ServerRecord): number | undefined {
  for (const entry of Object.values(record.issuers)) {
    const uris = (entry.client as { redirect_uris?: unknown } | undefined)?.redirect_uris;
    if (!Array.isArray(uris)) continue;
    for (const uri of uris) {
      if (typeof uri !== 'string') continue;
      const m = /^http:\/\/127\.0\.0\.1:(\d+)\/callback$/.exec(uri);
      if (m?.[1]) return Number(m[1]);
    }
  }
  return undefined;
}

/** The access token expires within a quarter of its lifetime (at most 60 s) and can be refreshed. */
export function refreshDue(entry: IssuerRecord | undefined, now = Date.now()): boolean {
  const lifetime = entry?.tokens?.expires_in;
  if (!entry?.tokens?.refresh_token || entry.obtainedAt === undefined || lifetime === undefined) return false;
  const lifetimeMs = lifetime * 1000;
  return now >= entry.obtainedAt + lifetimeMs - Math.min(60_000, lifetimeMs / 4);
}

/** Where tokens and client registrations live between runs (`--token-store`). */
export interface TokenStore {
  readonly kind: 'memory' | 'file' | 'keychain';
  read(serverUrl: string): Promise<ServerRecord | undefined>;
  write(serverUrl: string, record: ServerRecord): Promise<void>;
  /** Forgets everything about a server; true when something was there. */
  remove(serverUrl: string): Promise<boolean>;
  /**
   * Holds the login lock of a server (across processes for the file store), so that two
   * bridges starting at once do not both log in: the second waits, then reuses the tokens.
   */
  lock(serverUrl: string): Promise<() => Promise<void>>;
}

/** Nothing survives the process. */
export function createMemoryTokenStore(): TokenStore {
  const records = new Map<string, string>();
  const locks = new Map<string, Promise<void>>();
  return {
    kind: 'memory',
    read: (url) => Promise.resolve(records.has(url) ? (JSON.parse(records.get(url)!) as ServerRecord) : undefined),
    write: (url, record) => {
      records.set(url, JSON.stringify(record));
      return Promise.resolve();
    },
    remove: (url) => Promise.resolve(records.delete(url)),
    async lock(url) {
      const previous = locks.get(url) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const chained = previous.then(() => mine);
      locks.set(url, chained);
      await previous;
      return () => {
        release();
        if (locks.get(url) === chained) locks.delete(url);
        return Promise.resolve();
      };
    },
  };
}

/** `$XDG_CONFIG_HOME/gatehouse`, else `~/.config/gatehouse`. */
export function defaultConfigDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'gatehouse');
}

export interface FileTokenStoreOptions {
  /** Default: defaultConfigDir(). */
  readonly dir?: string;
  /** How long a lock held by a live process is waited for before giving up (default 10 min). */
  readonly lockTimeoutMs?: number;
  /** A lock file older than this is taken over even if its process seems alive (default 10 min). */
  readonly staleLockMs?: number;
  /** The encryption key from elsewhere (the OS keychain) instead of the `key` file. */
  readonly keySource?: TokenKeySource;
}

const FORMAT = 'gatehouse-tokens-v1';

/**
 * AES-256-GCM encrypted JSON, one file per server (`servers/<sha256(url)>.json`), mode 0600,
 * in a 0700 directory. The 32-byte key lives apart in `key` (0600), so a copy of a token file
 * alone (a backup, a support bundle) holds no usable token. With `keySource` (the OS
 * keychain) the key is never written to disk at all.
 */
export function createFileTokenStore(options: FileTokenStoreOptions = {}): TokenStore {
  const dir = options.dir ?? defaultConfigDir();
  const serversDir = join(dir, 'servers');
  const lockTimeoutMs = options.lockTimeoutMs ?? 10 * 60_000;
  const staleLockMs = options.staleLockMs ?? 10 * 60_000;
  let keyPromise: Promise<Buffer> | undefined;

  const ensureDirs = async (): Promise<void> => {
    await mkdir(serversDir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700).catch(() => undefined);
  };

  const loadKey = (): Promise<Buffer> =>
    (keyPromise ??= (async () => {
      await ensureDirs();
      if (options.keySource) return options.keySource.key();
      const file = join(dir, 'key');
      try {
        const handle = await open(file, 'wx', 0o600);
        const key = randomBytes(32);
        await handle.writeFile(key.toString('base64'));
        await handle.close();
        return key;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'base64');
      if (key.length !== 32) throw new Error(`the token key ${file} is damaged (expected 32 bytes); remove it and log in again`);
      return key;
    })());

  const idOf = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 32);
  const fileOf = (url: string): string => join(serversDir, `${idOf(url)}.json`);

  return {
    kind: options.keySource ? 'keychain' : 'file',
    async read(url) {
      let raw: string;
      try {
        raw = await readFile(fileOf(url), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      const envelope = JSON.parse(raw) as { format?: string; iv: string; tag: string; data: string };
      if (envelope.format !== FORMAT) throw new Error(`${fileOf(url)} is not a Gatehouse token file`);
      const decipher = createDecipheriv('aes-256-gcm', await loadKey(), Buffer.from(envelope.iv, 'base64'));
      decipher.setAAD(Buffer.from(url));
      decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'));
      try {
        const plain = Buffer.concat([decipher.update(Buffer.from(envelope.data, 'base64')), decipher.final()]);
        return JSON.parse(plain.toString('utf8')) as ServerRecord;
      } catch {
        // A different key or a tampered file: treat as absent, a new login replaces it.
        return undefined;
      }
    },
    async write(url, record) {
      const key = await loadKey();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(url));
      const data = Buffer.concat([cipher.update(JSON.stringify(record), 'utf8'), cipher.final()]);
      const envelope = { format: FORMAT, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
      const target = fileOf(url);
      const temp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(temp, JSON.stringify(envelope), { mode: 0o600 });
      await rename(temp, target);
    },
    async remove(url) {
      try {
        await unlink(fileOf(url));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
    },
    async lock(url) {
      await ensureDirs();
      const file = join(serversDir, `${idOf(url)}.lock`);
      const deadline = Date.now() + lockTimeoutMs;
      for (;;) {
        try {
          const handle = await open(file, 'wx', 0o600);
          await handle.writeFile(JSON.stringify({ pid: process.pid, at: Date.now() }));
          await handle.close();
          return () => rm(file, { force: true });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        if (await isStale(file, staleLockMs)) {
          await rm(file, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new Error(`another gatehouse process holds the login lock ${file}; remove it if no login is running`);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    },
  };
}

/** A lock whose process is gone, or that is older than `staleMs`. */
async function isStale(file: string, staleMs: number): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    if (Date.now() - info.mtimeMs > staleMs) return true;
    const pid = (JSON.parse(text) as { pid?: unknown }).pid;
    if (typeof pid !== 'number') return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    // Being written right now (empty or partial), or already gone: not stale.
    return false;
  }
}

/**
 * `--token-store`: memory, the encrypted file, or (keychain, the default) the encrypted file
 * with its key in the OS keychain. When the keychain cannot be used, the file store with its
 * `key` file is used instead, and `onFallback` says why (the caller logs it).
 */
export async function openTokenStore(
  kind: 'keychain' | 'file' | 'memory',
  options: FileTokenStoreOptions & { readonly onFallback?: (reason: string) => void; readonly keychain?: () => ReturnType<typeof openKeychainKeySource> } = {},
): Promise<TokenStore> {
  if (kind === 'memory') return createMemoryTokenStore();
  if (kind === 'file') return createFileTokenStore(options);
  const opened = await (options.keychain ?? openKeychainKeySource)();
  if ('source' in opened) return createFileTokenStore({ ...options, keySource: opened.source });
  options.onFallback?.(opened.unavailable);
  return createFileTokenStore(options);
}

/**
 * The token store of `kind` for a look at one record only (what a run that stores nothing,
 * client_credentials, needs of it: a kept binding). The keychain (and its fallback, the key
 * file) is opened only when a record is there to decrypt, so that a run with nothing stored
 * creates no key anywhere.
 */
export function openTokenStoreForReading(
  kind: 'keychain' | 'file' | 'memory',
  options: Parameters<typeof openTokenStore>[1] = {},
): Pick<TokenStore, 'read'> {
  if (kind === 'memory') return createMemoryTokenStore();
  const noKey = new Error('no key asked for yet');
  const probe = createFileTokenStore({ ...options, keySource: { description: 'none yet', key: () => Promise.reject(noKey) } });
  return {
    async read(url) {
      try {
        return await probe.read(url);
      } catch (error) {
        if (error !== noKey) throw error;
        return (await openTokenStore(kind, options)).read(url);
      }
    },
  };
}

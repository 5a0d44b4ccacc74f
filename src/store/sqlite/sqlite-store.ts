// `store: sqlite`: one file in dataDir, WAL so that `gatehouse users ...` can write while
// `serve` runs (the busy timeout waits out the other writer instead of failing).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  StoreError,
  type KeyValueStore,
  type LocalUser,
  type OAuthAdapter,
  type OAuthFilter,
  type OAuthPayload,
  type OAuthRecordInfo,
  type Store,
  type UserStore,
} from '../contract.js';
import {
  checkKv,
  checkModel,
  checkTtl,
  decodeRecord,
  encodeRecord,
  recordKey,
  userCodeKey,
  validatePasswordHash,
  validateUserName,
} from '../codec.js';
import { SWEEP_EVERY_WRITES, startSweeper, type StoreOptions } from '../options.js';
import { INFO_COLUMNS, MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE, filterClause, toInfo, type InfoRow } from '../schema.js';

export const SQLITE_FILE = 'gatehouse.db';
const BUSY_TIMEOUT_MS = 5000;

export interface SqliteStoreOptions extends StoreOptions {
  /** The directory that holds `gatehouse.db` (created 0700 when missing). */
  readonly dataDir: string;
}

interface UserRow {
  name: string;
  password_hash: string;
  created_at: number;
  updated_at: number;
}

type Db = Database.Database;

/** Opens (creating and migrating when needed) `dataDir/gatehouse.db`. */
export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  if (!existsSync(options.dataDir)) mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = join(options.dataDir, SQLITE_FILE);
  // Create the file ourselves so that it is never readable by others, not even for a moment.
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  else chmodSync(file, 0o600);
  let db: Db;
  try {
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError('unavailable', `cannot open the SQLite store ${file}: ${(err as Error).message}`, { cause: err });
  }
  return new SqliteStore(db, file, options);
}

function migrate(db: Db): void {
  db.exec(VERSION_TABLE('sqlite'));
  // IMMEDIATE: two processes starting at once take turns instead of both migrating.
  db.transaction(() => {
    const current = (db.prepare('SELECT MAX(version) AS v FROM gatehouse_schema_version').get() as { v: number | null }).v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError('schema-too-new', `the database has schema version ${current}; this Gatehouse knows up to ${SCHEMA_VERSION}: upgrade Gatehouse`);
    }
    const record = db.prepare('INSERT INTO gatehouse_schema_version (version, applied_at) VALUES (?, ?)');
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      for (const sql of MIGRATIONS[v - 1]!('sqlite')) db.exec(sql);
      record.run(v, Date.now());
    }
  }).immediate();
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly users: UserStore;
  readonly kv: KeyValueStore;
  readonly #db: Db;
  readonly #now: () => number;
  readonly #stopSweeper: () => void;
  readonly #s;
  #writes = 0;

  constructor(db: Db, file: string, options: StoreOptions) {
    this.#db = db;
    this.location = `sqlite ${file}`;
    this.#now = options.now ?? Date.now;
    this.#s = prepare(db);
    this.users = this.#userStore();
    this.kv = this.#kvStore();
    this.#stopSweeper = startSweeper(() => this.sweep(), options);
  }

  /** The file's schema version (tests, diagnostics). */
  schemaVersion(): number {
    return (this.#db.prepare('SELECT MAX(version) AS v FROM gatehouse_schema_version').get() as { v: number }).v;
  }

  oauthAdapter(model: string): OAuthAdapter {
    checkModel(model);
    const s = this.#s;
    const now = () => this.#now();
    const found = (row: { payload: string; consumed_at: number | null; expires_at: number | null; key: string } | undefined, by: { id: string } | { userCode: string }) => {
      if (!row) return undefined;
      if (row.expires_at !== null && row.expires_at <= now()) {
        s.deleteRecord.run(model, row.key);
        return undefined;
      }
      return decodeRecord(model, row.payload, row.consumed_at, by);
    };
    return {
      upsert: async (id: string, payload: OAuthPayload, expiresIn?: number) => {
        this.#open();
        const r = encodeRecord(model, id, payload, expiresIn, now());
        s.upsert.run(r.model, r.key, r.payload, r.grantId, r.userCode, r.uid, r.accountId, r.clientId, r.createdAt, r.expiresAt);
        await this.#wrote();
      },
      insertIfAbsent: async (id: string, payload: OAuthPayload, expiresIn?: number) => {
        this.#open();
        const r = encodeRecord(model, id, payload, expiresIn, now());
        // IMMEDIATE: another process on the file waits for the write lock, then sees this row.
        const row = this.#db.transaction(() => {
          const inserted = s.insertIfAbsent.run(r.model, r.key, r.payload, r.grantId, r.userCode, r.uid, r.accountId, r.clientId, r.createdAt, r.expiresAt, r.createdAt).changes > 0;
          return { inserted, kept: s.find.get(model, r.key) as RecordRow };
        }).immediate();
        if (row.inserted) await this.#wrote();
        return { inserted: row.inserted, payload: decodeRecord(model, row.kept.payload, row.kept.consumed_at, { id }) };
      },
      find: async (id: string) => {
        this.#open();
        const key = recordKey(model, id);
        return Promise.resolve(found(s.find.get(model, key) as RecordRow | undefined, { id }));
      },
      findByUserCode: async (userCode: string) => {
        this.#open();
        return Promise.resolve(found(s.findByUserCode.get(model, userCodeKey(userCode), now()) as RecordRow | undefined, { userCode }));
      },
      findByUid: async (uid: string) => {
        this.#open();
        const row = s.findByUid.get(model, uid, now()) as RecordRow | undefined;
        // Session ids are stored as they are (codec.ts), so the key is the id.
        return Promise.resolve(row ? found(row, { id: row.key }) : undefined);
      },
      consume: async (id: string) => {
        this.#open();
        s.consume.run(now(), model, recordKey(model, id));
        return Promise.resolve();
      },
      destroy: async (id: string) => {
        this.#open();
        s.deleteRecord.run(model, recordKey(model, id));
        return Promise.resolve();
      },
      revokeByGrantId: async (grantId: string) => {
        this.#open();
        s.revokeByGrantId.run(model, grantId);
        return Promise.resolve();
      },
    };
  }

  async listOAuth(filter: OAuthFilter = {}): Promise<OAuthRecordInfo[]> {
    this.#open();
    const { where, params } = filterClause(filter, () => '?');
    const live = `${where ? `${where} AND` : 'WHERE'} (expires_at IS NULL OR expires_at > ?)`;
    const rows = this.#db.prepare(`SELECT ${INFO_COLUMNS} FROM gatehouse_oauth_records ${live} ORDER BY created_at, model`).all(...params, this.#now()) as InfoRow[];
    return Promise.resolve(rows.map(toInfo));
  }

  async deleteOAuth(filter: OAuthFilter): Promise<number> {
    this.#open();
    const { where, params } = filterClause(filter, () => '?');
    return Promise.resolve(this.#db.prepare(`DELETE FROM gatehouse_oauth_records ${where}`).run(...params).changes);
  }

  async sweep(): Promise<number> {
    if (!this.#db.open) return 0;
    const t = this.#now();
    const n = this.#db.transaction(() => this.#s.sweepRecords.run(t).changes + this.#s.sweepKv.run(t).changes)();
    return Promise.resolve(n);
  }

  async close(): Promise<void> {
    this.#stopSweeper();
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }

  #open(): void {
    if (!this.#db.open) throw new StoreError('closed', 'the store is closed');
  }

  async #wrote(): Promise<void> {
    if (++this.#writes % SWEEP_EVERY_WRITES === 0) await this.sweep();
  }

  #userStore(): UserStore {
    const s = this.#s;
    const now = () => this.#now();
    const open = () => this.#open();
    return {
      async add(name, passwordHash) {
        open();
        validateUserName(name);
        validatePasswordHash(passwordHash);
        const t = now();
        if (s.addUser.run(name, passwordHash, t, t).changes === 0) throw new StoreError('user-exists', `a user named ${name} already exists`);
        return Promise.resolve({ name, passwordHash, createdAt: t, updatedAt: t });
      },
      async get(name) {
        open();
        const row = s.getUser.get(validateUserName(name)) as UserRow | undefined;
        return Promise.resolve(row ? toUser(row) : undefined);
      },
      async list() {
        open();
        return Promise.resolve((s.listUsers.all() as UserRow[]).map(toUser));
      },
      async remove(name) {
        open();
        if (s.removeUser.run(validateUserName(name)).changes === 0) throw new StoreError('no-such-user', `no user named ${name}`);
        return Promise.resolve();
      },
      async setPassword(name, passwordHash) {
        open();
        validateUserName(name);
        validatePasswordHash(passwordHash);
        if (s.setPassword.run(passwordHash, now(), name).changes === 0) throw new StoreError('no-such-user', `no user named ${name}`);
        return Promise.resolve();
      },
    };
  }

  #kvStore(): KeyValueStore {
    const s = this.#s;
    const now = () => this.#now();
    const open = () => this.#open();
    return {
      async get(namespace, key) {
        open();
        checkKv(namespace, key);
        const row = s.kvGet.get(namespace, key, now()) as { value: string } | undefined;
        return Promise.resolve(row?.value);
      },
      async set(namespace, key, value, ttlMs) {
        open();
        checkKv(namespace, key);
        checkTtl(ttlMs);
        if (typeof value !== 'string') throw new StoreError('invalid-input', 'kv values are strings');
        s.kvSet.run(namespace, key, value, ttlMs ? now() + ttlMs : null);
        return Promise.resolve();
      },
      async delete(namespace, key) {
        open();
        checkKv(namespace, key);
        s.kvDelete.run(namespace, key);
        return Promise.resolve();
      },
      async increment(namespace, key, ttlMs) {
        open();
        checkKv(namespace, key);
        checkTtl(ttlMs);
        const t = now();
        const row = s.kvIncrement.get(namespace, key, t + ttlMs, t, t) as { value: string };
        return Promise.resolve(Number(row.value));
      },
    };
  }
}

interface RecordRow {
  key: string;
  payload: string;
  consumed_at: number | null;
  expires_at: number | null;
}

function prepare(db: Db) {
  const live = '(expires_at IS NULL OR expires_at > ?)';
  return {
    upsert: db.prepare(
      `INSERT INTO gatehouse_oauth_records (model, key, payload, grant_id, user_code, uid, account_id, client_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, key) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id,
         client_id = excluded.client_id, expires_at = excluded.expires_at`,
    ),
    // Inserts, or replaces an expired row; leaves a live one as it is (0 changes).
    insertIfAbsent: db.prepare(
      `INSERT INTO gatehouse_oauth_records (model, key, payload, grant_id, user_code, uid, account_id, client_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (model, key) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id, client_id = excluded.client_id,
         created_at = excluded.created_at, expires_at = excluded.expires_at, consumed_at = NULL
       WHERE gatehouse_oauth_records.expires_at IS NOT NULL AND gatehouse_oauth_records.expires_at <= ?`,
    ),
    find: db.prepare('SELECT key, payload, consumed_at, expires_at FROM gatehouse_oauth_records WHERE model = ? AND key = ?'),
    findByUserCode: db.prepare(`SELECT key, payload, consumed_at, expires_at FROM gatehouse_oauth_records WHERE model = ? AND user_code = ? AND ${live} LIMIT 1`),
    findByUid: db.prepare(`SELECT key, payload, consumed_at, expires_at FROM gatehouse_oauth_records WHERE model = ? AND uid = ? AND ${live} LIMIT 1`),
    consume: db.prepare('UPDATE gatehouse_oauth_records SET consumed_at = COALESCE(consumed_at, ?) WHERE model = ? AND key = ?'),
    deleteRecord: db.prepare('DELETE FROM gatehouse_oauth_records WHERE model = ? AND key = ?'),
    revokeByGrantId: db.prepare('DELETE FROM gatehouse_oauth_records WHERE model = ? AND grant_id = ?'),
    sweepRecords: db.prepare('DELETE FROM gatehouse_oauth_records WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    sweepKv: db.prepare('DELETE FROM gatehouse_kv WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    addUser: db.prepare('INSERT INTO gatehouse_users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING'),
    getUser: db.prepare('SELECT name, password_hash, created_at, updated_at FROM gatehouse_users WHERE name = ?'),
    listUsers: db.prepare('SELECT name, password_hash, created_at, updated_at FROM gatehouse_users ORDER BY name'),
    removeUser: db.prepare('DELETE FROM gatehouse_users WHERE name = ?'),
    setPassword: db.prepare('UPDATE gatehouse_users SET password_hash = ?, updated_at = ? WHERE name = ?'),
    kvGet: db.prepare(`SELECT value FROM gatehouse_kv WHERE namespace = ? AND key = ? AND ${live}`),
    kvSet: db.prepare(
      'INSERT INTO gatehouse_kv (namespace, key, value, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at',
    ),
    kvDelete: db.prepare('DELETE FROM gatehouse_kv WHERE namespace = ? AND key = ?'),
    // Every SET expression sees the old row, so both CASEs agree on "expired".
    kvIncrement: db.prepare(
      `INSERT INTO gatehouse_kv (namespace, key, value, expires_at) VALUES (?, ?, '1', ?)
       ON CONFLICT (namespace, key) DO UPDATE SET
         value = CASE WHEN gatehouse_kv.expires_at IS NOT NULL AND gatehouse_kv.expires_at <= ? THEN '1'
                      ELSE CAST(CAST(gatehouse_kv.value AS INTEGER) + 1 AS TEXT) END,
         expires_at = CASE WHEN gatehouse_kv.expires_at IS NOT NULL AND gatehouse_kv.expires_at <= ? THEN excluded.expires_at
                      ELSE gatehouse_kv.expires_at END
       RETURNING value`,
    ),
  };
}

function toUser(r: UserRow): LocalUser {
  return { name: r.name, passwordHash: r.password_hash, createdAt: r.created_at, updatedAt: r.updated_at };
}

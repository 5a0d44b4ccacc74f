// `store: postgres://...`: the shared store for several gateway instances. Same tables and
// rules as SQLite; every statement is a single round trip, migrations run under an
// advisory lock so that instances starting together take turns.
import pg from 'pg';
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
import { INFO_COLUMNS, MIGRATIONS, SCHEMA_VERSION, VERSION_TABLE, filterClause, num, toInfo, type InfoRow } from '../schema.js';

export interface PostgresStoreOptions extends StoreOptions {
  /** `postgres://user:pass@host:5432/db` (or `postgresql://`). */
  readonly url: string;
  /** Pool size; default 10. */
  readonly maxConnections?: number;
}

// An arbitrary constant: the key of the advisory lock held while migrating.
const MIGRATION_LOCK = 0x6761_7465;

/** The URL without its password, for messages and logs. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres (unparseable URL)';
  }
}

/** Connects, checks the server answers, and migrates. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const where = describePostgresUrl(options.url);
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10, connectionTimeoutMillis: 10_000 });
  // An idle connection that breaks (server restart) must not crash the process; the pool replaces it.
  pool.on('error', (err) => options.logger?.warn({ err: err.message }, 'store: idle PostgreSQL connection failed'));
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof StoreError) throw err;
    throw new StoreError('unavailable', `cannot use the PostgreSQL store ${where}: ${(err as Error).message}`, { cause: err });
  }
  return new PostgresStore(pool, where, options);
}

async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(VERSION_TABLE('postgres'));
    const { rows } = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM gatehouse_schema_version');
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError('schema-too-new', `the database has schema version ${current}; this Gatehouse knows up to ${SCHEMA_VERSION}: upgrade Gatehouse`);
    }
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      for (const sql of MIGRATIONS[v - 1]!('postgres')) await client.query(sql);
      await client.query('INSERT INTO gatehouse_schema_version (version, applied_at) VALUES ($1, $2)', [v, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

interface RecordRow {
  key: string;
  payload: string;
  consumed_at: string | null;
  expires_at: string | null;
}

interface UserRow {
  name: string;
  password_hash: string;
  created_at: string;
  updated_at: string;
}

const RECORD = 'SELECT key, payload, consumed_at, expires_at FROM gatehouse_oauth_records';
const LIVE = '(expires_at IS NULL OR expires_at > $3)';

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly users: UserStore;
  readonly kv: KeyValueStore;
  readonly #pool: pg.Pool;
  readonly #now: () => number;
  readonly #stopSweeper: () => void;
  #writes = 0;
  #closed = false;

  constructor(pool: pg.Pool, where: string, options: StoreOptions) {
    this.#pool = pool;
    this.location = `postgres ${where}`;
    this.#now = options.now ?? Date.now;
    this.users = this.#userStore();
    this.kv = this.#kvStore();
    this.#stopSweeper = startSweeper(() => this.sweep(), options);
  }

  async #q<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    if (this.#closed) throw new StoreError('closed', 'the store is closed');
    return this.#pool.query<R>(sql, params);
  }

  oauthAdapter(model: string): OAuthAdapter {
    checkModel(model);
    const now = () => this.#now();
    const found = async (row: RecordRow | undefined, by: { id: string } | { userCode: string }) => {
      if (!row) return undefined;
      if (row.expires_at !== null && Number(row.expires_at) <= now()) {
        await this.#q('DELETE FROM gatehouse_oauth_records WHERE model = $1 AND key = $2', [model, row.key]);
        return undefined;
      }
      return decodeRecord(model, row.payload, num(row.consumed_at) ?? null, by);
    };
    return {
      upsert: async (id: string, payload: OAuthPayload, expiresIn?: number) => {
        const r = encodeRecord(model, id, payload, expiresIn, now());
        await this.#q(
          `INSERT INTO gatehouse_oauth_records (model, key, payload, grant_id, user_code, uid, account_id, client_id, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (model, key) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
             user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, account_id = EXCLUDED.account_id,
             client_id = EXCLUDED.client_id, expires_at = EXCLUDED.expires_at`,
          [r.model, r.key, r.payload, r.grantId, r.userCode, r.uid, r.accountId, r.clientId, r.createdAt, r.expiresAt],
        );
        await this.#wrote();
      },
      insertIfAbsent: async (id: string, payload: OAuthPayload, expiresIn?: number) => {
        // ON CONFLICT makes a concurrent insert of the same key wait for the first to commit and then
        // see its row; the WHERE lets only an expired row be replaced. The row kept is read by a second
        // statement (a fresh snapshot: the first one's may predate the winner's commit), judged live at
        // the instant the INSERT used ($9, its created_at): a row the INSERT declined as live is found
        // even if it has expired since. Should it be gone all the same (destroyed, or swept), try again,
        // encoded anew at the current instant.
        for (let attempt = 0; attempt < 3; attempt++) {
          const r = encodeRecord(model, id, payload, expiresIn, now());
          const { rowCount } = await this.#q(
            `INSERT INTO gatehouse_oauth_records (model, key, payload, grant_id, user_code, uid, account_id, client_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (model, key) DO UPDATE SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id,
               user_code = EXCLUDED.user_code, uid = EXCLUDED.uid, account_id = EXCLUDED.account_id, client_id = EXCLUDED.client_id,
               created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at, consumed_at = NULL
             WHERE gatehouse_oauth_records.expires_at IS NOT NULL AND gatehouse_oauth_records.expires_at <= $9`,
            [r.model, r.key, r.payload, r.grantId, r.userCode, r.uid, r.accountId, r.clientId, r.createdAt, r.expiresAt],
          );
          if (rowCount) {
            await this.#wrote();
            return { inserted: true, payload: decodeRecord(model, r.payload, null, { id }) };
          }
          const { rows } = await this.#q<RecordRow>(`${RECORD} WHERE model = $1 AND key = $2 AND ${LIVE}`, [model, r.key, r.createdAt]);
          const kept = rows[0];
          if (kept) return { inserted: false, payload: decodeRecord(model, kept.payload, num(kept.consumed_at) ?? null, { id }) };
        }
        throw new StoreError('unavailable', `${model}: a record kept appearing and expiring while inserting it`);
      },
      find: async (id: string) => {
        const { rows } = await this.#q<RecordRow>(`${RECORD} WHERE model = $1 AND key = $2`, [model, recordKey(model, id)]);
        return found(rows[0], { id });
      },
      findByUserCode: async (userCode: string) => {
        const { rows } = await this.#q<RecordRow>(`${RECORD} WHERE model = $1 AND user_code = $2 AND ${LIVE} LIMIT 1`, [model, userCodeKey(userCode), now()]);
        return found(rows[0], { userCode });
      },
      findByUid: async (uid: string) => {
        const { rows } = await this.#q<RecordRow>(`${RECORD} WHERE model = $1 AND uid = $2 AND ${LIVE} LIMIT 1`, [model, uid, now()]);
        // Session ids are stored as they are (codec.ts), so the key is the id.
        return rows[0] ? found(rows[0], { id: rows[0].key }) : undefined;
      },
      consume: async (id: string) => {
        await this.#q('UPDATE gatehouse_oauth_records SET consumed_at = COALESCE(consumed_at, $1) WHERE model = $2 AND key = $3', [now(), model, recordKey(model, id)]);
      },
      destroy: async (id: string) => {
        await this.#q('DELETE FROM gatehouse_oauth_records WHERE model = $1 AND key = $2', [model, recordKey(model, id)]);
      },
      revokeByGrantId: async (grantId: string) => {
        await this.#q('DELETE FROM gatehouse_oauth_records WHERE model = $1 AND grant_id = $2', [model, grantId]);
      },
    };
  }

  async listOAuth(filter: OAuthFilter = {}): Promise<OAuthRecordInfo[]> {
    const { where, params } = filterClause(filter, (i) => `$${i}`);
    params.push(this.#now());
    const live = `${where ? `${where} AND` : 'WHERE'} (expires_at IS NULL OR expires_at > $${params.length})`;
    const { rows } = await this.#q<InfoRow>(`SELECT ${INFO_COLUMNS} FROM gatehouse_oauth_records ${live} ORDER BY created_at, model`, params);
    return rows.map(toInfo);
  }

  async deleteOAuth(filter: OAuthFilter): Promise<number> {
    const { where, params } = filterClause(filter, (i) => `$${i}`);
    const { rowCount } = await this.#q(`DELETE FROM gatehouse_oauth_records ${where}`, params);
    return rowCount ?? 0;
  }

  async sweep(): Promise<number> {
    if (this.#closed) return 0;
    const t = this.#now();
    const a = await this.#q('DELETE FROM gatehouse_oauth_records WHERE expires_at IS NOT NULL AND expires_at <= $1', [t]);
    const b = await this.#q('DELETE FROM gatehouse_kv WHERE expires_at IS NOT NULL AND expires_at <= $1', [t]);
    return (a.rowCount ?? 0) + (b.rowCount ?? 0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSweeper();
    await this.#pool.end();
  }

  async #wrote(): Promise<void> {
    if (++this.#writes % SWEEP_EVERY_WRITES === 0) await this.sweep();
  }

  #userStore(): UserStore {
    const q = <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => this.#q<R>(sql, params);
    const now = () => this.#now();
    const COLUMNS = 'name, password_hash, created_at, updated_at';
    return {
      async add(name, passwordHash) {
        validateUserName(name);
        validatePasswordHash(passwordHash);
        const t = now();
        const { rowCount } = await q(
          'INSERT INTO gatehouse_users (name, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $3) ON CONFLICT (name) DO NOTHING',
          [name, passwordHash, t],
        );
        if (!rowCount) throw new StoreError('user-exists', `a user named ${name} already exists`);
        return { name, passwordHash, createdAt: t, updatedAt: t };
      },
      async get(name) {
        const { rows } = await q<UserRow>(`SELECT ${COLUMNS} FROM gatehouse_users WHERE name = $1`, [validateUserName(name)]);
        return rows[0] ? toUser(rows[0]) : undefined;
      },
      async list() {
        // COLLATE "C": the same byte order as SQLite and the memory store, whatever the database's locale.
        const { rows } = await q<UserRow>(`SELECT ${COLUMNS} FROM gatehouse_users ORDER BY name COLLATE "C"`, []);
        return rows.map(toUser);
      },
      async remove(name) {
        const { rowCount } = await q('DELETE FROM gatehouse_users WHERE name = $1', [validateUserName(name)]);
        if (!rowCount) throw new StoreError('no-such-user', `no user named ${name}`);
      },
      async setPassword(name, passwordHash) {
        validateUserName(name);
        validatePasswordHash(passwordHash);
        const { rowCount } = await q('UPDATE gatehouse_users SET password_hash = $1, updated_at = $2 WHERE name = $3', [passwordHash, now(), name]);
        if (!rowCount) throw new StoreError('no-such-user', `no user named ${name}`);
      },
    };
  }

  #kvStore(): KeyValueStore {
    const q = <R extends pg.QueryResultRow>(sql: string, params: unknown[]) => this.#q<R>(sql, params);
    const now = () => this.#now();
    return {
      async get(namespace, key) {
        checkKv(namespace, key);
        const { rows } = await q<{ value: string }>(`SELECT value FROM gatehouse_kv WHERE namespace = $1 AND key = $2 AND ${LIVE}`, [namespace, key, now()]);
        return rows[0]?.value;
      },
      async set(namespace, key, value, ttlMs) {
        checkKv(namespace, key);
        checkTtl(ttlMs);
        if (typeof value !== 'string') throw new StoreError('invalid-input', 'kv values are strings');
        await q(
          'INSERT INTO gatehouse_kv (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at',
          [namespace, key, value, ttlMs ? now() + ttlMs : null],
        );
      },
      async delete(namespace, key) {
        checkKv(namespace, key);
        await q('DELETE FROM gatehouse_kv WHERE namespace = $1 AND key = $2', [namespace, key]);
      },
      async increment(namespace, key, ttlMs) {
        checkKv(namespace, key);
        checkTtl(ttlMs);
        const t = now();
        // Every SET expression sees the old row, so both CASEs agree on "expired".
        const { rows } = await q<{ value: string }>(
          `INSERT INTO gatehouse_kv (namespace, key, value, expires_at) VALUES ($1, $2, '1', $3)
           ON CONFLICT (namespace, key) DO UPDATE SET
             value = CASE WHEN gatehouse_kv.expires_at IS NOT NULL AND gatehouse_kv.expires_at <= $4 THEN '1'
                          ELSE (gatehouse_kv.value::bigint + 1)::text END,
             expires_at = CASE WHEN gatehouse_kv.expires_at IS NOT NULL AND gatehouse_kv.expires_at <= $4 THEN EXCLUDED.expires_at
                          ELSE gatehouse_kv.expires_at END
           RETURNING value`,
          [namespace, key, t + ttlMs, t],
        );
        return Number(rows[0]!.value);
      },
    };
  }
}

function toUser(r: UserRow): LocalUser {
  return { name: r.name, passwordHash: r.password_hash, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) };
}

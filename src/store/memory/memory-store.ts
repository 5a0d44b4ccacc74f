// `store: memory`: nothing is kept past the process, for throwaway runs and tests. Records
// go through the same codec as the SQL stores, so hashing and expiry behave the same.
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
  type EncodedRecord,
} from '../codec.js';
import { SWEEP_EVERY_WRITES, startSweeper, type StoreOptions } from '../options.js';

interface Row extends EncodedRecord {
  consumedAt: number | null;
}

interface KvRow {
  value: string;
  expiresAt: number | null;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly location = 'memory (nothing kept)';
  readonly users: UserStore;
  readonly kv: KeyValueStore;
  readonly #records = new Map<string, Row>();
  readonly #users = new Map<string, LocalUser>();
  readonly #kv = new Map<string, KvRow>();
  readonly #now: () => number;
  readonly #stopSweeper: () => void;
  #writes = 0;
  #closed = false;

  constructor(options: StoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.users = this.#userStore();
    this.kv = this.#kvStore();
    this.#stopSweeper = startSweeper(() => this.sweep(), options);
  }

  oauthAdapter(model: string): OAuthAdapter {
    checkModel(model);
    const k = (key: string) => `${model}\u0000${key}`;
    const live = (key: string): Row | undefined => {
      this.#open();
      const row = this.#records.get(k(key));
      if (row && row.expiresAt !== null && row.expiresAt <= this.#now()) {
        this.#records.delete(k(key));
        return undefined;
      }
      return row;
    };
    const findBy = (pick: (r: Row) => boolean): Row | undefined => {
      for (const row of this.#records.values()) if (row.model === model && pick(row) && live(row.key)) return row;
      return undefined;
    };
    return {
      upsert: async (id: string, payload: OAuthPayload, expiresIn?: number) => {
        this.#open();
        const rec = encodeRecord(model, id, payload, expiresIn, this.#now());
        const prev = this.#records.get(k(rec.key));
        this.#records.set(k(rec.key), { ...rec, createdAt: prev?.createdAt ?? rec.createdAt, consumedAt: prev?.consumedAt ?? null });
        await this.#wrote();
      },
      insertIfAbsent: async (id: string, payload: OAuthPayload, expiresIn?: number) => {
        const there = live(recordKey(model, id));
        if (there) return { inserted: false, payload: decodeRecord(model, there.payload, there.consumedAt, { id }) };
        const rec = encodeRecord(model, id, payload, expiresIn, this.#now());
        this.#records.set(k(rec.key), { ...rec, consumedAt: null });
        await this.#wrote();
        return { inserted: true, payload: decodeRecord(model, rec.payload, null, { id }) };
      },
      find: async (id: string) => {
        const row = live(recordKey(model, id));
        return Promise.resolve(row ? decodeRecord(model, row.payload, row.consumedAt, { id }) : undefined);
      },
      findByUserCode: async (userCode: string) => {
        const hashed = userCodeKey(userCode);
        const row = findBy((r) => r.userCode === hashed);
        return Promise.resolve(row ? decodeRecord(model, row.payload, row.consumedAt, { userCode }) : undefined);
      },
      findByUid: async (uid: string) => {
        const row = findBy((r) => r.uid === uid);
        // Session ids are stored as they are (codec.ts), so the key is the id.
        return Promise.resolve(row ? decodeRecord(model, row.payload, row.consumedAt, { id: row.key }) : undefined);
      },
      consume: async (id: string) => {
        const row = live(recordKey(model, id));
        if (row) row.consumedAt ??= this.#now();
        return Promise.resolve();
      },
      destroy: async (id: string) => {
        this.#open();
        this.#records.delete(k(recordKey(model, id)));
        return Promise.resolve();
      },
      revokeByGrantId: async (grantId: string) => {
        this.#open();
        for (const [key, row] of this.#records) if (row.model === model && row.grantId === grantId) this.#records.delete(key);
        return Promise.resolve();
      },
    };
  }

  async listOAuth(filter: OAuthFilter = {}): Promise<OAuthRecordInfo[]> {
    this.#open();
    const now = this.#now();
    return Promise.resolve(
      [...this.#records.values()]
        .filter((r) => matches(r, filter) && (r.expiresAt === null || r.expiresAt > now))
        .sort((a, b) => a.createdAt - b.createdAt || a.model.localeCompare(b.model))
        .map(info),
    );
  }

  async deleteOAuth(filter: OAuthFilter): Promise<number> {
    this.#open();
    let n = 0;
    for (const [key, row] of this.#records) {
      if (matches(row, filter)) {
        this.#records.delete(key);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  async sweep(): Promise<number> {
    if (this.#closed) return 0;
    const now = this.#now();
    let n = 0;
    for (const map of [this.#records, this.#kv] as Map<string, { expiresAt: number | null }>[]) {
      for (const [key, row] of map) {
        if (row.expiresAt !== null && row.expiresAt <= now) {
          map.delete(key);
          n++;
        }
      }
    }
    return Promise.resolve(n);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopSweeper();
    return Promise.resolve();
  }

  #open(): void {
    if (this.#closed) throw new StoreError('closed', 'the store is closed');
  }

  async #wrote(): Promise<void> {
    if (++this.#writes % SWEEP_EVERY_WRITES === 0) await this.sweep();
  }

  #userStore(): UserStore {
    const users = this.#users;
    const now = () => this.#now();
    const open = () => this.#open();
    const existing = (name: string): LocalUser => {
      const u = users.get(validateUserName(name));
      if (!u) throw new StoreError('no-such-user', `no user named ${name}`);
      return u;
    };
    return {
      async add(name, passwordHash) {
        open();
        validateUserName(name);
        validatePasswordHash(passwordHash);
        if (users.has(name)) throw new StoreError('user-exists', `a user named ${name} already exists`);
        const t = now();
        const user = { name, passwordHash, createdAt: t, updatedAt: t };
        users.set(name, user);
        return Promise.resolve(user);
      },
      async get(name) {
        open();
        return Promise.resolve(users.get(validateUserName(name)));
      },
      async list() {
        open();
        return Promise.resolve([...users.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
      },
      async remove(name) {
        open();
        existing(name);
        users.delete(name);
        return Promise.resolve();
      },
      async setPassword(name, passwordHash) {
        open();
        validatePasswordHash(passwordHash);
        const u = existing(name);
        users.set(name, { ...u, passwordHash, updatedAt: now() });
        return Promise.resolve();
      },
    };
  }

  #kvStore(): KeyValueStore {
    const map = this.#kv;
    const now = () => this.#now();
    const open = () => this.#open();
    const live = (k: string): KvRow | undefined => {
      const row = map.get(k);
      if (row && row.expiresAt !== null && row.expiresAt <= now()) {
        map.delete(k);
        return undefined;
      }
      return row;
    };
    return {
      async get(namespace, key) {
        open();
        checkKv(namespace, key);
        return Promise.resolve(live(`${namespace}\u0000${key}`)?.value);
      },
      async set(namespace, key, value, ttlMs) {
        open();
        checkKv(namespace, key);
        checkTtl(ttlMs);
        if (typeof value !== 'string') throw new StoreError('invalid-input', 'kv values are strings');
        map.set(`${namespace}\u0000${key}`, { value, expiresAt: ttlMs ? now() + ttlMs : null });
        return Promise.resolve();
      },
      async delete(namespace, key) {
        open();
        checkKv(namespace, key);
        map.delete(`${namespace}\u0000${key}`);
        return Promise.resolve();
      },
      async increment(namespace, key, ttlMs) {
        open();
        checkKv(namespace, key);
        checkTtl(ttlMs);
        const k = `${namespace}\u0000${key}`;
        const row = live(k);
        const count = row ? Number(row.value) + 1 : 1;
        map.set(k, { value: String(count), expiresAt: row ? row.expiresAt : now() + ttlMs });
        return Promise.resolve(count);
      },
    };
  }
}

function matches(r: Row, f: OAuthFilter): boolean {
  return (
    (!f.models || f.models.includes(r.model)) &&
    (f.accountId === undefined || r.accountId === f.accountId) &&
    (f.clientId === undefined || r.clientId === f.clientId) &&
    (f.grantId === undefined || r.grantId === f.grantId)
  );
}

function info(r: Row): OAuthRecordInfo {
  return {
    model: r.model,
    key: r.key,
    grantId: r.grantId ?? undefined,
    accountId: r.accountId ?? undefined,
    clientId: r.clientId ?? undefined,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt ?? undefined,
    consumedAt: r.consumedAt ?? undefined,
  };
}

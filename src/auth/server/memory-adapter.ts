import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage contract for one model, plus the conditional insert the refresh grace
 * needs (refresh-grace.ts): the store's OAuthAdapter has it, atomic for every instance sharing it.
 */
export interface GatehouseAdapter extends Adapter {
  /** Stores the record only when no live one is under `id`; returns the one kept (this one when `inserted`). */
  insertIfAbsent(id: string, payload: AdapterPayload, expiresIn?: number): Promise<{ inserted: boolean; payload: AdapterPayload }>;
}

/** oidc-provider's storage contract: one adapter per model name. */
export type AdapterFactory = (modelName: string) => GatehouseAdapter;

interface Entry {
  payload: AdapterPayload;
  expiresAt: number | undefined;
}

/**
 * Everything in this process's memory: lost on restart, not shared between instances. The
 * default until the store-backed adapter is passed in.
 */
export function createMemoryAdapter(now: () => number = Date.now): AdapterFactory {
  const entries = new Map<string, Entry>();
  const byGrant = new Map<string, Set<string>>();
  const byUserCode = new Map<string, string>();
  const byUid = new Map<string, string>();
  let writes = 0;

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const sweep = (): void => {
    const t = now();
    for (const [key, entry] of entries) if (entry.expiresAt !== undefined && entry.expiresAt <= t) entries.delete(key);
    for (const [grantId, keys] of byGrant) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) byGrant.delete(grantId);
    }
    for (const index of [byUserCode, byUid]) for (const [k, key] of index) if (!entries.has(key)) index.delete(k);
  };

  return (name) => {
    const keyOf = (id: string): string => `${name}:${id}`;
    const copy = (entry: Entry | undefined): AdapterPayload | undefined => (entry ? structuredClone(entry.payload) : undefined);
    const adapter: GatehouseAdapter = {
      upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        entries.set(key, { payload: structuredClone(payload), expiresAt: expiresIn ? now() + expiresIn * 1000 : undefined });
        if (payload.grantId) {
          let keys = byGrant.get(payload.grantId);
          if (!keys) byGrant.set(payload.grantId, (keys = new Set()));
          keys.add(key);
        }
        if (payload.userCode) byUserCode.set(payload.userCode, key);
        if (payload.uid) byUid.set(payload.uid, key);
        if (++writes % 1000 === 0) sweep();
        return Promise.resolve();
      },
      async insertIfAbsent(id, payload, expiresIn) {
        const there = copy(live(keyOf(id)));
        if (there) return { inserted: false, payload: there };
        await adapter.upsert(id, payload, expiresIn);
        return { inserted: true, payload: structuredClone(payload) };
      },
      find: (id) => Promise.resolve(copy(live(keyOf(id)))),
      findByUserCode(userCode) {
        const key = byUserCode.get(userCode);
        return Promise.resolve(key ? copy(live(key)) : undefined);
      },
      findByUid(uid) {
        const key = byUid.get(uid);
        return Promise.resolve(key ? copy(live(key)) : undefined);
      },
      consume(id) {
        const entry = live(keyOf(id));
        // The first use counts (as in the SQLite and PostgreSQL stores): reuse does not stretch a grace window.
        if (entry) entry.payload.consumed ??= Math.floor(now() / 1000);
        return Promise.resolve();
      },
      destroy(id) {
        entries.delete(keyOf(id));
        return Promise.resolve();
      },
      revokeByGrantId(grantId) {
        for (const key of byGrant.get(grantId) ?? []) entries.delete(key);
        byGrant.delete(grantId);
        return Promise.resolve();
      },
    };
    return adapter;
  };
}

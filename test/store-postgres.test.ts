// The store contract against a real PostgreSQL server (test/helpers/postgres.ts starts one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, StoreError } from '../src/store/index.js';
import { describePostgresUrl, openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { SCHEMA_VERSION } from '../src/store/schema.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { runStoreContract } from './helpers/store-contract.js';

let server: TestPostgres;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

const TABLES = ['gatehouse_oauth_records', 'gatehouse_users', 'gatehouse_kv'];

runStoreContract('postgres', {
  open: async (now) => {
    const store = await openPostgresStore({ url: server.url, now, sweepIntervalMs: 0, maxConnections: 4 });
    await server.query(`TRUNCATE ${TABLES.join(', ')}`);
    return store;
  },
  dump: async () => {
    const parts: string[] = [];
    for (const t of TABLES) parts.push(JSON.stringify(await server.query(`SELECT * FROM ${t}`)));
    return parts.join('\n');
  },
});

describe('PostgreSQL store', () => {
  it('is what openStore gives for a postgres:// URL, migrated once even when instances start together', async () => {
    const stores = await Promise.all(
      Array.from({ length: 3 }, () => openStore({ store: { kind: 'postgres', url: server.url }, dataDir: '/nonexistent' }, undefined, { sweepIntervalMs: 0 })),
    );
    expect(stores.map((s) => s.kind)).toEqual(['postgres', 'postgres', 'postgres']);
    const versions = await server.query<{ version: number }>('SELECT version FROM gatehouse_schema_version ORDER BY version');
    expect(versions.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    // Two instances see each other's writes at once.
    await stores[0]!.users.add('shared-user', 'scrypt$32768$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo');
    expect(await stores[1]!.users.get('shared-user')).toBeDefined();
    await stores[2]!.users.remove('shared-user');
    for (const s of stores) await s.close();
  });

  it('fails with an install hint, never skips, when the PostgreSQL binaries are missing', async () => {
    await expect(startPostgres({ binDirs: ['/nonexistent/bin'] })).rejects.toThrow(/install postgresql/);
  });

  it('names the server without its password when it cannot connect', async () => {
    const url = 'postgres://gh:s3cret-pw@127.0.0.1:1/none';
    expect(describePostgresUrl(url)).not.toContain('s3cret-pw');
    const err = await openPostgresStore({ url, sweepIntervalMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('unavailable');
    expect((err as StoreError).message).toContain('127.0.0.1:1');
    expect((err as StoreError).message).not.toContain('s3cret-pw');
  });
});

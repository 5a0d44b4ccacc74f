import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../crypto/index.js';
import { runStoreContract } from '../../../test/helpers/store-contract.js';
import { StoreError } from '../contract.js';
import { SCHEMA_VERSION } from '../schema.js';
import { openSqliteStore, SQLITE_FILE } from './sqlite-store.js';

const root = mkdtempSync(join(tmpdir(), 'gh-sqlite-'));
let n = 0;
const freshDir = () => join(root, `d${++n}`, 'data');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every row of every table, read through a second connection, plus the raw file bytes. */
function dumpFile(dir: string): string {
  const file = join(dir, SQLITE_FILE);
  const db = new Database(file, { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
  const rows = tables.map((name) => JSON.stringify(db.prepare(`SELECT * FROM "${name}"`).all()));
  db.close();
  const bytes = [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1'));
  return [...rows, ...bytes].join('\n');
}

const dirs = new WeakMap<object, string>();
runStoreContract('sqlite', {
  open: (now) => {
    const dataDir = freshDir();
    const store = openSqliteStore({ dataDir, now, sweepIntervalMs: 0 });
    dirs.set(store, dataDir);
    return Promise.resolve(store);
  },
  dump: (store) => Promise.resolve(dumpFile(dirs.get(store)!)),
});

describe('SQLite store', () => {
  it('creates the data dir 0700 and the database 0600, in WAL mode, at the current schema', async () => {
    const dataDir = freshDir();
    const store = openSqliteStore({ dataDir, sweepIntervalMs: 0 });
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, SQLITE_FILE)).mode & 0o777).toBe(0o600);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(store.location).toBe(`sqlite ${join(dataDir, SQLITE_FILE)}`);
    await store.close();
    const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('keeps everything across a reopen and migrates only once', async () => {
    const dataDir = freshDir();
    const hash = hashPassword('pw');
    const a = openSqliteStore({ dataDir, sweepIntervalMs: 0 });
    await a.users.add('alice', hash);
    await a.oauthAdapter('RefreshToken').upsert('rt-secret', { grantId: 'g', accountId: 'alice' }, 3600);
    await a.oauthAdapter('Client').upsert('c1', { client_id: 'c1' });
    await a.kv.set('consent', 'alice|c1', 'mcp');
    await a.close();
    const b = openSqliteStore({ dataDir, sweepIntervalMs: 0 });
    expect(await b.users.get('alice')).toMatchObject({ name: 'alice', passwordHash: hash });
    expect(await b.oauthAdapter('RefreshToken').find('rt-secret')).toMatchObject({ jti: 'rt-secret', grantId: 'g' });
    expect(await b.oauthAdapter('Client').find('c1')).toEqual({ client_id: 'c1' });
    expect(await b.kv.get('consent', 'alice|c1')).toBe('mcp');
    expect(b.schemaVersion()).toBe(SCHEMA_VERSION);
    await b.close();
    const db = new Database(join(dataDir, SQLITE_FILE), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS c FROM gatehouse_schema_version').get() as { c: number }).c).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database from a newer Gatehouse, and an unusable file, with a clear error', async () => {
    const dataDir = freshDir();
    await openSqliteStore({ dataDir, sweepIntervalMs: 0 }).close();
    const db = new Database(join(dataDir, SQLITE_FILE));
    db.prepare('INSERT INTO gatehouse_schema_version (version, applied_at) VALUES (?, ?)').run(SCHEMA_VERSION + 1, Date.now());
    db.close();
    expect(() => openSqliteStore({ dataDir, sweepIntervalMs: 0 })).toThrow(expect.objectContaining({ code: 'schema-too-new' }) as Error);

    const junkDir = freshDir();
    openSqliteStore({ dataDir: junkDir, sweepIntervalMs: 0 });
    const { writeFileSync } = await import('node:fs');
    rmSync(join(junkDir, SQLITE_FILE), { force: true });
    rmSync(join(junkDir, `${SQLITE_FILE}-wal`), { force: true });
    rmSync(join(junkDir, `${SQLITE_FILE}-shm`), { force: true });
    writeFileSync(join(junkDir, SQLITE_FILE), 'this is not a database, just some text that is long enough to be read'.repeat(100));
    let err: unknown;
    try {
      openSqliteStore({ dataDir: junkDir, sweepIntervalMs: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('unavailable');
    expect((err as StoreError).message).toContain(SQLITE_FILE);
  });

  it('two processes writing the same file at once lose nothing', async () => {
    const dataDir = freshDir();
    const store = openSqliteStore({ dataDir, sweepIntervalMs: 0 });
    const script = fileURLToPath(new URL('./sqlite-store.ts', import.meta.url));
    // The other process: 300 counter increments and 100 records through its own connection.
    const code = `
      const { openSqliteStore } = await import(${JSON.stringify(script)});
      const s = openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, sweepIntervalMs: 0 });
      for (let i = 0; i < 300; i++) await s.kv.increment('c', 'shared', 3600000);
      for (let i = 0; i < 100; i++) await s.oauthAdapter('AccessToken').upsert('child-' + i, { grantId: 'child' }, 3600);
      await s.close();`;
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Keep writing until the child is done, so the two overlap whatever the start-up time.
    let mine = 0;
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      await store.kv.increment('c', 'shared', 3_600_000);
      await store.oauthAdapter('AccessToken').upsert(`parent-${mine}`, { grantId: 'parent' }, 3600);
      mine++;
      await new Promise((r) => setImmediate(r));
    }
    expect(await exited, stderr).toBe(0);
    expect(await store.kv.get('c', 'shared')).toBe(String(300 + mine));
    expect(await store.listOAuth({ grantId: 'child' })).toHaveLength(100);
    expect(await store.listOAuth({ grantId: 'parent' })).toHaveLength(mine);
    await store.close();
  });
});

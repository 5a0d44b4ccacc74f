// The store side of the shared refresh grace (auth/server/refresh-grace.ts): insertIfAbsent and
// the sealed RefreshTokenSuccessor model, on every store, with two connections to one database
// (two PostgreSQL pools, two handles on one SQLite file) as two Gatehouse instances have.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../src/crypto/index.js';
import { MemoryStore, type Store } from '../src/store/index.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { openSqliteStore, SQLITE_FILE } from '../src/store/sqlite/sqlite-store.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

const MODEL = 'RefreshTokenSuccessor';
const USED = 'used-refresh-token-0123456789abcdefghijklmnop';
const RESPONSE = { access_token: 'successor-access-0123456789abcdef', refresh_token: 'successor-refresh-0123456789abcdef', token_type: 'Bearer', expires_in: 3600, scope: 'mcp' };

let t = Date.UTC(2026, 0, 1);
const now = () => t;

interface Target {
  /** Two connections to one fresh, empty database. */
  pair(): Promise<[Store, Store]>;
  /** Every successor row as stored, as text. */
  dump(): Promise<string>;
}

function suite(name: string, target: () => Target) {
  describe(`RefreshTokenSuccessor records on ${name}`, () => {
    let stores: Store[] = [];
    const pair = async () => {
      t = Date.UTC(2026, 0, 1);
      const p = await target().pair();
      stores.push(...p);
      return p;
    };
    afterEach(async () => {
      for (const s of new Set(stores)) await s.close();
      stores = [];
    });

    it('lets exactly one of two connections insert a record under one id; both get that record', async () => {
      const [one, two] = await pair();
      const ids = Array.from({ length: 40 }, (_, i) => `${USED}-${i}`);
      const results = await Promise.all(
        ids.map((id) =>
          Promise.all([
            one.oauthAdapter(MODEL).insertIfAbsent(id, { clientId: 'app', response: { ...RESPONSE, from: 'one' } }, 40),
            two.oauthAdapter(MODEL).insertIfAbsent(id, { clientId: 'app', response: { ...RESPONSE, from: 'two' } }, 40),
          ]),
        ),
      );
      for (const [a, b] of results) {
        expect([a.inserted, b.inserted].filter(Boolean)).toHaveLength(1);
        expect(a.payload.response).toEqual(b.payload.response);
      }
      // What a third look finds is what both were told.
      for (const [i, id] of ids.entries()) expect((await two.oauthAdapter(MODEL).find(id))?.response).toEqual(results[i]![0].payload.response);
    });

    it('leaves a live record as it is, and takes the place of an expired one', async () => {
      const [one, two] = await pair();
      expect((await one.oauthAdapter(MODEL).insertIfAbsent(USED, { clientId: 'app', response: { n: 1 } }, 40)).inserted).toBe(true);
      t += 39_000;
      const live = await two.oauthAdapter(MODEL).insertIfAbsent(USED, { clientId: 'app', response: { n: 2 } }, 40);
      expect(live).toMatchObject({ inserted: false, payload: { clientId: 'app', response: { n: 1 } } });
      t += 2_000;
      expect(await one.oauthAdapter(MODEL).find(USED)).toBeUndefined();
      const replaced = await two.oauthAdapter(MODEL).insertIfAbsent(USED, { clientId: 'app', response: { n: 3 } }, 40);
      expect(replaced).toMatchObject({ inserted: true, payload: { response: { n: 3 } } });
      expect((await one.oauthAdapter(MODEL).find(USED))?.response).toEqual({ n: 3 });
    });

    it('stores the record under sha256 of the used token and sealed with it: the rows hold no token', async () => {
      const [one, two] = await pair();
      await one.oauthAdapter(MODEL).insertIfAbsent(USED, { clientId: 'app', grantId: 'grant-1', accountId: 'alice', response: RESPONSE }, 40);
      const rows = await target().dump();
      for (const secret of [USED, RESPONSE.access_token, RESPONSE.refresh_token]) expect(rows).not.toContain(secret);
      if (name !== 'memory') expect(rows).toContain(sha256(USED));
      expect(await two.oauthAdapter(MODEL).find(USED)).toEqual({ jti: USED, clientId: 'app', grantId: 'grant-1', accountId: 'alice', response: RESPONSE });
      // Listed and deleted like the other records of the grant and the account.
      expect(await two.listOAuth({ models: [MODEL], grantId: 'grant-1', accountId: 'alice', clientId: 'app' })).toHaveLength(1);
      expect(await two.deleteOAuth({ accountId: 'alice' })).toBe(1);
      expect(await one.oauthAdapter(MODEL).find(USED)).toBeUndefined();
    });

    it('sweeps expired records like any other', async () => {
      const [one, two] = await pair();
      await one.oauthAdapter(MODEL).insertIfAbsent(USED, { clientId: 'app', response: RESPONSE }, 40);
      await one.oauthAdapter(MODEL).insertIfAbsent(`${USED}-later`, { clientId: 'app', response: RESPONSE }, 400);
      t += 41_000;
      expect(await two.sweep()).toBe(1);
      expect(await one.listOAuth({ models: [MODEL] })).toHaveLength(1);
    });
  });
}

const root = mkdtempSync(join(tmpdir(), 'gh-grace-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let memory: MemoryStore | undefined;
suite('memory', () => ({
  pair: () => {
    memory = new MemoryStore({ now, sweepIntervalMs: 0 });
    return Promise.resolve([memory, memory]);
  },
  dump: async () => JSON.stringify(await memory!.listOAuth()),
}));

let n = 0;
let sqliteDir = '';
suite('SQLite (two handles on one file)', () => ({
  pair: () => {
    sqliteDir = join(root, `sqlite-${++n}`);
    const one = openSqliteStore({ dataDir: sqliteDir, now, sweepIntervalMs: 0 });
    return Promise.resolve([one, openSqliteStore({ dataDir: sqliteDir, now, sweepIntervalMs: 0 })]);
  },
  dump: () => {
    const db = new Database(join(sqliteDir, SQLITE_FILE), { readonly: true });
    try {
      return Promise.resolve(JSON.stringify(db.prepare('SELECT * FROM gatehouse_oauth_records').all()));
    } finally {
      db.close();
    }
  },
}));

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
}, 120_000);
afterAll(async () => {
  await pg?.stop();
});
suite('PostgreSQL (two pools on one database)', () => ({
  pair: async () => {
    await pg.query('TRUNCATE gatehouse_oauth_records').catch(() => undefined);
    return [await openPostgresStore({ url: pg.url, now, sweepIntervalMs: 0, maxConnections: 4 }), await openPostgresStore({ url: pg.url, now, sweepIntervalMs: 0, maxConnections: 4 })];
  },
  dump: async () => JSON.stringify(await pg.query('SELECT * FROM gatehouse_oauth_records')),
}));

describe('RefreshTokenSuccessor records on PostgreSQL, a record expiring in the middle of insertIfAbsent', () => {
  it('judges the record it declined to replace at the instant the INSERT used, so it returns it instead of failing', async () => {
    // The reviewer's case: the clock reads just before the old record's expiry when the INSERT is made
    // (so it declines: the record is live), and after it for every later reading (the SELECT of the kept
    // row). Judged at the later instant, the row was "gone", every retry's INSERT declined again, and
    // insertIfAbsent threw StoreError('unavailable').
    await pg.query('TRUNCATE gatehouse_oauth_records').catch(() => undefined);
    let clock = Date.UTC(2026, 0, 1);
    const readings: number[] = [];
    const store = await openPostgresStore({ url: pg.url, now: () => readings.shift() ?? clock, sweepIntervalMs: 0, maxConnections: 2 });
    try {
      const adapter = store.oauthAdapter(MODEL);
      await adapter.upsert(USED, { clientId: 'app', response: { n: 1 } }, 1); // expires at clock + 1000
      readings.push(clock + 999);
      clock += 2_000;
      const kept = await adapter.insertIfAbsent(USED, { clientId: 'app', response: { n: 2 } }, 40);
      expect(kept).toMatchObject({ inserted: false, payload: { clientId: 'app', response: { n: 1 } } });
      // Expired now: the next insert takes its place.
      expect(await adapter.insertIfAbsent(USED, { clientId: 'app', response: { n: 3 } }, 40)).toMatchObject({ inserted: true, payload: { response: { n: 3 } } });
    } finally {
      await store.close();
    }
  });
});

describe('RefreshTokenSuccessor records on SQLite, two processes on one file', () => {
  it('lets exactly one process insert each record when both race through the same ids', async () => {
    const dataDir = join(root, 'sqlite-processes');
    const store = openSqliteStore({ dataDir, sweepIntervalMs: 0 });
    const script = fileURLToPath(new URL('../src/store/sqlite/sqlite-store.ts', import.meta.url));
    const ids = 1500;
    // The other process opens the file, says it is ready, and starts on "go": both then run through the
    // same ids, each winning some (here: splits from 212/1288 to 839/661). How many each wins is left to the
    // scheduler and not asserted; a find-then-insert version failed this test in every run tried.
    const code = `
      const { openSqliteStore } = await import(${JSON.stringify(script)});
      const s = openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, sweepIntervalMs: 0 });
      const a = s.oauthAdapter(${JSON.stringify(MODEL)});
      process.stdout.write('ready\\n');
      await new Promise((resolve) => process.stdin.once('data', resolve));
      const out = [];
      for (let i = 0; i < ${ids}; i++) {
        const r = await a.insertIfAbsent('id-' + i, { clientId: 'app', response: { from: 'child' } }, 600);
        out.push([r.inserted, r.payload.response.from]);
      }
      await s.close();
      process.stdout.write(JSON.stringify(out) + '\\n');
      process.exit(0);`;
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.startsWith('ready\n')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await ready;
    child.stdin.write('go\n');
    const mine: [boolean, unknown][] = [];
    const adapter = store.oauthAdapter(MODEL);
    for (let i = 0; i < ids; i++) {
      const r = await adapter.insertIfAbsent(`id-${i}`, { clientId: 'app', response: { from: 'parent' } }, 600);
      mine.push([r.inserted, (r.payload.response as { from: string }).from]);
    }
    expect(await exited, stderr).toBe(0);
    const theirs = JSON.parse(stdout.slice('ready\n'.length)) as [boolean, string][];
    expect(theirs).toHaveLength(ids);
    for (let i = 0; i < ids; i++) {
      const [m, t] = [mine[i]!, theirs[i]!];
      expect(Number(m[0]) + Number(t[0]), `id-${i}`).toBe(1);
      expect(m[1], `id-${i}`).toBe(t[1]);
    }
    await store.close();
  });
});

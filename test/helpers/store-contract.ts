// One contract suite, run against every Store implementation (memory, SQLite, PostgreSQL):
// they must be indistinguishable through the Store interface.
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/crypto/index.js';
import { clientSecretMatches, StoreError, type Store } from '../../src/store/index.js';

export interface ContractTarget {
  /** Opens a fresh, empty store whose clock is `now`. */
  open(now: () => number): Promise<Store>;
  /**
   * Everything the backend holds, as text (every row of every table), to prove that no
   * token, code or secret is stored as it is. Absent for the memory store.
   */
  dump?: (store: Store) => Promise<string>;
}

// Hashing a password costs ~50 ms; the suite needs a few valid hashes only.
const HASH_A = hashPassword('correct horse battery staple');
const HASH_B = hashPassword('another password entirely');

const rejectsWith = async (p: Promise<unknown>, code: string) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected a StoreError ${code}`).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
  return err as StoreError;
};

export function runStoreContract(name: string, target: ContractTarget): void {
  describe(`Store contract: ${name}`, () => {
    let t = Date.UTC(2026, 0, 1);
    const now = () => t;
    const advance = (ms: number) => {
      t += ms;
    };
    const opened: Store[] = [];
    const open = async () => {
      t = Date.UTC(2026, 0, 1);
      const s = await target.open(now);
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    describe('OAuth adapter', () => {
      it('stores, finds, overwrites and destroys records of plain and hashed models', async () => {
        const store = await open();
        const grants = store.oauthAdapter('Grant');
        await grants.upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'alice', clientId: 'c1' }, 3600);
        expect(await grants.find('grant-1')).toEqual({ jti: 'grant-1', kind: 'Grant', accountId: 'alice', clientId: 'c1' });

        const at = store.oauthAdapter('AccessToken');
        await at.upsert('tok-abc', { jti: 'tok-abc', kind: 'AccessToken', grantId: 'grant-1', scope: 'mcp', nested: { a: [1, 'x'] } }, 60);
        expect(await at.find('tok-abc')).toEqual({ jti: 'tok-abc', kind: 'AccessToken', grantId: 'grant-1', scope: 'mcp', nested: { a: [1, 'x'] } });
        expect(await at.find('tok-abd')).toBeUndefined();
        // A model name is its own namespace.
        expect(await store.oauthAdapter('RefreshToken').find('tok-abc')).toBeUndefined();

        await at.upsert('tok-abc', { jti: 'tok-abc', kind: 'AccessToken', grantId: 'grant-1', scope: 'mcp other' }, 60);
        expect((await at.find('tok-abc'))?.scope).toBe('mcp other');

        await at.destroy('tok-abc');
        expect(await at.find('tok-abc')).toBeUndefined();
        await at.destroy('never-there');
      });

      it('never returns an expired record, and sweeps expired rows', async () => {
        const store = await open();
        const codes = store.oauthAdapter('AuthorizationCode');
        const clients = store.oauthAdapter('Client');
        await codes.upsert('code-1', { kind: 'AuthorizationCode', grantId: 'g' }, 60);
        await codes.upsert('code-2', { kind: 'AuthorizationCode', grantId: 'g' }, 600);
        await clients.upsert('client-forever', { client_id: 'client-forever' });
        await store.kv.set('ns', 'short', 'v', 30_000);
        advance(61_000);
        expect(await codes.find('code-1')).toBeUndefined();
        expect(await codes.find('code-2')).toBeDefined();
        expect(await store.kv.get('ns', 'short')).toBeUndefined();
        expect((await store.listOAuth({ models: ['AuthorizationCode'] })).length).toBe(1);
        advance(600_000);
        expect(await codes.find('code-2')).toBeUndefined();
        await codes.upsert('code-3', { kind: 'AuthorizationCode' }, 10);
        await store.kv.set('ns', 'short2', 'v', 1000);
        advance(11_000);
        expect(await store.sweep()).toBeGreaterThanOrEqual(2);
        expect(await store.sweep()).toBe(0);
        advance(10 * 365 * 86_400_000);
        expect(await clients.find('client-forever')).toMatchObject({ client_id: 'client-forever' });
        expect(await store.listOAuth()).toHaveLength(1);
      });

      it('consume marks a record, once, and keeps it findable', async () => {
        const store = await open();
        const rt = store.oauthAdapter('RefreshToken');
        await rt.upsert('rt-1', { kind: 'RefreshToken', grantId: 'g' }, 3600);
        expect((await rt.find('rt-1'))?.consumed).toBeUndefined();
        await rt.consume('rt-1');
        const first = (await rt.find('rt-1'))?.consumed;
        expect(first).toBe(Math.floor(t / 1000));
        advance(5000);
        await rt.consume('rt-1');
        expect((await rt.find('rt-1'))?.consumed).toBe(first);
        await rt.consume('missing');
        // A consumed record stays consumed when the provider saves it again.
        await rt.upsert('rt-1', { kind: 'RefreshToken', grantId: 'g', rotations: 1 }, 3600);
        expect(await rt.find('rt-1')).toMatchObject({ consumed: first, rotations: 1 });
      });

      it('insertIfAbsent: the first record under an id is kept; a second call gets it back, not its own', async () => {
        const store = await open();
        const grants = store.oauthAdapter('Grant');
        expect(await grants.insertIfAbsent('grant-1', { kind: 'Grant', accountId: 'alice', n: 1 }, 60)).toEqual({
          inserted: true,
          payload: { kind: 'Grant', accountId: 'alice', n: 1 },
        });
        advance(1000);
        expect(await grants.insertIfAbsent('grant-1', { kind: 'Grant', accountId: 'bob', n: 2 }, 600)).toEqual({
          inserted: false,
          payload: { kind: 'Grant', accountId: 'alice', n: 1 },
        });
        expect(await grants.find('grant-1')).toEqual({ kind: 'Grant', accountId: 'alice', n: 1 });
        // Nor did the second call move the expiry or the owner.
        const [info] = await store.listOAuth({ models: ['Grant'] });
        expect(info).toMatchObject({ accountId: 'alice', expiresAt: info!.createdAt + 60_000 });
        expect(info!.createdAt).toBe(t - 1000);

        // A hashed model hands the id back as jti, both ways; a model name is its own namespace.
        const rt = store.oauthAdapter('RefreshToken');
        expect(await rt.insertIfAbsent('grant-1', { grantId: 'g', n: 3 }, 60)).toEqual({ inserted: true, payload: { jti: 'grant-1', grantId: 'g', n: 3 } });
        expect(await rt.insertIfAbsent('grant-1', { grantId: 'g', n: 4 }, 60)).toEqual({ inserted: false, payload: { jti: 'grant-1', grantId: 'g', n: 3 } });
        // A record upsert wrote is there too, and the one it hands back says whether it was consumed.
        await rt.upsert('rt-2', { grantId: 'g', n: 5 }, 60);
        await rt.consume('rt-2');
        expect(await rt.insertIfAbsent('rt-2', { grantId: 'g', n: 6 }, 60)).toEqual({
          inserted: false,
          payload: { jti: 'rt-2', grantId: 'g', n: 5, consumed: Math.floor(t / 1000) },
        });
        // A record kept until destroyed is never replaced.
        await grants.insertIfAbsent('forever', { n: 7 });
        advance(10 * 365 * 86_400_000);
        expect((await grants.insertIfAbsent('forever', { n: 8 }, 60)).payload).toEqual({ n: 7 });
        await grants.destroy('forever');
        expect(await grants.insertIfAbsent('forever', { n: 9 }, 60)).toEqual({ inserted: true, payload: { n: 9 } });
      });

      it('insertIfAbsent: an expired record counts as absent and is replaced whole', async () => {
        const store = await open();
        // The refresh grace's model (hashed and sealed: store/codec.ts), as refresh-grace.ts uses it.
        const successors = store.oauthAdapter('RefreshTokenSuccessor');
        expect((await successors.insertIfAbsent('used-token', { clientId: 'c1', grantId: 'g1', response: 'first' }, 40)).inserted).toBe(true);
        advance(39_999);
        expect(await successors.insertIfAbsent('used-token', { clientId: 'c2', grantId: 'g2', response: 'second' }, 40)).toEqual({
          inserted: false,
          payload: { jti: 'used-token', clientId: 'c1', grantId: 'g1', response: 'first' },
        });
        await successors.consume('used-token');
        advance(1); // the record's expiry: from now on it is gone
        expect(await successors.insertIfAbsent('used-token', { clientId: 'c2', grantId: 'g2', response: 'third' }, 40)).toEqual({
          inserted: true,
          payload: { jti: 'used-token', clientId: 'c2', grantId: 'g2', response: 'third' },
        });
        // The new record's own columns, expiry and consumed state: nothing of the old one is left.
        expect(await successors.find('used-token')).toEqual({ jti: 'used-token', clientId: 'c2', grantId: 'g2', response: 'third' });
        expect(await store.listOAuth({ models: ['RefreshTokenSuccessor'] })).toEqual([
          expect.objectContaining({ clientId: 'c2', grantId: 'g2', createdAt: t, expiresAt: t + 40_000, consumedAt: undefined }),
        ]);
        await successors.revokeByGrantId('g1');
        expect(await successors.find('used-token')).toBeDefined();
        await successors.revokeByGrantId('g2');
        expect(await successors.find('used-token')).toBeUndefined();
        await rejectsWith(successors.insertIfAbsent('other-token', { response: 'x' }, -1), 'invalid-input');
        await rejectsWith(successors.insertIfAbsent('', { response: 'x' }, 40), 'invalid-input');
      });

      it('insertIfAbsent: of many concurrent calls for one id, exactly one inserts and all get its record', async () => {
        const store = await open();
        const successors = store.oauthAdapter('RefreshTokenSuccessor');
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, i) => successors.insertIfAbsent('raced-token', { clientId: 'c1', response: `answer-${i}` }, 40)),
        );
        const winners = results.filter((r) => r.inserted);
        expect(winners).toHaveLength(1);
        for (const r of results) expect(r.payload).toEqual(winners[0]!.payload);
        expect(await successors.find('raced-token')).toEqual(winners[0]!.payload);
        expect(await store.listOAuth({ models: ['RefreshTokenSuccessor'] })).toHaveLength(1);
      });

      it('revokeByGrantId removes that model\'s records of the grant and nothing else', async () => {
        const store = await open();
        const at = store.oauthAdapter('AccessToken');
        const rt = store.oauthAdapter('RefreshToken');
        await at.upsert('a1', { grantId: 'g1' }, 3600);
        await at.upsert('a2', { grantId: 'g1' }, 3600);
        await at.upsert('a3', { grantId: 'g2' }, 3600);
        await rt.upsert('r1', { grantId: 'g1' }, 3600);
        await at.revokeByGrantId('g1');
        expect(await at.find('a1')).toBeUndefined();
        expect(await at.find('a2')).toBeUndefined();
        expect(await at.find('a3')).toBeDefined();
        expect(await rt.find('r1')).toBeDefined();
        await rt.revokeByGrantId('g1');
        expect(await rt.find('r1')).toBeUndefined();
      });

      it('finds a Session by uid and a DeviceCode by user code, with their ids', async () => {
        const store = await open();
        const sessions = store.oauthAdapter('Session');
        await sessions.upsert('sess-jti', { jti: 'sess-jti', uid: 'uid-1', kind: 'Session', accountId: 'alice' }, 3600);
        expect(await sessions.findByUid('uid-1')).toMatchObject({ jti: 'sess-jti', uid: 'uid-1', accountId: 'alice' });
        expect(await sessions.findByUid('uid-2')).toBeUndefined();

        const dc = store.oauthAdapter('DeviceCode');
        await dc.upsert('device-code-secret', { jti: 'device-code-secret', userCode: 'BCDF-GHJK', kind: 'DeviceCode' }, 600);
        expect(await dc.findByUserCode('BCDF-GHJK')).toMatchObject({ jti: 'device-code-secret', userCode: 'BCDF-GHJK' });
        expect(await dc.find('device-code-secret')).toMatchObject({ jti: 'device-code-secret', userCode: 'BCDF-GHJK' });
        expect(await dc.findByUserCode('BCDF-GHJL')).toBeUndefined();
        advance(601_000);
        expect(await dc.findByUserCode('BCDF-GHJK')).toBeUndefined();
        expect(await sessions.findByUid('uid-1')).toBeDefined();
      });

      it('keeps client secrets as hashes that clientSecretMatches checks', async () => {
        const store = await open();
        const clients = store.oauthAdapter('Client');
        await clients.upsert('dcr-client', { client_id: 'dcr-client', client_secret: 'the-client-secret-value', redirect_uris: ['https://x/cb'] });
        const found = await clients.find('dcr-client');
        expect(found?.client_secret).toMatch(/^sha256\$/);
        expect(clientSecretMatches(found?.client_secret as string, 'the-client-secret-value')).toBe(true);
        expect(clientSecretMatches(found?.client_secret as string, 'the-client-secret-valuf')).toBe(false);
        // Saving the found client again does not hash the hash.
        await clients.upsert('dcr-client', found!);
        expect((await clients.find('dcr-client'))?.client_secret).toBe(found?.client_secret);
        // Config clients keep plain secrets, outside the store.
        expect(clientSecretMatches('plain', 'plain')).toBe(true);
        expect(clientSecretMatches(undefined, 'plain')).toBe(false);
      });

      if (target.dump) {
        const dump = target.dump;
        it('stores no token id, jti, user code or client secret as it is', async () => {
          const store = await open();
          const secrets = {
            access: 'AT-9f8e7d6c5b4a39281706f5e4d3c2b1a0',
            refresh: 'RT-0a1b2c3d4e5f60718293a4b5c6d7e8f9',
            code: 'AC-55aa55aa55aa55aa55aa55aa55aa55aa',
            device: 'DC-77bb77bb77bb77bb77bb77bb77bb77bb',
            userCode: 'WXYZ-QRST',
            secret: 'CS-13579bdf13579bdf13579bdf13579bdf',
          };
          await store.oauthAdapter('AccessToken').upsert(secrets.access, { jti: secrets.access, grantId: 'g', accountId: 'alice' }, 3600);
          await store.oauthAdapter('RefreshToken').upsert(secrets.refresh, { jti: secrets.refresh, grantId: 'g' }, 3600);
          await store.oauthAdapter('AuthorizationCode').upsert(secrets.code, { jti: secrets.code, grantId: 'g' }, 60);
          await store.oauthAdapter('DeviceCode').upsert(secrets.device, { jti: secrets.device, userCode: secrets.userCode }, 600);
          await store.oauthAdapter('Client').upsert('client-x', { client_id: 'client-x', client_secret: secrets.secret });
          await store.oauthAdapter('AccessToken').consume(secrets.access);
          const text = await dump(store);
          expect(text).toContain('client-x'); // the dump does see the data
          for (const [what, value] of Object.entries(secrets)) expect(text, `${what} stored as it is`).not.toContain(value);
          expect(await store.oauthAdapter('AccessToken').find(secrets.access)).toMatchObject({ jti: secrets.access });
        });
      }

      it('lists and deletes records by account, client, grant and model, never showing a token', async () => {
        const store = await open();
        const at = store.oauthAdapter('AccessToken');
        const rt = store.oauthAdapter('RefreshToken');
        await at.upsert('tok-alice-1', { accountId: 'alice', clientId: 'c1', grantId: 'g1' }, 3600);
        advance(1);
        await rt.upsert('tok-alice-2', { accountId: 'alice', clientId: 'c2', grantId: 'g2' }, 3600);
        advance(1);
        await at.upsert('tok-bob-1', { accountId: 'bob', clientId: 'c1', grantId: 'g3' }, 3600);
        await store.oauthAdapter('Client').upsert('c1', { client_id: 'c1' });
        const alice = await store.listOAuth({ accountId: 'alice' });
        expect(alice.map((r) => [r.model, r.clientId, r.grantId])).toEqual([
          ['AccessToken', 'c1', 'g1'],
          ['RefreshToken', 'c2', 'g2'],
        ]);
        expect(alice[0]!.key).not.toContain('tok-alice');
        expect(alice[0]!.expiresAt).toBe(alice[0]!.createdAt + 3_600_000);
        expect((await store.listOAuth({ clientId: 'c1' })).map((r) => r.model).sort()).toEqual(['AccessToken', 'AccessToken', 'Client']);
        expect(await store.listOAuth({ models: [] })).toEqual([]);
        expect(await store.deleteOAuth({ clientId: 'c1', models: ['AccessToken'] })).toBe(2);
        expect(await at.find('tok-bob-1')).toBeUndefined();
        expect(await rt.find('tok-alice-2')).toBeDefined();
        expect(await store.deleteOAuth({})).toBe(2);
        expect(await store.listOAuth()).toEqual([]);
      });

      it('refuses bad model names and ids with a clear error', async () => {
        const store = await open();
        expect(() => store.oauthAdapter('Access Token; DROP')).toThrow(StoreError);
        await rejectsWith(store.oauthAdapter('AccessToken').find(''), 'invalid-input');
        await rejectsWith(store.oauthAdapter('AccessToken').upsert('x', { a: 1 }, -5), 'invalid-input');
      });
    });

    describe('local users', () => {
      it('adds, gets, lists, changes and removes users', async () => {
        const store = await open();
        const added = await store.users.add('bob', HASH_A);
        expect(added).toMatchObject({ name: 'bob', passwordHash: HASH_A, createdAt: t, updatedAt: t });
        await store.users.add('alice@example.com', HASH_B);
        await store.users.add('Zed', HASH_B);
        expect((await store.users.list()).map((u) => u.name)).toEqual(['Zed', 'alice@example.com', 'bob']);
        expect(await store.users.get('bob')).toEqual(added);
        expect(await store.users.get('nobody')).toBeUndefined();
        advance(1000);
        await store.users.setPassword('bob', HASH_B);
        expect(await store.users.get('bob')).toMatchObject({ passwordHash: HASH_B, createdAt: added.createdAt, updatedAt: added.createdAt + 1000 });
        await store.users.remove('bob');
        expect(await store.users.get('bob')).toBeUndefined();
        expect((await store.users.list()).map((u) => u.name)).toEqual(['Zed', 'alice@example.com']);
      });

      it('refuses duplicates, bad names, raw passwords and missing users, leaving data as it was', async () => {
        const store = await open();
        await store.users.add('carol', HASH_A);
        const dup = await rejectsWith(store.users.add('carol', HASH_B), 'user-exists');
        expect(dup.message).toContain('carol');
        expect((await store.users.get('carol'))?.passwordHash).toBe(HASH_A);
        for (const bad of ['', ' carol', 'a b', '-x', 'x/y', 'é', 'a'.repeat(65), 'name\n']) await rejectsWith(store.users.add(bad, HASH_A), 'invalid-name');
        await rejectsWith(store.users.add('dave', 'hunter2'), 'invalid-hash');
        expect(await store.users.get('dave')).toBeUndefined();
        await rejectsWith(store.users.setPassword('carol', 'plain-password'), 'invalid-hash');
        expect((await store.users.get('carol'))?.passwordHash).toBe(HASH_A);
        await rejectsWith(store.users.remove('nobody'), 'no-such-user');
        await rejectsWith(store.users.setPassword('nobody', HASH_A), 'no-such-user');
        expect((await store.users.list()).map((u) => u.name)).toEqual(['carol']);
      });
    });

    describe('key-value', () => {
      it('sets, gets, overwrites, deletes and expires values', async () => {
        const store = await open();
        await store.kv.set('consent', 'alice|c1', 'mcp:tools');
        expect(await store.kv.get('consent', 'alice|c1')).toBe('mcp:tools');
        expect(await store.kv.get('other', 'alice|c1')).toBeUndefined();
        await store.kv.set('consent', 'alice|c1', 'mcp:tools mcp:prompts', 5000);
        expect(await store.kv.get('consent', 'alice|c1')).toBe('mcp:tools mcp:prompts');
        advance(5000);
        expect(await store.kv.get('consent', 'alice|c1')).toBeUndefined();
        await store.kv.set('consent', 'k', 'v');
        await store.kv.delete('consent', 'k');
        expect(await store.kv.get('consent', 'k')).toBeUndefined();
        await rejectsWith(store.kv.set('', 'k', 'v'), 'invalid-input');
      });

      it('counts within a window and starts again after it', async () => {
        const store = await open();
        expect(await store.kv.increment('login', '1.2.3.4', 60_000)).toBe(1);
        advance(30_000);
        expect(await store.kv.increment('login', '1.2.3.4', 60_000)).toBe(2);
        advance(29_000);
        expect(await store.kv.increment('login', '1.2.3.4', 60_000)).toBe(3);
        advance(1000); // the first window (from the first count) is over
        expect(await store.kv.increment('login', '1.2.3.4', 60_000)).toBe(1);
        expect(await store.kv.get('login', '1.2.3.4')).toBe('1');
      });
    });

    it('survives many concurrent writes', async () => {
      const store = await open();
      const at = store.oauthAdapter('AccessToken');
      await Promise.all([
        ...Array.from({ length: 200 }, (_, i) => at.upsert(`tok-${i}`, { grantId: `g${i % 10}`, n: i }, 3600)),
        ...Array.from({ length: 50 }, () => store.kv.increment('rate', 'same-key', 60_000)),
        ...Array.from({ length: 20 }, (_, i) => store.users.add(`user${i}`, HASH_A)),
        ...Array.from({ length: 5 }, () => store.users.add('contested', HASH_B).catch((e: unknown) => e)),
      ]);
      expect(await store.listOAuth({ models: ['AccessToken'] })).toHaveLength(200);
      expect((await at.find('tok-123'))?.n).toBe(123);
      expect(await store.kv.get('rate', 'same-key')).toBe('50');
      expect(await store.users.list()).toHaveLength(21);
      await Promise.all(Array.from({ length: 10 }, (_, g) => at.revokeByGrantId(`g${g}`)));
      expect(await store.listOAuth()).toEqual([]);
    });

    it('refuses use after close; close twice is fine', async () => {
      const store = await open();
      await store.close();
      await store.close();
      await rejectsWith(store.users.list(), 'closed');
      await rejectsWith(store.oauthAdapter('Grant').find('x'), 'closed');
      await rejectsWith(store.oauthAdapter('Grant').insertIfAbsent('x', { n: 1 }, 60), 'closed');
      expect(await store.sweep()).toBe(0);
    });
  });
}

// `gatehouse users remove NAME` against the SQLite store serve would use: the user goes, and
// so does everything of theirs in the OAuth store; what it says it revoked is counted as
// `tokens list` shows it (grants and tokens, not the refresh grace's records) and the sessions
// it ended apart, as `users passwd` says it.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SUCCESSOR_MODEL } from '../src/auth/server/refresh-grace.js';
import { openStore } from '../src/store/index.js';
import { runCli, tempRoot, type CliRun } from './helpers/cli.js';

const { root, freshDir, remove } = tempRoot('gh-users-remove-');
afterAll(remove);

const gatehouse = (dataDir: string, args: string[], input?: string): Promise<CliRun> => runCli([...args, '--data-dir', dataDir], { cwd: root, ...(input === undefined ? {} : { input }) });
const open = (dataDir: string) => openStore({ store: { kind: 'sqlite' }, dataDir }, undefined, { sweepIntervalMs: 0 });

describe('gatehouse users remove', () => {
  it("counts the user's grants and tokens as tokens list shows them, and the sessions apart; leaves nothing of theirs", async () => {
    const dir = join(freshDir(), 'data');
    for (const name of ['bob', 'carol']) {
      const added = await gatehouse(dir, ['users', 'add', name, '--password-stdin'], 'a long enough passphrase\n');
      expect(added.status, added.stderr).toBe(0);
    }
    const store = await open(dir);
    for (const [accountId, tag] of [
      ['bob', 'b1'],
      ['carol', 'c1'],
    ] as const) {
      const grantId = `grant-${tag}`;
      const refresh = `refresh-token-value-${tag}`;
      await store.oauthAdapter('Grant').upsert(grantId, { jti: grantId, kind: 'Grant', accountId, clientId: 'client-a' }, 3600);
      await store.oauthAdapter('AccessToken').upsert(`access-token-value-${tag}`, { jti: `access-token-value-${tag}`, kind: 'AccessToken', accountId, clientId: 'client-a', grantId }, 3600);
      await store.oauthAdapter('RefreshToken').upsert(refresh, { jti: refresh, kind: 'RefreshToken', accountId, clientId: 'client-a', grantId }, 86_400);
      // A refresh under its grace window (refresh-grace.ts keeps the first answer under the used
      // token's key) and a browser session at the gateway.
      await store.oauthAdapter(SUCCESSOR_MODEL).insertIfAbsent(refresh, { clientId: 'client-a', grantId, accountId, response: `sealed-answer-${tag}` }, 40);
      await store.oauthAdapter('Session').upsert(`session-${tag}`, { jti: `session-${tag}`, uid: `u-${tag}`, accountId }, 3600);
    }
    await store.close();

    const list = await gatehouse(dir, ['tokens', 'list', '--json']);
    expect(list.status, list.stderr).toBe(0);
    const listed = (JSON.parse(list.stdout) as { user: string | null }[]).filter((row) => row.user === 'bob');
    expect(listed).toHaveLength(3);

    const removed = await gatehouse(dir, ['users', 'remove', 'bob']);
    expect(removed.status, removed.stderr).toBe(0);
    expect(removed.stderr).toContain(`removed user bob; ended 1 session and revoked ${listed.length} grants and tokens (in sqlite ${join(dir, 'gatehouse.db')})\n`);

    const after = await open(dir);
    expect(await after.listOAuth({ accountId: 'bob' })).toEqual([]);
    // carol's records, grace record and session included, are untouched.
    expect((await after.listOAuth({ accountId: 'carol' })).map((r) => r.model).sort()).toEqual(['AccessToken', 'Grant', 'RefreshToken', SUCCESSOR_MODEL, 'Session'].sort());
    await after.close();
    const users = await gatehouse(dir, ['users', 'list']);
    expect(users.stdout.trim().split('\n')).toEqual(['carol']);
  });
});

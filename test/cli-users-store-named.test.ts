// `gatehouse users passwd` and `users remove` name the store they changed, as `users add` does:
// run with the wrong --config / --data-dir (the demo banner's `users passwd` hint, run from
// another directory), they act on another store than serve's, and say which.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempRoot, type CliRun } from './helpers/cli.js';

const { root, freshDir, remove } = tempRoot('gh-users-store-named-');
afterAll(remove);

const PASSWORD = 'a long enough passphrase';
const gatehouse = (args: string[], input?: string): Promise<CliRun> => runCli(args, { cwd: root, ...(input === undefined ? {} : { input }) });
const ok = (run: CliRun): CliRun => {
  expect(run.status, run.stderr).toBe(0);
  return run;
};

describe.concurrent('gatehouse users passwd / remove name their store', () => {
  it('passwd says which store it changed, with and without --keep-sessions', async () => {
    const dataDir = join(freshDir(), 'data');
    const where = `sqlite ${join(dataDir, 'gatehouse.db')}`;
    ok(await gatehouse(['users', 'add', 'alice', '--password-stdin', '--data-dir', dataDir], `${PASSWORD}\n`));
    const changed = ok(await gatehouse(['users', 'passwd', 'alice', '--password-stdin', '--data-dir', dataDir], `${PASSWORD} 2\n`));
    expect(changed.stderr).toContain(`changed the password of alice (in ${where})\n`);
    const kept = ok(await gatehouse(['users', 'passwd', 'alice', '--password-stdin', '--keep-sessions', '--data-dir', dataDir], `${PASSWORD} 3\n`));
    expect(kept.stderr).toContain(`changed the password of alice; kept their sessions, grants and tokens (--keep-sessions; in ${where})\n`);
  });

  it('remove says which store it removed the user from', async () => {
    const dataDir = join(freshDir(), 'data');
    ok(await gatehouse(['users', 'add', 'bob', '--password-stdin', '--data-dir', dataDir], `${PASSWORD}\n`));
    const removed = ok(await gatehouse(['users', 'remove', 'bob', '--data-dir', dataDir]));
    expect(removed.stderr).toContain(`removed user bob (in sqlite ${join(dataDir, 'gatehouse.db')})\n`);
  });
});

// `gatehouse clients add --resource ...` refused for a usage error opens no store: in an empty
// directory no ./.gatehouse (nor its gatehouse.db) is left behind, and with a config the dataDir
// is not created. The --resource check reads the config alone, before the store is opened.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, tempRoot } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const { freshDir, remove } = tempRoot('gh-clients-add-refused-');
afterAll(remove);

describe('clients add refused for usage errors', () => {
  it('with no config file: exit 2, every problem named, no ./.gatehouse created', async () => {
    const dir = freshDir();
    const run = await runCli(['clients', 'add', '--resource', '/api'], { cwd: dir });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain('--name');
    expect(existsSync(join(dir, '.gatehouse'))).toBe(false);
  });

  it('with a config: a resource that is not this gateway\'s is refused with the other problems, and its dataDir is not created', async () => {
    const dir = freshDir();
    const dataDir = join(dir, 'data');
    const config = join(dir, 'gatehouse.json');
    writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir, auth: { mode: 'oauth' }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } }));
    const run = await runCli(['clients', 'add', '--resource', '/nope', '--config', config], { cwd: dir });
    expect(run.status, run.stderr).toBe(2);
    expect(run.stderr).toContain('--resource /nope: not a protected resource of this gateway');
    expect(run.stderr).toContain('--redirect-uri');
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(join(dir, '.gatehouse'))).toBe(false);
  });
});

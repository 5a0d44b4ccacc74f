// `gatehouse serve` with auth.mode none on an address other machines reach: anyone who
// reaches the port uses every tool, so serve says so at start, as a warning (the words are
// config's configWarnings, shared with config check). On loopback it says nothing.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { servesKilledAfterEach, startServe, tempRoot } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const tmp = tempRoot('gh-serve-none-bind-');
afterAll(() => tmp.remove());
const serving = servesKilledAfterEach();

function noneConfig(dir: string): string {
  const file = join(dir, 'gatehouse.yaml');
  writeFileSync(file, `auth: { mode: none }\nservers:\n  raw: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(RAW_FIXTURE)}] }\n`);
  return file;
}

const warnings = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((l) => l.level === 'warn' && l.msg.includes('auth.mode is none'));

describe('serve, auth.mode none', () => {
  it('on 0.0.0.0 warns at start that anyone who reaches the port can use every tool', async () => {
    const dir = tmp.freshDir();
    const run = await startServe(['--config', noneConfig(dir), '--listen', '0.0.0.0:0'], dir);
    serving.push(run);
    const said = warnings(run.stderr());
    expect(said).toHaveLength(1);
    expect(said[0]!.msg).toContain('0.0.0.0');
    expect(said[0]!.msg).toContain('every tool');
  });

  it('on loopback says nothing of it', async () => {
    const dir = tmp.freshDir();
    const run = await startServe(['--config', noneConfig(dir), '--listen', '127.0.0.1:0'], dir);
    serving.push(run);
    expect(warnings(run.stderr())).toHaveLength(0);
  });
});

// `gatehouse serve` with auth.mode oauth writes JSON log lines on stderr and nothing else: on
// Node 20, oidc-provider's plain-text "Unsupported runtime" warning becomes one of them
// (src/auth/server/runtime-notice.ts). Run as a person runs it, with token requests served.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startServe, tempRoot } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const { freshDir, remove } = tempRoot('gh-serve-stderr-');
afterAll(remove);

const SECRET = 'robot-secret-0123456789abcdefghijkl';

it('writes only JSON lines on stderr, the provider\'s runtime warning among them', async () => {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  writeFileSync(
    config,
    JSON.stringify({
      listen: '127.0.0.1:0',
      dataDir: join(dir, 'data'),
      auth: { mode: 'oauth', clients: [{ clientId: 'robot', clientSecret: SECRET, redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'], resource: '/raw/mcp' }] },
      servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } },
    }),
  );
  const run = await startServe(['--config', config], dir);
  try {
    const fields = { grant_type: 'client_credentials', client_id: 'robot', client_secret: SECRET };
    const asForm = await fetch(`${run.base}/oauth/token`, { method: 'POST', body: new URLSearchParams(fields) });
    expect(asForm.status).toBe(200);
    const asJson = await fetch(`${run.base}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fields) });
    expect(asJson.status).toBe(200);
  } finally {
    const exited = new Promise((resolve) => run.child.once('exit', resolve));
    run.child.kill('SIGTERM');
    await exited;
  }
  const lines = run.stderr().split('\n').filter((l) => l.trim() !== '');
  const notJson = lines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
  expect(notJson).toEqual([]);
  const records = lines.map((l) => JSON.parse(l) as { level: string; event?: string; msg: string });
  expect(records.some((r) => r.msg === 'gatehouse is listening')).toBe(true);
  // oidc-provider 9 warns below Node 22 (lib/index.js: an LTS before "Jod").
  const warned = records.filter((r) => r.event === 'unsupported_runtime');
  if (Number(process.versions.node.split('.')[0]) < 22) {
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', msg: 'oidc-provider: Unsupported runtime. Use Node.js v22.x LTS, or a later LTS release.' });
  }
});

// Server names Gatehouse cannot route. In the native format `config check` refuses them in
// ServerNameSchema's words (not zod's "Invalid key in record"); a Claude Desktop file, which
// is accepted as it is (CONTRACT.md), has them renamed ("My Server" -> my-server) with a
// warning, in `config check`, `config migrate` and `serve`, whose renamed routes answer.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { RAW_FIXTURE } from './helpers/gateway.js';
import { runCli, servesKilledAfterEach, startServe, tempRoot } from './helpers/cli.js';

const { freshDir, remove } = tempRoot('gh-server-names-');
afterAll(remove);
const serving = servesKilledAfterEach();

const CHARACTERS = 'a server name may hold letters, digits, - and single _ (it becomes a URL path and a tool prefix)';

/** Each server the raw fixture, which says its name back (`whoami` reports FIXTURE_VALUE). */
const raw = (name: string) => ({ command: process.execPath, args: [RAW_FIXTURE], env: { FIXTURE_VALUE: name } });
const DESKTOP_NAMES = ['memory.v2', 'My Server', 'my.server', 'api', 'api-server', '_private', 'Memory', 'memory'];
// What each is served as: kept names win; -2, -3 where a new name is taken; case-only differences are two routes.
const SERVED_AS: Record<string, string> = {
  'memory.v2': 'memory-v2',
  'My Server': 'my-server',
  'my.server': 'my-server-2',
  api: 'api-server-2',
  'api-server': 'api-server',
  _private: 'private',
  Memory: 'Memory',
  memory: 'memory',
};

function desktopFile(): { dir: string; file: string } {
  const dir = freshDir();
  const file = join(dir, 'claude_desktop_config.json');
  writeFileSync(file, JSON.stringify({ mcpServers: Object.fromEntries(DESKTOP_NAMES.map((n) => [n, raw(n)])) }, null, 2));
  return { dir, file };
}

const warningFor = (from: string) => {
  const to = SERVED_AS[from]!;
  const why = from === 'api' ? '"api" is a route of the gateway itself; pick another name' : `"${from}" cannot be a server name: ${CHARACTERS}`;
  return `mcpServers.${from}: served as "${to}" at /${to}/mcp (its tools are ${to}__TOOL on /mcp), since ${why}`;
};
const RENAMED = DESKTOP_NAMES.filter((n) => SERVED_AS[n] !== n);

describe('a server name that cannot be a route', () => {
  it('native config: config check names each refused key and says why in the server-name rule\'s words', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'gatehouse.yaml'), ['auth: { mode: none }', 'servers:', '  memory.v2: { command: node }', '  My Server: { command: node }', '  api: { command: node }', '  _private: { command: node }', '  ok: { command: node }', ''].join('\n'));
    const r = await runCli(['config', 'check'], { cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).not.toContain('Invalid key in record');
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  servers.'));
    expect(lines).toEqual([
      `  servers.memory.v2: "memory.v2" cannot be a server name: ${CHARACTERS}`,
      `  servers.My Server: "My Server" cannot be a server name: ${CHARACTERS}`,
      '  servers.api: "api" is a route of the gateway itself; pick another name',
      `  servers._private: "_private" cannot be a server name: ${CHARACTERS}`,
    ]);
  });

  it('Claude Desktop file: config check accepts it, naming each renamed server, its new name and route', async () => {
    const { dir, file } = desktopFile();
    const r = await runCli(['config', 'check', file], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: mcpServers.'));
    expect(warnings).toEqual(RENAMED.map((n) => `warning: ${warningFor(n)}`));
    for (const name of Object.values(SERVED_AS)) expect(r.stdout).toContain(`${name} (stdio)`);
  });

  it('Claude Desktop file: config migrate writes the new names, with the warnings as comments, and its output checks clean', async () => {
    const { dir, file } = desktopFile();
    const r = await runCli(['config', 'migrate', file], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    for (const n of RENAMED) expect(r.stdout).toContain(`# warning: ${warningFor(n)}\n`);
    const doc = parseYaml(r.stdout) as { servers: Record<string, { env: { FIXTURE_VALUE: string } }> };
    expect(Object.keys(doc.servers)).toEqual(DESKTOP_NAMES.map((n) => SERVED_AS[n]));
    // Each entry under its new name is the one the file had under the old.
    for (const n of DESKTOP_NAMES) expect(doc.servers[SERVED_AS[n]!]!.env.FIXTURE_VALUE).toBe(n);
    const migrated = join(dir, 'gatehouse.yaml');
    writeFileSync(migrated, r.stdout);
    const again = await runCli(['config', 'check', migrated], { cwd: dir });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('warning: mcpServers.');
  });

  it('Claude Desktop file: serve logs the renames and each server answers at its new route; Memory and memory are two', async () => {
    const { dir, file } = desktopFile();
    const run = await startServe(['--config', file, '--listen', '127.0.0.1:0'], dir);
    serving.push(run);
    for (const n of RENAMED) expect(run.stderr()).toContain(JSON.stringify(`config: ${warningFor(n)}`).slice(1, -1));
    for (const from of ['My Server', 'my.server', 'api', 'memory.v2', 'Memory', 'memory']) {
      const client = new Client({ name: 'server-names-test', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${run.base}/${SERVED_AS[from]}/mcp`)));
      const result = await client.callTool({ name: 'whoami', arguments: {} });
      await client.close();
      const text = (result.content as Array<{ type: string; text: string }>)[0]!.text;
      expect((JSON.parse(text) as { value: string }).value, from).toBe(from);
    }
    // The old spelling is no route.
    const old = await fetch(`${run.base}/My%20Server/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
    expect(old.status).toBe(404);
  });
});

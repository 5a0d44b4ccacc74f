// A token endpoint that cannot be reached is named as such, not blamed on the MCP server: a
// real `gatehouse connect --grant client_credentials` whose MCP server (a real `gatehouse serve`)
// is up while its --token-url is not (a closed port; a host name that does not resolve). The
// error names the host that failed and says it is the token endpoint (token-request.ts labels
// the OAuth client's requests; errors.ts describeFailure reads the label).
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connectUntilExit, startServe, tempRoot, type ServeRun } from './helpers/cli.js';
import { RAW_FIXTURE } from './helpers/gateway.js';

const { freshDir, remove } = tempRoot('gh-token-down-');
let gateway: ServeRun;

beforeAll(async () => {
  const dir = freshDir();
  const config = join(dir, 'gatehouse.json');
  writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'tokens', tokens: ['t'] }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } }));
  gateway = await startServe(['--config', config], dir);
}, 60_000);

afterAll(() => {
  gateway?.child.kill('SIGKILL');
  remove();
});

/** A port nothing listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const machineFlags = (tokenUrl: string) => ['--grant', 'client_credentials', '--client-id', 'c', '--client-secret', 's', '--token-url', tokenUrl, '--token-store', 'memory'];

describe('connect: an unreachable token endpoint', () => {
  it('connection refused: names the token endpoint and its port, not the MCP server', async () => {
    const port = await closedPort();
    const mcp = `${gateway.base}/raw/mcp`;
    const run = await connectUntilExit([mcp, ...machineFlags(`http://127.0.0.1:${port}/token`)], {}, freshDir());
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain(`gatehouse: no access token for ${mcp}: connection refused by the token endpoint 127.0.0.1:${port} (http://127.0.0.1:${port}/token): is it running?`);
    expect(run.stderr).not.toContain(`connection refused by ${new URL(mcp).host}`);
  });

  it('a host name that does not resolve: names that host as the token endpoint', async () => {
    const run = await connectUntilExit([`${gateway.base}/raw/mcp`, ...machineFlags('https://token-endpoint.invalid/oauth/token')], {}, freshDir());
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toContain('cannot resolve host name token-endpoint.invalid of the token endpoint (https://token-endpoint.invalid/oauth/token)');
  });
});

// `servers.NAME.oauth` (client_credentials) whose secret the authorization server no longer
// accepts: the operator reads the token endpoint's own error (invalid_client), not the SDK's
// misreading of undici's Response (`server_error ... Raw body: [object Response]`). A real
// `gatehouse serve` issues the tokens (a client added with `clients add --grant
// client_credentials`, its secret then rotated); an in-process gateway uses it as an upstream.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';

import { createLogger } from '../src/observability/index.js';
import { runCli, startServe, tempRoot, servesKilledAfterEach } from './helpers/cli.js';
import { connectClient } from './helpers/client.js';
import { RAW_FIXTURE, startTestGateway } from './helpers/gateway.js';

const { freshDir, remove } = tempRoot('gh-oauth-errors-upstream-');
afterAll(remove);
const serving = servesKilledAfterEach();

describe('servers.NAME.oauth: the token endpoint refuses the client', () => {
  it('reports invalid_client (the authorization server\'s word) when the secret was rotated', async () => {
    const dir = freshDir();
    const config = join(dir, 'gatehouse.json');
    writeFileSync(config, JSON.stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'data'), auth: { mode: 'oauth' }, servers: { raw: { command: process.execPath, args: [RAW_FIXTURE] } } }));
    const added = await runCli(['clients', 'add', '--name', 'Gateway B', '--redirect-uri', 'https://b.example/cb', '--grant', 'client_credentials', '--json', '--config', config], { cwd: dir });
    expect(added.status, added.stderr).toBe(0);
    const { clientId, clientSecret } = JSON.parse(added.stdout) as { clientId: string; clientSecret: string };
    const rotated = await runCli(['clients', 'update', clientId, '--rotate-secret', '--json', '--config', config], { cwd: dir });
    expect(rotated.status, rotated.stderr).toBe(0);
    const a = await startServe(['--config', config], dir);
    serving.push(a);

    process.env.GATEHOUSE_TEST_OLD_SECRET = clientSecret;
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const b = await startTestGateway(
      { servers: { viaA: { url: `${a.base}/raw/mcp`, transport: 'streamable-http', oauth: { grant: 'client_credentials', clientId, clientSecret: 'env:GATEHOUSE_TEST_OLD_SECRET', scope: 'mcp' } } } },
      { logger: createLogger({ level: 'warn', destination: sink }) },
    );
    try {
      const failed = await connectClient(new StreamableHTTPClientTransport(new URL(`${b.base}/viaA/mcp`))).then(
        async (client) => {
          await client.close();
          return undefined;
        },
        (error: unknown) => error as Error,
      );
      expect(failed).toBeInstanceOf(Error);
      const log = lines.join('');
      expect(log).toContain('"upstream":"viaA"');
      // oidc-provider's error_description for invalid_client.
      expect(log).toContain('client authentication failed');
      expect(log).not.toContain('[object Response]');
      // The link's own failure kind is readable (a field named `code` is redacted as an OAuth code).
      expect(log).toMatch(/"msg":"remote link closed"/);
      expect(log).not.toContain('"code":"[REDACTED]"');
      expect(log).toContain('"failure":"http-status"');
      expect(log).not.toContain(clientSecret);
    } finally {
      await b.close();
    }
  }, 90_000);
});

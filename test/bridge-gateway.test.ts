// Bridge -> Gatehouse gateway with OAuth -> upstream (issue 4, "Show it with"): a real
// `gatehouse connect` process in front of a real gateway whose own authorization server
// (auth.mode oauth) guards a stdio server. The bridge registers (DCR, native loopback
// redirect), its --browser-command signs in on the gateway's login page and consents
// (test/fixtures/fake-opener.mjs), and the SDK client then calls a tool through both.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const OPENER = fileURLToPath(new URL('./fixtures/fake-opener.mjs', import.meta.url));
const PASSWORD = 'a long enough passphrase';

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(() => gw?.close());

describe('bridge -> gateway with OAuth -> stdio upstream', () => {
  for (const transport of ['auto', 'streamable-http']) {
    it(`logs in on the gateway's pages and calls a tool (--transport ${transport})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bridge-gw-'));
      const log = join(dir, 'opener.log');
      const trace = join(dir, 'trace.jsonl');
      const stdio = new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', CLI, 'connect', `${gw.base}/raw/mcp`, '--transport', transport, '--browser-command', `${process.execPath} ${OPENER}`, '--trace-file', trace],
        env: { ...process.env, XDG_CONFIG_HOME: dir, FAKE_OPENER_USERNAME: 'alice', FAKE_OPENER_PASSWORD: PASSWORD, FAKE_OPENER_LOG: log },
        stderr: 'pipe',
      });
      let stderr = '';
      stdio.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const client = new Client({ name: 'bridge-gateway-test', version: '1.0.0' });
      try {
        await client.connect(stdio).catch((error: unknown) => {
          throw new Error(`connect failed: ${String(error)}\n${stderr}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
        });
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toContain('echo');
        const echoed = await client.callTool({ name: 'echo', arguments: { via: 'bridge and gateway' } });
        expect(JSON.stringify(echoed.content)).toContain('bridge and gateway');
      } finally {
        await client.close();
      }
      const opened = readFileSync(log, 'utf8');
      expect(opened).toMatch(/POST \S+\/login\//);
      expect(opened).toMatch(/POST \S+\/consent\//);
      // The gateway's own endpoints were used: its metadata, registration and token endpoint.
      const spans = readFileSync(trace, 'utf8');
      expect(spans).toContain(`"url":"${gw.base}/oauth/register"`);
      expect(spans).toContain('"name":"oauth.token.authorization_code"');
    }, 90_000);
  }
});

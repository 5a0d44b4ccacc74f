// A third-party OAuth client: `mcp-remote` (npm) bridges stdio to the gateway, registers itself
// (DCR), sends the "browser" to the login and consent pages, then lists and calls tools.
// How its browser is redirected: mcp-remote opens URLs with the `open` package, which on Linux
// runs the xdg-open script bundled in node_modules/open (not the one on PATH); with no desktop
// session that script runs `$BROWSER <url>`. So BROWSER names a shim that runs
// test/fixtures/fake-opener.mjs, which signs in and consents with HTTP requests and follows the
// redirect to mcp-remote's loopback callback. The same shim is also first on PATH as `xdg-open`,
// in case a later `open` (or a bundled build of it) runs the system xdg-open by name.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const PASSWORD = 'a long enough passphrase';
const MCP_REMOTE = fileURLToPath(new URL('../node_modules/mcp-remote/dist/proxy.js', import.meta.url));
const OPENER = fileURLToPath(new URL('./fixtures/fake-opener.mjs', import.meta.url));

let gw: Awaited<ReturnType<typeof startTestGateway>>;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gh-mcp-remote-'));
  gw = await startTestGateway({
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The child's environment: a private HOME and config dir, no desktop, the fake browser. */
function mcpRemoteEnv(): Record<string, string> {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const shim = join(bin, 'xdg-open');
  writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(OPENER)} "$1"\n`);
  chmodSync(shim, 0o755);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const k of ['DISPLAY', 'WAYLAND_DISPLAY', 'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION', 'KDE_FULL_SESSION', 'GNOME_DESKTOP_SESSION_ID']) delete env[k];
  return {
    ...env,
    PATH: `${bin}${delimiter}${env.PATH ?? ''}`,
    BROWSER: shim,
    HOME: home,
    MCP_REMOTE_CONFIG_DIR: join(home, '.mcp-auth'),
    FAKE_OPENER_USERNAME: 'alice',
    FAKE_OPENER_PASSWORD: PASSWORD,
    FAKE_OPENER_LOG: join(dir, 'opener.log'),
  };
}

describe('mcp-remote through the gateway', () => {
  it('registers, logs in through the "browser", lists and calls tools', async () => {
    const env = mcpRemoteEnv();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, `${gw.base}/raw/mcp`, '--transport', 'http-only', '--auth-timeout', '25'],
      env,
      cwd: env.HOME,
      stderr: 'pipe',
    });
    // Remember the child's pid as soon as it is spawned: after a failed connect the SDK
    // forgets its process, and the child must not outlive the test.
    const child: { pid: number | null } = { pid: null };
    const start = transport.start.bind(transport);
    transport.start = async () => {
      await start();
      child.pid = transport.pid;
    };
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'mcp-remote-test', version: '1.0.0' });
    const diagnostics = () => {
      const log = env.FAKE_OPENER_LOG!;
      return `--- mcp-remote stderr ---\n${stderr}\n--- opener log ---\n${existsSync(log) ? readFileSync(log, 'utf8') : '(none)'}`;
    };
    try {
      await client.connect(transport, { timeout: 30_000 }).catch((err: unknown) => {
        throw new Error(`connect failed: ${String(err)}\n${diagnostics()}`);
      });
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('echo');
      const echoed = await client.callTool({ name: 'echo', arguments: { hello: 'mcp-remote' } });
      expect(JSON.stringify(echoed.content)).toContain('mcp-remote');
      // The opener really went through the login and consent pages.
      const trace = readFileSync(env.FAKE_OPENER_LOG!, 'utf8');
      expect(trace).toMatch(/POST \S+\/login\//);
      expect(trace).toMatch(/POST \S+\/consent\//);
      expect(trace).toContain('done');
    } finally {
      await client.close();
      if (child.pid !== null) {
        try {
          process.kill(child.pid, 0);
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }, 60_000);
});

// The official MCP conformance suite (server scenarios), run through the gateway for a
// stdio upstream and for a Streamable HTTP upstream, both eras. The upstream is our
// fixture of the suite's "everything" surface, which passes the suites directly
// (test/fixtures/everything-server.test.ts runs it; scripts/conformance/ holds baselines).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEverythingHttp, type EverythingHttpServer } from './fixtures/everything-server.js';
import { everythingStdio, startTestGateway } from './helpers/gateway.js';

const runner = fileURLToPath(new URL('../scripts/conformance/run-server.mjs', import.meta.url));
const baseline = (name: string) => fileURLToPath(new URL(`../scripts/conformance/${name}`, import.meta.url));

function runSuite(url: string, suite: '2025' | '2026', expected: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runner, '--url', url, '--suite', suite, '--expected-failures', baseline(expected)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

let gw: Awaited<ReturnType<typeof startTestGateway>>;
let fixture: EverythingHttpServer;

beforeAll(async () => {
  fixture = await startEverythingHttp(0);
  gw = await startTestGateway({
    servers: { stdio: everythingStdio(), http: { url: fixture.url, transport: 'streamable-http' } },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await fixture?.close();
});

describe('conformance through the gateway', () => {
  const cases: [string, '2025' | '2026', string][] = [
    ['stdio', '2025', 'expected-failures-2025.yaml'],
    ['stdio', '2026', 'expected-failures-gateway-2026-stdio.yaml'],
    ['http', '2025', 'expected-failures-2025.yaml'],
    ['http', '2026', 'expected-failures-gateway-2026-http.yaml'],
  ];
  for (const [server, suite, expected] of cases) {
    it(`${suite} server scenarios pass for the ${server} upstream`, async () => {
      const { code, output } = await runSuite(`${gw.base}/${server}/mcp`, suite, expected);
      if (code !== 0) console.error(output.slice(-4000));
      expect(code).toBe(0);
    }, 120_000);
  }
});

// The official conformance suite's client scenarios run through `gatehouse connect` by
// scripts/conformance/bridge-driver.mjs: `client --suite auth` of 0.1.16 (about 15-30 s here)
// and `client --requirements 2026-07-28` of conformance-next 0.2.0-alpha.12 (about 40 s).
// Baselines (with reasons) in scripts/conformance/expected-failures-client-*.yaml.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const runner = fileURLToPath(new URL('../scripts/conformance/run-client.mjs', import.meta.url));
const baseline = (name: string) => fileURLToPath(new URL(`../scripts/conformance/${name}`, import.meta.url));

function runSuite(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [runner, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DRIVER_LOG_LEVEL: 'info' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('conformance: client scenarios through the bridge', () => {
  it('passes every scenario of the 0.1.16 auth suite', async () => {
    const { code, output } = await runSuite(['--suite', 'auth', '--expected-failures', baseline('expected-failures-client-auth.yaml')]);
    if (code !== 0) console.error(output.slice(-6000));
    expect(output).toContain('=== SUITE SUMMARY ===');
    expect(code).toBe(0);
  }, 150_000);

  it('passes the 2026-07-28 requirements but the baseline', async () => {
    const { code, output } = await runSuite(['--requirements', '2026-07-28', '--expected-failures', baseline('expected-failures-client-2026.yaml')]);
    if (code !== 0) console.error(output.slice(-6000));
    expect(output).toContain('=== SUITE SUMMARY ===');
    expect(code).toBe(0);
  }, 180_000);
});

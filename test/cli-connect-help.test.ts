// `gatehouse connect --help` and `login --help` describe --expected-issuer as the bridge applies
// it (client-binding.ts clientBinding()): it binds every run it is given, a login without
// --client-id (dynamic registration, a client ID metadata document) included, not only
// client_credentials and a --client-id login.
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

/** The --expected-issuer entry of a command's help, its wrapped lines joined. */
async function expectedIssuerHelp(command: string): Promise<string> {
  const run = await runCli([command, '--help'], { cwd: tmpdir() });
  expect(run.status, run.stderr).toBe(0);
  const lines = run.stdout.split('\n');
  const start = lines.findIndex((l) => l.trimStart().startsWith('--expected-issuer'));
  expect(start, run.stdout).toBeGreaterThan(-1);
  const entry = [lines[start]!];
  // Commander indents an option by two spaces and its continuation lines by more.
  for (const line of lines.slice(start + 1)) {
    if (!/^ {4,}\S/.test(line)) break;
    entry.push(line);
  }
  return entry.map((l) => l.trim()).join(' ');
}

describe('--expected-issuer in the help', () => {
  it.each(['connect', 'login'])('%s: says it binds a login with or without --client-id', async (command) => {
    const help = await expectedIssuerHelp(command);
    expect(help).toContain('with or without --client-id');
    expect(help).toContain('registers a client');
    expect(help).not.toContain('a --client-id login');
  });
});

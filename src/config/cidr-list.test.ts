import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { expandAddressList } from './cidr-list.js';
import { ConfigError } from './errors.js';
import { loadConfig } from './load.js';

// Seed 004 keeps ChatGPT out of reach of everyone else with OpenAI's published egress ranges
// (chatgpt-actions.json); a downloaded copy of that file is the list, as it is.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'gh-cidr-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const OPENAI = JSON.stringify({ creationTime: '2026-01-01T00:00:00.000000', prefixes: [{ ipv4Prefix: '23.102.140.112/28' }, { ipv4Prefix: '13.66.11.96/28' }, { ipv6Prefix: '2603:1030::/48' }] });

describe('address lists from files', () => {
  it('reads auth.allowedIps from a published prefixes file, a JSON array, or lines with comments; entries may mix', async () => {
    const dir = configDir({
      'chatgpt-actions.json': OPENAI,
      'office.txt': '# the office\n203.0.113.0/24\n198.51.100.7  # the VPN\n',
      'gatehouse.yaml': [
        'auth:',
        '  mode: tokens',
        '  tokens: [t]',
        '  allowedIps: file:chatgpt-actions.json',
        '  registration:',
        '    allowedIps: [10.0.0.0/8, file:office.txt]',
        'servers: { a: { command: node } }',
        '',
      ].join('\n'),
    });
    const cfg = (await loadConfig({ location: join(dir, 'gatehouse.yaml'), cwd: dir, env: {} }))!;
    expect(cfg.auth.allowedIps).toEqual(['23.102.140.112/28', '13.66.11.96/28', '2603:1030::/48']);
    expect(cfg.auth.registration.allowedIps).toEqual(['10.0.0.0/8', '203.0.113.0/24', '198.51.100.7']);
  });

  it('names a file entry that is not an address at its path', async () => {
    const dir = configDir({
      'bad.json': JSON.stringify({ prefixes: [{ ipv4Prefix: '23.102.140.112/28' }, { ipv4Prefix: 'not-an-ip' }] }),
      'gatehouse.yaml': 'auth: { mode: tokens, tokens: [t], allowedIps: file:bad.json }\nservers: { a: { command: node } }\n',
    });
    const error = await loadConfig({ location: join(dir, 'gatehouse.yaml'), cwd: dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([{ path: 'auth.allowedIps[1]', message: 'must be an IP address or CIDR, e.g. 10.0.0.0/8 or ::1' }]);
  });

  it('refuses a file that yields no address: an empty allowlist would let everyone in', async () => {
    for (const text of ['', '   \n', '# only comments\n# here\n', '{"prefixes": []}', '[]']) {
      const dir = configDir({ 'ranges.txt': text, 'gatehouse.yaml': 'auth: { mode: tokens, tokens: [t], allowedIps: file:ranges.txt, registration: { allowedIps: [10.0.0.0/8, file:ranges.txt] } }\nservers: { a: { command: node } }\n' });
      const error = await loadConfig({ location: join(dir, 'gatehouse.yaml'), cwd: dir, env: {} }).catch((e: unknown) => e);
      expect(error, JSON.stringify(text)).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues.filter((i) => i.message.includes('holds no address'));
      expect(issues.map((i) => i.path).sort(), JSON.stringify(text)).toEqual(['auth.allowedIps', 'auth.registration.allowedIps']);
    }
    // Written in the config, an empty list is what it says.
    const open = configDir({ 'gatehouse.yaml': 'auth: { mode: tokens, tokens: [t], allowedIps: [] }\nservers: { a: { command: node } }\n' });
    expect((await loadConfig({ location: join(open, 'gatehouse.yaml'), cwd: open, env: {} }))!.auth.allowedIps).toEqual([]);
  });

  it('leaves text that is not a list whole, so that the error shows where it went wrong', () => {
    expect(expandAddressList('{"not": "prefixes"}')).toEqual(['{"not": "prefixes"}']);
    expect(expandAddressList('{broken')).toEqual(['{broken']);
    expect(expandAddressList('["::1", "127.0.0.1"]')).toEqual(['::1', '127.0.0.1']);
    expect(expandAddressList('10.0.0.1, 10.0.0.2')).toEqual(['10.0.0.1', '10.0.0.2']);
  });
});

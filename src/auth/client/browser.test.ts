import { describe, expect, it } from 'vitest';

import { assertBrowsableUrl, openBrowser, splitCommand } from './browser.js';

describe('assertBrowsableUrl (CVE-2025-6514)', () => {
  it('accepts http and https', () => {
    expect(assertBrowsableUrl('https://as.example.com/authorize?x=1').href).toBe('https://as.example.com/authorize?x=1');
    expect(assertBrowsableUrl('http://127.0.0.1:8080/authorize').protocol).toBe('http:');
  });

  const hostile = [
    'file:///etc/passwd',
    'javascript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'ms-msdt:/id PCWDiagnostic',
    'a:$(calc.exe)',
    'vbscript:msgbox(1)',
    'smb://attacker/share',
    '$(touch /tmp/pwned)',
    'not a url',
  ];
  for (const url of hostile) {
    it(`refuses ${url}`, () => {
      expect(() => assertBrowsableUrl(url)).toThrow(/refusing/);
    });
  }

  it('never starts a program for a refused URL', async () => {
    const lines: string[] = [];
    await expect(openBrowser('file:///etc/passwd', { command: 'definitely-not-run', notify: (l) => lines.push(l) })).rejects.toThrow(/refusing/);
    expect(lines).toEqual([]);
  });
});

describe('splitCommand', () => {
  it('splits words and keeps quoted groups, with no shell expansion', () => {
    expect(splitCommand('firefox --new-window')).toEqual(['firefox', '--new-window']);
    expect(splitCommand(`"/opt/My Browser/bin" --flag 'a b' $(x) ;rm`)).toEqual(['/opt/My Browser/bin', '--flag', 'a b', '$(x)', ';rm']);
    expect(splitCommand('  ')).toEqual([]);
  });
});

describe('openBrowser', () => {
  it('always prints the URL, even when the browser cannot start', async () => {
    const lines: string[] = [];
    await openBrowser('https://as.example.com/authorize?state=abc', { command: 'gatehouse-no-such-browser-xyz', notify: (l) => lines.push(l) });
    expect(lines[0]).toContain('https://as.example.com/authorize?state=abc');
    expect(lines.join('\n')).toContain('could not start');
  });
});

// The start-up issuer_not_public warning names PUBLIC_URL only for a setup read from the
// environment: with a config file (native, tbxark, claude-desktop) PUBLIC_URL is not read.
import { describe, expect, it } from 'vitest';
import { unreachableIssuerWarning } from '../src/auth/server/public-url-warnings.js';
import type { ResolvedConfig } from '../src/config/index.js';

type Shape = Parameters<typeof unreachableIssuerWarning>[0];
const base = (format: ResolvedConfig['source']['format']): Shape =>
  ({
    publicUrl: undefined,
    listen: { host: '0.0.0.0', port: 8080 },
    auth: { mode: 'oauth' },
    source: { format, location: format === 'environment' ? undefined : '/x/gatehouse.yaml' },
  }) as unknown as Shape;

describe('unreachableIssuerWarning advice', () => {
  it('with a config file, says publicUrl or --public-url, not PUBLIC_URL', () => {
    for (const format of ['native', 'tbxark', 'claude-desktop', 'demo'] as const) {
      const msg = unreachableIssuerWarning(base(format), 'http://localhost:8080');
      expect(msg).toContain('set publicUrl (or --public-url) to the address clients use');
      expect(msg).not.toContain('PUBLIC_URL');
    }
  });

  it('for an environment-only setup, also names PUBLIC_URL', () => {
    const msg = unreachableIssuerWarning(base('environment'), 'http://localhost:8080');
    expect(msg).toContain('set publicUrl (or --public-url, PUBLIC_URL) to the address clients use');
  });
});

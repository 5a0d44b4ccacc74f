// The session-era version rules agree with each other: what initialize answers and what the
// MCP-Protocol-Version header check accepts (docs/decisions/0018-session-era-versions.md).
import { describe, expect, it } from 'vitest';
import { LEGACY_PROTOCOL_VERSIONS, isSupportedLegacyVersion, negotiateLegacyVersion } from './protocol.js';

// Listed by hand, not from LEGACY_PROTOCOL_VERSIONS, so a version dropped from one rule and not the other shows.
const CANDIDATES: unknown[] = [
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
  '2025-01-01',
  '2026-07-28',
  '2099-01-01',
  ' 2025-06-18',
  '2025-06-18 ',
  '2025-11-25x',
  'zzz',
  '',
  42,
  null,
  undefined,
  ['2025-06-18'],
  { version: '2025-06-18' },
];

describe('session-era versions', () => {
  it('answers a supported version with itself and anything else with the newest', () => {
    for (const v of LEGACY_PROTOCOL_VERSIONS) expect(negotiateLegacyVersion(v)).toBe(v);
    expect(LEGACY_PROTOCOL_VERSIONS).toContain('2024-11-05');
    for (const v of CANDIDATES.filter((c) => !(LEGACY_PROTOCOL_VERSIONS as readonly unknown[]).includes(c))) {
      expect(negotiateLegacyVersion(v), JSON.stringify(v)).toBe('2025-11-25');
    }
  });

  it('the header check accepts exactly what initialize can answer', () => {
    const answers = new Set(CANDIDATES.map(negotiateLegacyVersion));
    expect([...answers].sort()).toEqual([...LEGACY_PROTOCOL_VERSIONS].sort());
    for (const v of CANDIDATES.filter((c): c is string => typeof c === 'string')) {
      expect(isSupportedLegacyVersion(v), v).toBe(negotiateLegacyVersion(v) === v);
    }
  });
});

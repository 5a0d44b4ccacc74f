import { describe, expect, it } from 'vitest';
import { isNotification, isRequest, isResponse, parseMessage, progressTokenOf } from './index.js';

describe('parseMessage', () => {
  it('accepts requests, notifications and responses', () => {
    for (const m of [
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'a', result: {} },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'x' } },
    ]) {
      expect(parseMessage(m).ok).toBe(true);
    }
  });
  it('refuses what is not JSON-RPC, with a reason and the id when one is known', () => {
    const cases: [unknown, string][] = [
      [[1, 2], 'object'],
      ['text', 'object'],
      [{ id: 1, method: 'x' }, 'jsonrpc'],
      [{ jsonrpc: '2.0', id: {}, method: 'x' }, 'id must be'],
      [{ jsonrpc: '2.0', id: 3, method: '' }, 'method'],
      [{ jsonrpc: '2.0', id: 3, method: 'x', params: [1] }, 'params'],
      [{ jsonrpc: '2.0', id: 4 }, 'not a request'],
      [{ jsonrpc: '2.0', id: 5, error: 'bad' }, 'error must be'],
    ];
    for (const [value, reason] of cases) {
      const r = parseMessage(value);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toContain(reason);
    }
    const withId = parseMessage({ jsonrpc: '1.0', id: 7, method: 'x' });
    expect(withId.ok === false && withId.id).toBe(7);
  });
  it('classifies messages and finds progress tokens', () => {
    const req = { jsonrpc: '2.0' as const, id: 0, method: 'tools/call', params: { _meta: { progressToken: 'p1' } } };
    expect(isRequest(req)).toBe(true);
    expect(isNotification(req)).toBe(false);
    expect(isResponse({ jsonrpc: '2.0', id: 0, result: {} })).toBe(true);
    expect(progressTokenOf(req)).toBe('p1');
    expect(progressTokenOf({ jsonrpc: '2.0', method: 'x' })).toBeUndefined();
  });
});

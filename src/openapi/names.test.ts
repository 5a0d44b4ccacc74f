import { describe, expect, it } from 'vitest';
import { cut, operationIdFor, operationIds } from './names.js';

describe('operationIds', () => {
  it('keeps a name that already fits [A-Za-z0-9_-]{1,64}', () => {
    expect(operationIdFor('files__read_file')).toBe('files__read_file');
    expect(operationIdFor('get-structured-content')).toBe('get-structured-content');
  });

  it('replaces other characters and adds a hash of the original name, stable across calls', () => {
    const id = operationIdFor('weather.get forecast/ü');
    expect(id).toMatch(/^weather_get_forecast___[0-9a-f]{8}$/);
    expect(operationIdFor('weather.get forecast/ü')).toBe(id);
  });

  it('cuts long names to 64 characters, keeping different names apart', () => {
    const a = `${'x'.repeat(80)}a`;
    const b = `${'x'.repeat(80)}b`;
    expect(operationIdFor(a)).toHaveLength(64);
    expect(operationIdFor(a)).not.toBe(operationIdFor(b));
    expect(operationIdFor(a)).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });

  it('makes ids unique in a document even when a real name looks like a hashed one', () => {
    const hashed = operationIdFor('a.b');
    const ids = operationIds(['a.b', hashed, 'a_b']);
    expect(new Set(ids.values()).size).toBe(3);
    for (const id of ids.values()) expect(id).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    // The same input gives the same ids, whatever the order.
    const again = operationIds(['a_b', hashed, 'a.b']);
    for (const [name, id] of ids) expect(again.get(name)).toBe(id);
  });
});

describe('cut', () => {
  it('leaves short text alone and cuts long text to the limit with an ellipsis', () => {
    expect(cut('short', 300)).toBe('short');
    const long = 'word '.repeat(100);
    const out = cut(long, 300);
    expect([...out].length).toBeLessThanOrEqual(300);
    expect(out.endsWith('…')).toBe(true);
  });

  it('counts code points, so it never splits a surrogate pair', () => {
    const out = cut('😀'.repeat(10), 5);
    expect([...out]).toHaveLength(5);
    expect(out).toBe('😀😀😀😀…');
  });
});

import { describe, expect, it } from 'vitest';
import { filterToolList, toolAllowed } from './tool-filter.js';

describe('tool filters', () => {
  it('allow lists admit only what they name', () => {
    expect(toolAllowed({ allow: ['read'] }, 'read')).toBe(true);
    expect(toolAllowed({ allow: ['read'] }, 'write')).toBe(false);
  });
  it('block lists refuse only what they name', () => {
    expect(toolAllowed({ block: ['write'] }, 'write')).toBe(false);
    expect(toolAllowed({ block: ['write'] }, 'read')).toBe(true);
    expect(toolAllowed(undefined, 'anything')).toBe(true);
  });
  it('removes filtered tools from a list result and keeps the rest of it', () => {
    const result = { tools: [{ name: 'read' }, { name: 'write' }], nextCursor: 'c' };
    expect(filterToolList({ block: ['write'] }, result)).toEqual({ tools: [{ name: 'read' }], nextCursor: 'c' });
    expect(filterToolList(undefined, result)).toBe(result);
  });
});

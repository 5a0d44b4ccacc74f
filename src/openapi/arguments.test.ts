import { Ajv } from '@modelcontextprotocol/server/validators/ajv';
import { describe, expect, it, vi } from 'vitest';
import { ArgumentValidator, CACHED_CHECKS, nestedDeeperThan } from './arguments.js';

const validator = new ArgumentValidator();

describe('ArgumentValidator', () => {
  it('lists every problem at once, each with a JSON pointer', () => {
    const check = validator.checkerFor({
      type: 'object',
      properties: { a: { type: 'integer', minimum: 3 }, b: { type: 'array', items: { type: 'string' }, maxItems: 2 }, c: { enum: ['x', 'y'] }, d: {} },
      required: ['a', 'b', 'd'],
      additionalProperties: false,
    });
    const errors = check({ a: 1.5, b: [1, 'ok', 3], c: 'z', extra: true });
    const pointers = errors.map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/a', '/b', '/b/0', '/b/2', '/c', '/d', '/extra']));
    expect(errors.find((e) => e.pointer === '/d')?.detail).toBe('is required');
    expect(errors.find((e) => e.pointer === '/extra')?.detail).toBe('is not allowed here');
    expect(errors.find((e) => e.pointer === '/c')?.detail).toContain('["x","y"]');
    expect(check({ a: 4, b: ['s'], d: 1 })).toEqual([]);
  });

  it('understands the 2020-12 spellings: $defs refs, prefixItems, dependentRequired, if/then/else', () => {
    const check = validator.checkerFor({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }], items: false } },
      properties: { pair: { $ref: '#/$defs/pair' }, card: { type: 'string' }, cvc: { type: 'string' }, kind: { type: 'string' }, phone: { type: 'string' } },
      dependentRequired: { card: ['cvc'] },
      if: { properties: { kind: { const: 'phone' } }, required: ['kind'] },
      then: { required: ['phone'] },
    });
    expect(check({ pair: ['a', 1], card: '4111', cvc: '123', kind: 'phone', phone: '555' })).toEqual([]);
    const pointers = check({ pair: ['a', 'b', 'c'], card: '4111', kind: 'phone' }).map((e) => e.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/pair/1', '/pair', '/phone']));
    expect(check({ card: '4111' }).some((e) => e.detail.includes('cvc'))).toBe(true);
  });

  it('resolves $anchor references', () => {
    const check = validator.checkerFor({
      type: 'object',
      $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { city: { type: 'string' } } } },
      properties: { address: { $ref: '#addressDef' } },
    });
    expect(check({ address: { city: 7 } }).map((e) => e.pointer)).toEqual(['/address/city']);
  });

  it('is lenient when a schema cannot be compiled: the upstream still validates', () => {
    const check = validator.checkerFor({ type: 'object', properties: { x: { $ref: 'https://example.com/remote.json' } } });
    expect(check({ x: 1 })).toEqual([]);
  });

  it('compiles each schema object once', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(validator.checkerFor(schema)).toBe(validator.checkerFor(schema));
  });

  it('compiles a schema once however often the tool list is fetched again, and leaves nothing in ajv', () => {
    const compile = vi.spyOn(Ajv.prototype, 'compile');
    try {
      const fresh = new ArgumentValidator();
      // Each tools/list refresh hands over new objects with the same content.
      const listed = () => ({ type: 'object', properties: { a: { type: 'string' }, n: { $id: 'https://example.com/n', type: 'number' } }, required: ['a'] });
      for (let i = 0; i < 50; i++) expect(fresh.checkerFor(listed())({ n: 'x' }).map((e) => e.pointer).sort()).toEqual(['/a', '/n']);
      expect(compile).toHaveBeenCalledTimes(1);
      const engine = compile.mock.contexts[0] as { _cache: Map<unknown, unknown>; schemas: Record<string, unknown> };
      const cached = engine._cache.size;
      const registered = Object.keys(engine.schemas).length;
      // Distinct schemas, more than the LRU holds: each compiled once, none kept by ajv.
      const distinct = (i: number) => ({ type: 'object', properties: { [`p${i}`]: { type: 'integer' } }, required: [`p${i}`] });
      for (let i = 0; i < CACHED_CHECKS + 44; i++) expect(fresh.checkerFor(distinct(i))({})).toEqual([{ pointer: `/p${i}`, detail: 'is required' }]);
      expect(compile).toHaveBeenCalledTimes(CACHED_CHECKS + 45);
      expect(engine._cache.size).toBe(cached);
      expect(Object.keys(engine.schemas).length).toBe(registered);
      // The LRU is bounded: the oldest was dropped (compiled again), the newest was kept.
      fresh.checkerFor(distinct(CACHED_CHECKS + 43));
      expect(compile).toHaveBeenCalledTimes(CACHED_CHECKS + 45);
      fresh.checkerFor(distinct(0));
      expect(compile).toHaveBeenCalledTimes(CACHED_CHECKS + 46);
    } finally {
      compile.mockRestore();
    }
  });

  it('measures nesting without recursion', () => {
    expect(nestedDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestedDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
    expect(nestedDeeperThan('text', 0)).toBe(false);
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(nestedDeeperThan(deep, 64)).toBe(true);
  });
});

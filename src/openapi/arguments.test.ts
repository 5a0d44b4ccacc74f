import { describe, expect, it } from 'vitest';
import { ArgumentValidator } from './arguments.js';

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
});

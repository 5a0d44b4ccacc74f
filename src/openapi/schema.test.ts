import { describe, expect, it } from 'vitest';
import { resolveSchema, type JsonSchema } from './schema.js';

function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref') out.push(String(v));
      else refs(v, out);
    }
  }
  return out;
}

describe('resolveSchema', () => {
  it('inlines $defs, definitions, anchors and escaped pointers, and drops document keywords', () => {
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema(
      {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        $id: 'urn:example:tool',
        type: 'object',
        $defs: { 'a/b': { type: 'string' }, anchored: { $anchor: 'here', type: 'integer' } },
        definitions: { old: { type: 'boolean' } },
        properties: {
          slash: { $ref: '#/$defs/a~1b' },
          anchor: { $ref: '#here' },
          legacy: { $ref: '#/definitions/old' },
          byId: { $ref: 'urn:example:tool#/$defs/a~1b' },
        },
      },
      'op',
      components,
    );
    expect(out).toEqual({
      type: 'object',
      properties: { slash: { type: 'string' }, anchor: { type: 'integer' }, legacy: { type: 'boolean' }, byId: { type: 'string' } },
    });
    expect(components).toEqual({});
  });

  it('moves a schema that refers to itself into components, and every $ref points there', () => {
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema(
      {
        type: 'object',
        properties: { root: { $ref: '#/$defs/node' } },
        $defs: { node: { type: 'object', properties: { value: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } } } },
      },
      'tree_op',
      components,
    );
    expect(Object.keys(components)).toEqual(['tree_op.node']);
    const all = [...refs(out), ...refs(components)];
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((r) => r === '#/components/schemas/tree_op.node')).toBe(true);
    expect(JSON.stringify(components['tree_op.node'])).toContain('"value"');
  });

  it('handles a root that refers to itself (#)', () => {
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema({ type: 'object', properties: { next: { $ref: '#' } } }, 'list', components);
    expect(refs(out)).toEqual(['#/components/schemas/list.self']);
    expect(components['list.self']).toEqual({ type: 'object', properties: { next: { $ref: '#/components/schemas/list.self' } } });
  });

  it('turns references it cannot resolve into {} rather than leaving them dangling', () => {
    const out = resolveSchema(
      { type: 'object', properties: { remote: { $ref: 'https://example.com/schema.json' }, missing: { $ref: '#/$defs/nope' }, dyn: { $dynamicRef: '#meta' } } },
      'op',
      {},
    );
    expect(out).toEqual({ type: 'object', properties: { remote: {}, missing: {}, dyn: {} } });
  });

  it('keeps annotations beside a $ref, and wraps other siblings in allOf', () => {
    const out = resolveSchema(
      {
        type: 'object',
        $defs: { s: { type: 'string' } },
        properties: { a: { $ref: '#/$defs/s', description: 'an a' }, b: { $ref: '#/$defs/s', maxLength: 3 } },
      },
      'op',
      {},
    );
    expect(out).toEqual({
      type: 'object',
      properties: { a: { type: 'string', description: 'an a' }, b: { allOf: [{ type: 'string' }], maxLength: 3 } },
    });
  });

  it('leaves data keywords alone and cuts long descriptions to 700 characters', () => {
    const out = resolveSchema(
      { type: 'object', properties: { x: { const: { $ref: '#/not/a/schema' }, description: 'd'.repeat(900) } } },
      'op',
      {},
    ) as { properties: { x: { const: unknown; description: string } } };
    expect(out.properties.x.const).toEqual({ $ref: '#/not/a/schema' });
    expect([...out.properties.x.description].length).toBe(700);
  });
});

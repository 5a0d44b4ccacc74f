import { describe, expect, it } from 'vitest';
import { MAX_SCHEMA_DEPTH, MAX_SCHEMA_NODES, resolveSchema, tooLargeSchema, type JsonSchema } from './schema.js';

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
        $defs: { 'a/b': { type: 'string' }, anchored: { $anchor: 'here', type: 'integer' }, viaId: { type: 'number' } },
        definitions: { old: { type: 'boolean' } },
        properties: {
          slash: { $ref: '#/$defs/a~1b' },
          anchor: { $ref: '#here' },
          legacy: { $ref: '#/definitions/old' },
          byId: { $ref: 'urn:example:tool#/$defs/viaId' },
        },
      },
      'op',
      components,
    );
    expect(out).toEqual({
      type: 'object',
      properties: { slash: { type: 'string' }, anchor: { type: 'integer' }, legacy: { type: 'boolean' }, byId: { type: 'number' } },
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
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema(
      {
        type: 'object',
        $defs: { s: { type: 'string' }, once: { type: 'integer' }, twice: { type: 'boolean' } },
        properties: {
          a: { $ref: '#/$defs/once', description: 'an a' },
          b: { $ref: '#/$defs/s', maxLength: 3 },
          c: { $ref: '#/$defs/twice', description: 'a c' },
          d: { $ref: '#/$defs/twice' },
        },
      },
      'op',
      components,
    );
    expect(out).toEqual({
      type: 'object',
      properties: {
        a: { type: 'integer', description: 'an a' },
        b: { allOf: [{ type: 'string' }], maxLength: 3 },
        c: { $ref: '#/components/schemas/op.twice', description: 'a c' },
        d: { $ref: '#/components/schemas/op.twice' },
      },
    });
    expect(components).toEqual({ 'op.twice': { type: 'boolean' } });
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

  it('writes each shared $def once: a chain that doubles at every link stays small', () => {
    // a{i} uses a{i-1} twice: inlining every use would write 2^11 copies of a0 (100 KB or so).
    const defs: Record<string, unknown> = { a0: { type: 'string' } };
    for (let i = 1; i <= 11; i++) defs[`a${i}`] = { type: 'object', properties: { l: { $ref: `#/$defs/a${i - 1}` }, r: { $ref: `#/$defs/a${i - 1}` } } };
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema({ type: 'object', $defs: defs, properties: { x: { $ref: '#/$defs/a11' } } }, 'op', components);
    // a11 is used once (inlined); a0..a10 twice each (components).
    expect(Object.keys(components).sort()).toEqual(Array.from({ length: 11 }, (_, i) => `op.a${i}`).sort());
    expect(JSON.stringify(out)).toBe(
      JSON.stringify({ type: 'object', properties: { x: { type: 'object', properties: { l: { $ref: '#/components/schemas/op.a10' }, r: { $ref: '#/components/schemas/op.a10' } } } } }),
    );
    expect(JSON.stringify({ out, components }).length).toBeLessThan(3_000);
    for (const ref of [...refs(out), ...refs(components)]) expect(Object.keys(components)).toContain(ref.replace('#/components/schemas/', ''));
  });

  it('shows a chain whose expansion is past MAX_EXPANDED_NODES as a plain object (the review\'s 2 KB schema)', () => {
    const defs: Record<string, unknown> = { a0: { type: 'string' } };
    for (let i = 1; i <= 21; i++) defs[`a${i}`] = { type: 'object', properties: { l: { $ref: `#/$defs/a${i - 1}` }, r: { $ref: `#/$defs/a${i - 1}` } } };
    const components: Record<string, JsonSchema> = {};
    expect(resolveSchema({ type: 'object', $defs: defs, properties: { x: { $ref: '#/$defs/a21' } } }, 'op', components)).toEqual(tooLargeSchema());
    expect(components).toEqual({});
    // A recursive schema is not "infinite": the recursion counts once.
    const tree = { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#' } } } };
    expect(resolveSchema(tree, 't', {})).toEqual({ type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/components/schemas/t.self' } } } });
  });

  it('gives a component to a subschema object that appears in two places', () => {
    const shared = { type: 'object', properties: { v: { type: 'string' } } };
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema({ type: 'object', properties: { a: shared, b: { type: 'array', items: shared } } }, 'op', components);
    expect(out).toEqual({ type: 'object', properties: { a: { $ref: '#/components/schemas/op.a' }, b: { type: 'array', items: { $ref: '#/components/schemas/op.a' } } } });
    expect(components).toEqual({ 'op.a': shared });
  });

  it('names components without colliding with those already in the document', () => {
    const components: Record<string, JsonSchema> = { 'op.n': { type: 'null' } };
    resolveSchema({ type: 'object', $defs: { n: { type: 'number' } }, properties: { a: { $ref: '#/$defs/n' }, b: { $ref: '#/$defs/n' } } }, 'op', components);
    expect(components).toEqual({ 'op.n': { type: 'null' }, 'op.n_2': { type: 'number' } });
  });

  it('shows a schema over the node budget as a plain object, and adds no components', () => {
    const properties: Record<string, unknown> = { shared1: { $ref: '#/$defs/s' }, shared2: { $ref: '#/$defs/s' } };
    for (let i = 0; i < MAX_SCHEMA_NODES + 5; i++) properties[`p${i}`] = { type: 'string' };
    const components: Record<string, JsonSchema> = {};
    const out = resolveSchema({ type: 'object', $defs: { s: { type: 'string' } }, properties }, 'op', components);
    expect(out).toEqual(tooLargeSchema());
    expect((out as { description: string }).description).toMatch(/too large/);
    expect(components).toEqual({});
  });

  it('shows a schema nested past the depth limit as a plain object', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < MAX_SCHEMA_DEPTH + 2; i++) deep = { type: 'object', properties: { d: deep } };
    expect(resolveSchema(deep, 'op', {})).toEqual(tooLargeSchema());
    let fine: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 10; i++) fine = { type: 'object', properties: { d: fine } };
    expect(resolveSchema(fine, 'op', {})).toEqual(fine);
  });

  it('charges a shared budget: once it is spent, later schemas are shown as plain objects', () => {
    const budget = { remaining: 7 };
    const small = { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } } };
    expect(resolveSchema(small, 'one', {}, budget)).toEqual(small);
    expect(budget.remaining).toBe(4);
    expect(resolveSchema(small, 'two', {}, budget)).toEqual(small);
    expect(budget.remaining).toBe(1);
    expect(resolveSchema(small, 'three', {}, budget)).toEqual(tooLargeSchema());
  });
});

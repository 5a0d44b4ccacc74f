import { componentKey, cut, PARAMETER_DESCRIPTION_LIMIT } from './names.js';

// A tool's JSON Schema made self-contained for an OpenAPI 3.1 document: every `$ref` is
// inlined, or (when a schema refers to itself) moved to `components.schemas` and referred to
// there, so no reference points outside the document. OpenAPI 3.1 Schema Objects are JSON
// Schema 2020-12 (OpenAPI 3.1 §4.8.24), so the keywords themselves pass through.

export type JsonSchema = boolean | { [keyword: string]: unknown };

/** Keywords that only mean something inside the tool's own schema document. */
const DOCUMENT_KEYWORDS = new Set(['$schema', '$id', '$anchor', '$dynamicAnchor', '$vocabulary', '$defs', 'definitions', '$comment']);
/** Keywords that may sit beside an inlined schema without changing what it accepts. */
const ANNOTATIONS = new Set(['description', 'title', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
/** JSON Schema 2020-12 keywords whose value is one schema. */
const SCHEMA_KEYWORDS = new Set([
  'additionalItems', 'additionalProperties', 'contains', 'propertyNames', 'not', 'if', 'then', 'else',
  'unevaluatedItems', 'unevaluatedProperties', 'contentSchema', 'items',
]);
/** Keywords whose value is a map of name -> schema. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'dependentSchemas', 'dependencies']);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);

export function isSchemaObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Resolves `schema` for the document. Schemas that refer to themselves are added to
 * `components` under `{prefix}.{name}`; everything else is inlined where it is used.
 * References that cannot be resolved inside the tool's schema (remote URLs, `$dynamicRef`)
 * become `{}`: the gateway cannot fetch them, and the upstream still validates its input.
 */
export function resolveSchema(schema: unknown, prefix: string, components: Record<string, JsonSchema>): JsonSchema {
  if (typeof schema === 'boolean') return schema;
  if (!isSchemaObject(schema)) return {};
  const resolver = new Resolver(schema, prefix, components);
  const out = resolver.walk(schema, [schema]);
  resolver.emitComponents();
  return out;
}

class Resolver {
  readonly #root: Record<string, unknown>;
  readonly #prefix: string;
  readonly #components: Record<string, JsonSchema>;
  /** Targets that were met again while being inlined: they live in components. */
  readonly #recursive = new Map<object, string>();
  readonly #emitted = new Set<object>();

  constructor(root: Record<string, unknown>, prefix: string, components: Record<string, JsonSchema>) {
    this.#root = root;
    this.#prefix = prefix;
    this.#components = components;
  }

  walk(node: unknown, stack: readonly object[]): JsonSchema {
    if (typeof node === 'boolean') return node;
    if (!isSchemaObject(node)) return {};
    if (typeof node.$ref === 'string') return this.#reference(node, stack);
    if (typeof node.$dynamicRef === 'string') {
      const { $dynamicRef: _dropped, ...rest } = node;
      return this.#keywords(rest, stack);
    }
    return this.#keywords(node, stack);
  }

  /** Adds each recursive target to components, until no new one turns up. */
  emitComponents(): void {
    for (let round = 0; round < 100; round++) {
      const pending = [...this.#recursive].filter(([target]) => !this.#emitted.has(target));
      if (pending.length === 0) return;
      for (const [target, name] of pending) {
        this.#emitted.add(target);
        this.#components[name] = this.walk(target, [target]);
      }
    }
  }

  #reference(node: Record<string, unknown>, stack: readonly object[]): JsonSchema {
    const { $ref, ...siblings } = node;
    const target = this.#lookup($ref as string);
    let resolved: JsonSchema;
    if (typeof target === 'boolean') resolved = target;
    else if (!isSchemaObject(target)) resolved = {};
    else if (stack.includes(target) || this.#recursive.has(target)) resolved = { $ref: `#/components/schemas/${this.#componentName(target, $ref as string)}` };
    else resolved = this.walk(target, [...stack, target]);
    const rest = this.#keywords(siblings, stack);
    if (typeof rest === 'boolean' || Object.keys(rest).length === 0) return resolved;
    const onlyAnnotations = Object.keys(rest).every((k) => ANNOTATIONS.has(k));
    if (onlyAnnotations && typeof resolved === 'object' && !('$ref' in resolved)) return { ...resolved, ...rest };
    return { allOf: [resolved], ...rest };
  }

  #keywords(node: Record<string, unknown>, stack: readonly object[]): JsonSchema {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (DOCUMENT_KEYWORDS.has(key)) continue;
      if (key === 'description' && typeof value === 'string') out[key] = cut(value, PARAMETER_DESCRIPTION_LIMIT);
      else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) out[key] = value.map((v) => this.walk(v, stack));
      else if (SCHEMA_KEYWORDS.has(key) && (isSchemaObject(value) || typeof value === 'boolean')) out[key] = this.walk(value, stack);
      else if (SCHEMA_MAP_KEYWORDS.has(key) && isSchemaObject(value)) {
        // `dependencies` (draft-07) maps to a schema or to a list of names; lists pass through.
        out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Array.isArray(v) ? v : this.walk(v, stack)]));
      } else out[key] = value;
    }
    return out;
  }

  /** `#`, `#/json/pointer` (RFC 6901 in a URI fragment), `#anchor`, or those after the root's own `$id`. */
  #lookup(ref: string): unknown {
    let fragment = ref;
    const id = typeof this.#root.$id === 'string' ? this.#root.$id.replace(/#$/, '') : undefined;
    if (id && ref.startsWith(`${id}#`)) fragment = ref.slice(id.length);
    else if (id && ref === id) fragment = '#';
    if (!fragment.startsWith('#')) return undefined;
    if (fragment === '#' || fragment === '#/') return this.#root;
    if (!fragment.startsWith('#/')) return findAnchor(this.#root, fragment.slice(1));
    let node: unknown = this.#root;
    for (const raw of fragment.slice(2).split('/')) {
      let token: string;
      try {
        token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        return undefined;
      }
      if (Array.isArray(node)) node = node[Number(token)];
      else if (isSchemaObject(node)) node = Object.hasOwn(node, token) ? node[token] : undefined;
      else return undefined;
      if (node === undefined) return undefined;
    }
    return node;
  }

  #componentName(target: object, ref: string): string {
    const known = this.#recursive.get(target);
    if (known) return known;
    const last = ref.split('/').pop()?.replace(/^#/, '') || 'self';
    const base = componentKey(`${this.#prefix}.${last}`);
    let name = base;
    for (let i = 2; name in this.#components || [...this.#recursive.values()].includes(name); i++) name = `${base}_${i}`;
    this.#recursive.set(target, name);
    return name;
  }
}

/** The subschema declaring `$anchor: name` (2020-12) or `$id: "#name"` (draft-07). */
function findAnchor(node: unknown, name: string): unknown {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findAnchor(item, name);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (!isSchemaObject(node)) return undefined;
  if (node.$anchor === name || node.$id === `#${name}`) return node;
  for (const value of Object.values(node)) {
    const found = findAnchor(value, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

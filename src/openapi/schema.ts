import { componentKey, cut, PARAMETER_DESCRIPTION_LIMIT } from './names.js';

// A tool's JSON Schema made self-contained for an OpenAPI 3.1 document: no reference points
// outside the document. OpenAPI 3.1 Schema Objects are JSON Schema 2020-12 (OpenAPI 3.1
// §4.8.24), so the keywords themselves pass through.
//
// Size: a subschema used in one place (one `$ref`, or written where it stands) is inlined
// there; one used in two places or more (shared `$defs`, recursion) is placed once under
// `components.schemas` and referred to. Each subschema thus appears once in the document, so
// the document grows with the tool's schema, never exponentially (a chain of `$defs` each
// using the previous one twice would otherwise double at every link). A schema past the node
// or depth budget is shown as a plain object with a note; the arguments are still checked
// against the full schema (arguments.ts) and by the server.

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

/** Subschemas one tool schema may put in the document (with its components). */
export const MAX_SCHEMA_NODES = 10_000;
/** Nesting of subschemas within the request body (or one component) at most. */
export const MAX_SCHEMA_DEPTH = 64;
/**
 * Subschemas of one tool schema with every reference followed (recursion cut where it
 * recurs) at most. Tools that share `$defs` in a chain can mean millions when expanded, and
 * clients expand them (swagger-parser, importers that inline refs): such a schema is shown
 * as a plain object, as one over MAX_SCHEMA_NODES is.
 */
export const MAX_EXPANDED_NODES = 20_000;

/** What a document may still spend on schemas; shared by every tool of one document. */
export interface SchemaBudget {
  remaining: number;
}

export function isSchemaObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schema shown instead of one past the budget. */
export function tooLargeSchema(): JsonSchema {
  return {
    type: 'object',
    description: `The full schema is too large to show here (over ${MAX_SCHEMA_NODES} subschemas, over ${MAX_EXPANDED_NODES} with its references expanded, or nested over ${MAX_SCHEMA_DEPTH} deep); send the arguments the tool's own schema describes: they are still checked.`,
  };
}

class TooLarge extends Error {}

/**
 * Resolves `schema` for the document. Subschemas used in more than one place are added to
 * `components` under `{prefix}.{name}`; everything else is inlined where it is used.
 * References that cannot be resolved inside the tool's schema (remote URLs, `$dynamicRef`)
 * become `{}`: the gateway cannot fetch them, and the upstream still validates its input.
 * Past `MAX_SCHEMA_NODES` (or what `budget` has left) or `MAX_SCHEMA_DEPTH`, the result is
 * `tooLargeSchema()` and `components` is left as it was.
 */
export function resolveSchema(schema: unknown, prefix: string, components: Record<string, JsonSchema>, budget?: SchemaBudget): JsonSchema {
  if (typeof schema === 'boolean') return schema;
  if (!isSchemaObject(schema)) return {};
  const limit = Math.max(0, Math.min(MAX_SCHEMA_NODES, budget?.remaining ?? MAX_SCHEMA_NODES));
  const added: Record<string, JsonSchema> = {};
  const resolver = new Resolver(schema, prefix, components, added, limit);
  try {
    const out = resolver.resolve();
    Object.assign(components, added);
    return out;
  } catch (err) {
    if (err instanceof TooLarge) return tooLargeSchema();
    throw err;
  } finally {
    if (budget) budget.remaining -= resolver.spent;
  }
}

/** The subschemas directly inside `node`, in the order the output walk meets them. */
function childrenOf(node: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (DOCUMENT_KEYWORDS.has(key)) continue;
    if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) out.push(...(value as unknown[]));
    else if (SCHEMA_KEYWORDS.has(key) && (isSchemaObject(value) || typeof value === 'boolean')) out.push(value);
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isSchemaObject(value)) out.push(...Object.values(value).filter((v) => !Array.isArray(v)));
  }
  return out;
}

class Resolver {
  readonly #root: Record<string, unknown>;
  readonly #prefix: string;
  /** The document's components so far (names taken), and the ones this schema adds. */
  readonly #existing: Record<string, JsonSchema>;
  readonly #added: Record<string, JsonSchema>;
  readonly #limit: number;
  /** How many places use each subschema: structural parents and `$ref`s (the root counts one). */
  readonly #uses = new Map<object, number>();
  /** Component names given so far, and the components still to write. */
  readonly #names = new Map<Record<string, unknown>, string>();
  readonly #taken = new Set<string>();
  readonly #pending: Record<string, unknown>[] = [];
  #written = 0;
  /** Subschemas counted and written: what the document's budget is charged. */
  spent = 0;

  constructor(root: Record<string, unknown>, prefix: string, existing: Record<string, JsonSchema>, added: Record<string, JsonSchema>, limit: number) {
    this.#root = root;
    this.#prefix = prefix;
    this.#existing = existing;
    this.#added = added;
    this.#limit = limit;
  }

  resolve(): JsonSchema {
    this.#count();
    this.#expand(this.#root, 0, new Map(), new Set());
    // The root is written where it stands even when it is also a component (it refers to itself).
    const out = this.#node(this.#root, 0);
    while (this.#pending.length > 0) {
      const target = this.#pending.shift()!;
      this.#added[this.#names.get(target)!] = this.#node(target, 0);
    }
    return out;
  }

  /** Counts the uses of every subschema reachable from the root, without recursion. */
  #count(): void {
    this.#uses.set(this.#root, 1);
    this.spent = 1;
    const stack: Record<string, unknown>[] = [this.#root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const child of this.#edges(node)) {
        if (!isSchemaObject(child)) continue;
        const n = (this.#uses.get(child) ?? 0) + 1;
        this.#uses.set(child, n);
        if (n > 1) continue;
        this.spent++;
        if (this.#uses.size > this.#limit) throw new TooLarge();
        stack.push(child);
      }
    }
  }

  /** The subschemas `node` uses: those inside it, and its `$ref`'s target. */
  #edges(node: Record<string, unknown>): unknown[] {
    const children = childrenOf(node);
    if (typeof node.$ref === 'string') children.push(this.#lookup(node.$ref));
    return children;
  }

  /** The size of `node` with references followed (a recursion counts once); throws past MAX_EXPANDED_NODES. */
  #expand(node: Record<string, unknown>, depth: number, sizes: Map<object, number>, open: Set<object>): number {
    const known = sizes.get(node);
    if (known !== undefined) return known;
    if (open.has(node)) return 1;
    // Deeper than this, the output walk (MAX_SCHEMA_DEPTH per component) would refuse it anyway.
    if (depth > 1_000) throw new TooLarge();
    open.add(node);
    let total = 1;
    for (const child of this.#edges(node)) {
      if (!isSchemaObject(child)) continue;
      total += this.#expand(child, depth + 1, sizes, open);
      if (total > MAX_EXPANDED_NODES) throw new TooLarge();
    }
    open.delete(node);
    sizes.set(node, total);
    return total;
  }

  /** A subschema met at one place: inlined when it is used only there, else a reference to its component. */
  #use(child: unknown, hint: string, depth: number): JsonSchema {
    if (typeof child === 'boolean') return child;
    if (!isSchemaObject(child)) return {};
    if ((this.#uses.get(child) ?? 0) > 1) return { $ref: `#/components/schemas/${this.#componentName(child, hint)}` };
    return this.#node(child, depth + 1);
  }

  #node(node: Record<string, unknown>, depth: number): JsonSchema {
    // Each subschema is written once (twice for a root that refers to itself): past the
    // counted size, something is wrong; the depth bounds the recursion of this walk.
    if (depth > MAX_SCHEMA_DEPTH || ++this.#written > 2 * this.#limit + 1) throw new TooLarge();
    if (typeof node.$ref === 'string') return this.#reference(node, depth);
    if (typeof node.$dynamicRef === 'string') {
      const { $dynamicRef: _dropped, ...rest } = node;
      return this.#keywords(rest, depth);
    }
    return this.#keywords(node, depth);
  }

  #reference(node: Record<string, unknown>, depth: number): JsonSchema {
    const { $ref, ...siblings } = node;
    const resolved = this.#use(this.#lookup($ref as string), ($ref as string).split('/').pop()!.replace(/^#/, '') || 'self', depth);
    const rest = this.#keywords(siblings, depth);
    if (typeof rest === 'boolean' || Object.keys(rest).length === 0) return resolved;
    const onlyAnnotations = Object.keys(rest).every((k) => ANNOTATIONS.has(k));
    // OpenAPI 3.1 (JSON Schema 2020-12) lets annotations sit beside a $ref too.
    if (onlyAnnotations && typeof resolved === 'object') return { ...resolved, ...rest };
    return { allOf: [resolved], ...rest };
  }

  #keywords(node: Record<string, unknown>, depth: number): JsonSchema {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (DOCUMENT_KEYWORDS.has(key)) continue;
      if (key === 'description' && typeof value === 'string') out[key] = cut(value, PARAMETER_DESCRIPTION_LIMIT);
      else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) out[key] = value.map((v, i) => this.#use(v, `${key}${i}`, depth));
      else if (SCHEMA_KEYWORDS.has(key) && (isSchemaObject(value) || typeof value === 'boolean')) out[key] = this.#use(value, key, depth);
      else if (SCHEMA_MAP_KEYWORDS.has(key) && isSchemaObject(value)) {
        // `dependencies` (draft-07) maps to a schema or to a list of names; lists pass through.
        out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Array.isArray(v) ? v : this.#use(v, k, depth)]));
      } else out[key] = value;
    }
    return out;
  }

  /** A stable name (the first place met, in document order), unique in the document. */
  #componentName(target: Record<string, unknown>, hint: string): string {
    const known = this.#names.get(target);
    if (known) return known;
    const base = componentKey(`${this.#prefix}.${hint}`);
    let name = base;
    for (let i = 2; name in this.#existing || name in this.#added || this.#taken.has(name); i++) name = `${base}_${i}`;
    this.#names.set(target, name);
    this.#taken.add(name);
    this.#pending.push(target);
    return name;
  }

  /** `#`, `#/json/pointer` (RFC 6901 in a URI fragment), `#anchor`, or those after the root's own `$id`. */
  #lookup(ref: string): unknown {
    let fragment = ref;
    const id = typeof this.#root.$id === 'string' ? this.#root.$id.replace(/#$/, '') : undefined;
    if (id && ref.startsWith(`${id}#`)) fragment = ref.slice(id.length);
    else if (id && ref === id) fragment = '#';
    if (!fragment.startsWith('#')) return undefined;
    if (fragment === '#' || fragment === '#/') return this.#root;
    if (!fragment.startsWith('#/')) return this.#anchor(fragment.slice(1));
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

  /** Anchors of the whole schema, gathered once and without recursion (first one wins). */
  #anchors: Map<string, Record<string, unknown>> | undefined;

  #anchor(name: string): unknown {
    if (!this.#anchors) {
      const anchors = new Map<string, Record<string, unknown>>();
      const stack: unknown[] = [this.#root];
      while (stack.length > 0) {
        const node = stack.pop();
        if (Array.isArray(node)) {
          for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
          continue;
        }
        if (!isSchemaObject(node)) continue;
        // `$anchor: name` (2020-12) or `$id: "#name"` (draft-07).
        for (const declared of [node.$anchor, typeof node.$id === 'string' && node.$id.startsWith('#') ? node.$id.slice(1) : undefined]) {
          if (typeof declared === 'string' && !anchors.has(declared)) anchors.set(declared, node);
        }
        const values = Object.values(node);
        for (let i = values.length - 1; i >= 0; i--) stack.push(values[i]);
      }
      this.#anchors = anchors;
    }
    return this.#anchors.get(name);
  }
}

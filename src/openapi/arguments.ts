import { createHash } from 'node:crypto';
import { Ajv, addFormats } from '@modelcontextprotocol/server/validators/ajv';
import { isSchemaObject } from './schema.js';

// Checks a REST body against the tool's inputSchema before the tool is called, so that the
// caller gets every problem at once (400) instead of the first one the server trips on.
//
// The engine is the ajv that the MCP server SDK (a dependency already) bundles and re-exports;
// it exports only ajv's draft-07 class, so the few 2020-12 keywords that draft-07 spells
// differently are rewritten first (prefixItems, dependentRequired, dependentSchemas,
// $anchor). Keywords the engine does not know are ignored (`strict: false`): such a schema is
// checked less strictly here, never more, and the upstream still validates what it receives.
//
// Memory: a tool list is fetched again now and then (list_changed, max age), and each time its
// schemas are new objects. Checks are therefore kept by a hash of the schema's JSON, in a
// bounded LRU, and each schema is removed from ajv's own cache right after compiling (the
// compiled function keeps what it needs): without that, ajv keeps every schema it ever
// compiled, and a refreshed list compiles them all again.

/** One problem with the arguments: RFC 6901 pointer into the body, and what is wrong there. */
export interface ArgumentError {
  readonly pointer: string;
  readonly detail: string;
}

export type ArgumentCheck = (args: unknown) => readonly ArgumentError[];

/** Compiled checks kept (distinct schemas, least recently used dropped first). */
export const CACHED_CHECKS = 256;
/** Nesting of arrays and objects in a body at most; deeper bodies are refused before validation. */
export const MAX_ARGUMENT_DEPTH = 64;

/** Keywords whose values are data, not schemas: never rewritten. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);

export class ArgumentValidator {
  readonly #ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
  /** By schema object: no hashing while the same tool list is in use. */
  readonly #byObject = new WeakMap<object, ArgumentCheck>();
  /** By hash of the schema's JSON, least recently used first. */
  readonly #byHash = new Map<string, ArgumentCheck>();

  constructor() {
    // ajv-formats' default export is typed loosely in the SDK's bundle.
    (addFormats as unknown as (ajv: unknown) => void)(this.#ajv);
  }

  /** The check for one inputSchema (compiled once per distinct schema); lenient when it cannot be compiled. */
  checkerFor(inputSchema: unknown): ArgumentCheck {
    if (!isSchemaObject(inputSchema)) return () => [];
    const known = this.#byObject.get(inputSchema);
    if (known) return known;
    let hash: string;
    try {
      hash = createHash('sha256').update(JSON.stringify(inputSchema)).digest('base64url');
    } catch {
      // Not JSON (a cycle): not from a tools/list answer; nothing to check against.
      return () => [];
    }
    let check = this.#byHash.get(hash);
    if (check) this.#byHash.delete(hash);
    else check = this.#compile(inputSchema);
    this.#byHash.set(hash, check);
    if (this.#byHash.size > CACHED_CHECKS) this.#byHash.delete(this.#byHash.keys().next().value!);
    this.#byObject.set(inputSchema, check);
    return check;
  }

  #compile(inputSchema: Record<string, unknown>): ArgumentCheck {
    const schema = toDraft07(inputSchema, true) as Record<string, unknown>;
    try {
      const validate = this.#ajv.compile(schema);
      return (args) => (validate(args) ? [] : (validate.errors ?? []).map(describe));
    } catch {
      // A schema the engine cannot compile (a remote $ref, say): the upstream decides alone.
      return () => [];
    } finally {
      // Out of ajv's cache (and its $id out of ajv's registry): the compiled function stays usable.
      this.#ajv.removeSchema(schema);
    }
  }
}

/** Whether `value` nests arrays and objects deeper than `limit` (counted without recursion). */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

interface AjvError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message?: string | undefined;
}

function describe(error: AjvError): ArgumentError {
  const at = error.instancePath;
  if (error.keyword === 'required' && typeof error.params.missingProperty === 'string') {
    return { pointer: `${at}/${escapePointer(error.params.missingProperty)}`, detail: 'is required' };
  }
  if (error.keyword === 'additionalProperties' && typeof error.params.additionalProperty === 'string') {
    return { pointer: `${at}/${escapePointer(error.params.additionalProperty)}`, detail: 'is not allowed here' };
  }
  const values = error.keyword === 'enum' && Array.isArray(error.params.allowedValues) ? `: ${JSON.stringify(error.params.allowedValues)}` : '';
  return { pointer: at, detail: `${error.message ?? `fails "${error.keyword}"`}${values}` };
}

function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** 2020-12 spellings -> draft-07 ones, recursively; data keywords are left alone. */
function toDraft07(node: unknown, root = false): unknown {
  if (Array.isArray(node)) return node.map((n) => toDraft07(n));
  if (!isSchemaObject(node)) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === '$dynamicRef' || key === '$dynamicAnchor' || (root && key === '$id')) continue;
    out[key] = DATA_KEYWORDS.has(key) ? value : toDraft07(value);
  }
  if (Array.isArray(out.prefixItems)) {
    if (out.items !== undefined) out.additionalItems = out.items;
    out.items = out.prefixItems;
    delete out.prefixItems;
  }
  const dependencies: Record<string, unknown> = isSchemaObject(out.dependencies) ? { ...out.dependencies } : {};
  for (const key of ['dependentRequired', 'dependentSchemas']) {
    if (!isSchemaObject(out[key])) continue;
    Object.assign(dependencies, out[key]);
    delete out[key];
  }
  if (Object.keys(dependencies).length) out.dependencies = dependencies;
  if (typeof out.$anchor === 'string') {
    out.$id = `#${out.$anchor}`;
    delete out.$anchor;
  }
  return out;
}

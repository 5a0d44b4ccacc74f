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

/** One problem with the arguments: RFC 6901 pointer into the body, and what is wrong there. */
export interface ArgumentError {
  readonly pointer: string;
  readonly detail: string;
}

export type ArgumentCheck = (args: unknown) => readonly ArgumentError[];

/** Keywords whose values are data, not schemas: never rewritten. */
const DATA_KEYWORDS = new Set(['const', 'enum', 'default', 'examples']);

export class ArgumentValidator {
  readonly #ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, validateFormats: true });
  readonly #compiled = new WeakMap<object, ArgumentCheck>();

  constructor() {
    // ajv-formats' default export is typed loosely in the SDK's bundle.
    (addFormats as unknown as (ajv: unknown) => void)(this.#ajv);
  }

  /** The check for one inputSchema (compiled once per schema object); lenient when it cannot be compiled. */
  checkerFor(inputSchema: unknown): ArgumentCheck {
    if (!isSchemaObject(inputSchema)) return () => [];
    const known = this.#compiled.get(inputSchema);
    if (known) return known;
    let check: ArgumentCheck;
    try {
      const validate = this.#ajv.compile(toDraft07(inputSchema, true) as Record<string, unknown>);
      check = (args) => (validate(args) ? [] : (validate.errors ?? []).map(describe));
    } catch {
      // A schema the engine cannot compile (a remote $ref, say): the upstream decides alone.
      check = () => [];
    }
    this.#compiled.set(inputSchema, check);
    return check;
  }
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

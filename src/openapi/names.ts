import { createHash } from 'node:crypto';

// Naming and text-length rules of the generated document.

/**
 * OpenAI GPT Actions production notes (https://developers.openai.com/api/docs/actions/production,
 * "Open API specification limits"): 300 characters max for each endpoint description/summary,
 * 700 characters max for each parameter description. Longer text is cut, not refused.
 */
export const SUMMARY_LIMIT = 300;
export const DESCRIPTION_LIMIT = 300;
export const PARAMETER_DESCRIPTION_LIMIT = 700;

/**
 * Function names built from operationIds must match `^[a-zA-Z0-9_-]{1,64}$` (OpenAI function
 * calling); OpenAPI 3.1 §4.8.10 asks only for uniqueness, so the stricter rule wins.
 */
export const OPERATION_ID_LIMIT = 64;
const OPERATION_ID_CHAR = /[A-Za-z0-9_-]/;
const HASH_LENGTH = 8;

/** Cuts `text` to at most `limit` characters (code points), ending with an ellipsis when cut. */
export function cut(text: string, limit: number): string {
  const chars = [...text];
  if (chars.length <= limit) return text;
  return `${chars.slice(0, limit - 1).join('').trimEnd()}…`;
}

/**
 * A stable operationId for an exposed tool name: the name itself when it already fits the
 * rules; else the name with every other character turned into `_`, cut, and followed by a
 * short hash of the full original name, so it depends on nothing but that name (stable
 * across restarts and list order) and two different names never meet.
 */
export function operationIdFor(exposedName: string): string {
  if (exposedName.length > 0 && exposedName.length <= OPERATION_ID_LIMIT && [...exposedName].every((c) => OPERATION_ID_CHAR.test(c))) {
    return exposedName;
  }
  const cleaned = [...exposedName].map((c) => (OPERATION_ID_CHAR.test(c) ? c : '_')).join('');
  const hash = createHash('sha256').update(exposedName).digest('hex').slice(0, HASH_LENGTH);
  return `${cleaned.slice(0, OPERATION_ID_LIMIT - HASH_LENGTH - 1)}_${hash}`;
}

/**
 * operationIds for a list of exposed names, unique within one document. A hashed id can only
 * collide with a name that already looks like one (`x_1a2b3c4d`); then both get a longer hash.
 */
export function operationIds(exposedNames: readonly string[]): Map<string, string> {
  const ids = new Map(exposedNames.map((n) => [n, operationIdFor(n)]));
  const owners = new Map<string, string[]>();
  for (const [name, id] of ids) owners.set(id, [...(owners.get(id) ?? []), name]);
  for (const [, names] of owners) {
    if (names.length < 2) continue;
    for (const name of names) {
      const hash = createHash('sha256').update(`\u0000${name}`).digest('hex').slice(0, 16);
      const cleaned = [...name].map((c) => (OPERATION_ID_CHAR.test(c) ? c : '_')).join('');
      ids.set(name, `${cleaned.slice(0, OPERATION_ID_LIMIT - 17)}_${hash}`);
    }
  }
  return ids;
}

/** Components keys must match `^[a-zA-Z0-9.\-_]+$` (OpenAPI 3.1 §4.8.7.1). */
export function componentKey(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]/g, '_');
  return cleaned === '' ? 'schema' : cleaned;
}

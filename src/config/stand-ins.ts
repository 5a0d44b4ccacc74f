// A command that never reads part of the config (the store commands: load.ts, optionalReferences)
// leaves a reference there that is not set as written: `${T}`, `env:X`. Where the schema wants
// a URL, a duration, a boolean, a password hash, that text fails it, and the command would refuse
// a config it can use. Each such value gives way to one the schema takes: only its place in the
// document matters to the command (a server's name, a user's), never the value.
import type { z } from 'zod';
import { formatPath } from './errors.js';
import { describeIssue } from './issues.js';
import { GatehouseConfigSchema } from './schema.js';

type Parsed = ReturnType<typeof GatehouseConfigSchema.safeParse>;
type Path = readonly PropertyKey[];

const OMIT = Symbol('omit');

/**
 * What stands in for an unresolved value, tried in turn while the schema still refuses it:
 * a URL (a server's url, an issuer: leaving one out would change what the entry is); the
 * nearest key left out, so its default applies (a timeout, allowHttp, a list of CIDRs); a
 * password hash no command checks (`auth.users.NAME.passwordHash` has no default).
 */
const STAND_INS: readonly ((doc: unknown, path: Path) => unknown)[] = [
  (doc, path) => update(doc, path, () => 'https://unresolved.invalid/'),
  (doc, path) => (nearestKey(path).length ? update(doc, nearestKey(path), () => OMIT) : doc),
  (doc, path) => update(doc, path, () => `scrypt$16384$8$1$${'A'.repeat(22)}$${'A'.repeat(43)}`),
];

/**
 * Parses `doc` with the schema, each of the `unresolved` paths (formatted, as issues name
 * them) whose value the schema refuses replaced by a stand-in it takes, where one exists.
 * Returns the document parsed and the result; a failure still names what no stand-in cured.
 */
export function parseWithStandIns(doc: unknown, unresolved: ReadonlySet<string>): { doc: unknown; parsed: Parsed } {
  let parsed = GatehouseConfigSchema.safeParse(doc);
  if (parsed.success || unresolved.size === 0) return { doc, parsed };
  const paths = pathsOf(doc, unresolved);
  const tried = new Map<string, number>();
  let current = doc;
  while (!parsed.success) {
    const refused = refusedReferences(parsed.error, current, unresolved).filter((p) => (tried.get(p) ?? 0) < STAND_INS.length && paths.has(p));
    if (refused.length === 0) break;
    for (const p of refused) {
      const step = tried.get(p) ?? 0;
      tried.set(p, step + 1);
      current = STAND_INS[step]!(current, paths.get(p)!);
    }
    parsed = GatehouseConfigSchema.safeParse(current);
  }
  return { doc: current, parsed };
}

/** The unresolved paths with a schema issue at or under them. */
function refusedReferences(error: z.ZodError, doc: unknown, unresolved: ReadonlySet<string>): string[] {
  const at = error.issues.flatMap((i) => describeIssue(i, doc)).map((i) => i.path);
  return [...unresolved].filter((u) => at.some((p) => p === u || p.startsWith(`${u}.`) || p.startsWith(`${u}[`)));
}

/** Each of `wanted` as the segments that lead to it in `doc`. */
function pathsOf(doc: unknown, wanted: ReadonlySet<string>): Map<string, Path> {
  const found = new Map<string, Path>();
  const walk = (node: unknown, path: PropertyKey[]): void => {
    const formatted = formatPath(path);
    if (wanted.has(formatted)) found.set(formatted, path);
    if (Array.isArray(node)) node.forEach((item, i) => walk(item, [...path, i]));
    else if (isRecord(node)) for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(doc, []);
  return found;
}

/** The path up to its last object key: an item of a list (`auth.allowedIps[0]`) leaves the list out, so its default applies. */
function nearestKey(path: Path): Path {
  let end = path.length;
  while (end > 0 && typeof path[end - 1] === 'number') end--;
  return path.slice(0, end);
}

/** `node` with the value at `path` replaced by `fn` of it (left out: OMIT); a copy, `node` is left as it was. */
function update(node: unknown, path: Path, fn: (value: unknown) => unknown): unknown {
  if (path.length === 0) return fn(node);
  const [head, ...rest] = path;
  if (Array.isArray(node) && typeof head === 'number') {
    return (node as unknown[]).map((item, i) => (i === head ? update(item, rest, fn) : item));
  }
  if (isRecord(node) && typeof head === 'string') {
    const out: Record<string, unknown> = { ...node };
    const value = update(node[head], rest, fn);
    if (value === OMIT) delete out[head];
    else out[head] = value;
    return out;
  }
  return node;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

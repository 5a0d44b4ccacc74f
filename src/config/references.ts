import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';

/** Where a reference is read from: the environment and files beside the config. */
export interface ReferenceContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that `file:` paths are relative to. */
  readonly baseDir: string;
  /** Collects the names of the variables read through `env:` references (secrets, by convention). */
  readonly envNamesRead?: Set<string>;
  /**
   * Where a reference that cannot be resolved is no problem (a command that never reads the
   * value): it is left as written and its path added to `unresolved` instead of an issue.
   */
  readonly optional?: (path: string) => boolean;
  readonly unresolved?: Set<string>;
}

// `file://...` is a URL (e.g. a loader given to node), not a reference to a file.
const WHOLE_REFERENCE = /^(env|file):(?!\/\/)(.+)$/s;
// A header or cookie value may carry a reference after `name=` (`LtpaToken2=env:LTPA_TOKEN`).
const TRAILING_REFERENCE = /^([^=]*=)(env|file):(?!\/\/)([^\s;,]+)$/s;
const INTERPOLATION = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Resolves one string: `${NAME}` is replaced by the environment variable, then a whole
 * `env:NAME` or `file:PATH` value (or, with `allowTrailing`, a `prefix=env:NAME` value) is
 * replaced by what it names. Problems are pushed to `issues`; the original text is kept then.
 */
export function resolveReference(
  value: string,
  ctx: ReferenceContext,
  path: string,
  issues: ConfigIssue[],
  allowTrailing = false,
): string {
  const own: ConfigIssue[] = [];
  const resolved = resolveOne(value, ctx, path, own, allowTrailing);
  if (own.length && ctx.optional?.(path) === true) {
    ctx.unresolved?.add(path);
    return value;
  }
  issues.push(...own);
  return resolved;
}

function resolveOne(value: string, ctx: ReferenceContext, path: string, issues: ConfigIssue[], allowTrailing: boolean): string {
  let failed = false;
  const interpolated = value.replace(INTERPOLATION, (whole, name: string) => {
    const v = ctx.env[name];
    if (v === undefined) {
      issues.push({ path, message: `environment variable ${name} is not set` });
      failed = true;
      return whole;
    }
    return v;
  });
  if (failed) return value;

  const whole = WHOLE_REFERENCE.exec(interpolated);
  if (whole) return readReference(whole[1] as 'env' | 'file', whole[2]!, ctx, path, issues) ?? interpolated;
  if (allowTrailing) {
    const trailing = TRAILING_REFERENCE.exec(interpolated);
    if (trailing) {
      const v = readReference(trailing[2] as 'env' | 'file', trailing[3]!, ctx, path, issues);
      return v === undefined ? interpolated : trailing[1]! + v;
    }
  }
  return interpolated;
}

function readReference(
  kind: 'env' | 'file',
  target: string,
  ctx: ReferenceContext,
  path: string,
  issues: ConfigIssue[],
): string | undefined {
  if (kind === 'env') {
    ctx.envNamesRead?.add(target);
    const v = ctx.env[target];
    if (v === undefined) issues.push({ path, message: `environment variable ${target} is not set` });
    return v;
  }
  const file = isAbsolute(target) ? target : resolve(ctx.baseDir, target);
  try {
    // Secrets in files conventionally end with a newline that is not part of the secret.
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    issues.push({ path, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
    return undefined;
  }
}

/** Keys under which a value is a header, where `name=env:VAR` references are allowed too. */
const HEADER_PARENTS = new Set(['headers']);

/** Resolves every string in a parsed document, returning a new document. */
export function resolveReferences(doc: unknown, ctx: ReferenceContext, issues: ConfigIssue[]): unknown {
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      const parent = path.length >= 2 ? path[path.length - 2] : undefined;
      return resolveReference(node, ctx, formatPath(path), issues, typeof parent === 'string' && HEADER_PARENTS.has(parent));
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return node;
  };
  return walk(doc, []);
}

// Schema issues as a person reads them: each at the path where it is fixed.
import type { z } from 'zod';
import { formatPath, type ConfigIssue } from './errors.js';
import { serverShapeProblem } from './schema.js';

/** A schema issue as a person reads it; a server that is neither kind is named at the key it lacks. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown): ConfigIssue[] {
  const [top, name, ...rest] = issue.path;
  if (issue.code === 'invalid_union' && top === 'servers' && typeof name === 'string' && rest.length === 0) {
    const servers = isRecord(input) && isRecord(input.servers) ? input.servers : {};
    const server = servers[name];
    // A server that says which kind it is gets that kind's problems (ServerSchema: stdio, then remote).
    const stdio = isRecord(server) && server.command !== undefined;
    const remote = isRecord(server) && server.url !== undefined;
    const inner = stdio !== remote ? issue.errors[stdio ? 0 : 1] : undefined;
    if (inner?.length) return inner.flatMap((i) => atKeys(i, issue.path));
    const { at, message } = serverShapeProblem(server);
    return [{ path: formatPath([top, name, ...at]), message }];
  }
  return atKeys(issue, []);
}

/** An issue at its path; an unknown key at its own (`bogusKey: unknown key`), as every other problem is said. */
function atKeys(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): ConfigIssue[] {
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: formatPath([...prefix, ...issue.path, key]), message: 'unknown key' }));
  return [{ path: formatPath([...prefix, ...issue.path]), message: issue.message }];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

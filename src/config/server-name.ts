import { z } from 'zod';

// What a server may be called (CONTRACT.md, "HTTP routes of serve"): its name is a path
// segment (`/{name}/mcp`) and the prefix of its tools on the aggregate (`{name}__{tool}`).

export const SERVER_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_))*$/;
/** Path segments the gateway uses itself; a server cannot be named after one. */
export const RESERVED_SERVER_NAMES = new Set([
  'mcp', 'sse', 'message', 'messages', 'oauth', 'api', 'login', 'consent', 'logout',
  'healthz', 'readyz', 'metrics', 'openapi.json', '.well-known', 'static', 'assets',
]);

export const ServerNameSchema = z
  .string()
  .regex(SERVER_NAME_PATTERN, 'a server name may hold letters, digits, - and single _ (it becomes a URL path and a tool prefix)')
  .refine((name) => !RESERVED_SERVER_NAMES.has(name.toLowerCase()), { error: (i) => `"${String(i.input)}" is a route of the gateway itself; pick another name` });

/** Why `name` cannot be a server name, in ServerNameSchema's words; empty when it can. */
export function serverNameProblems(name: string): string[] {
  const parsed = ServerNameSchema.safeParse(name);
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.message);
}

/** `"memory.v2" cannot be a server name: a server name may hold ...`: each reason, naming the key once. */
export function refusedServerName(name: string, problems: readonly string[]): string {
  return problems.map((p) => (p.startsWith(`"${name}"`) ? p : `"${name}" cannot be a server name: ${p}`)).join('; ');
}

/**
 * The `error` of `servers`' record: zod 4 reports a key its key schema refuses as one
 * `invalid_key` issue ("Invalid key in record") that holds the key schema's own issues in
 * `issues`; this says those instead. Any other issue keeps zod's message (undefined).
 */
export function serverRecordError(issue: { code?: string; input?: unknown; issues?: readonly { message: string }[] }): string | undefined {
  if (issue.code !== 'invalid_key' || !issue.issues?.length) return undefined;
  return refusedServerName(String(issue.input), issue.issues.map((i) => i.message));
}

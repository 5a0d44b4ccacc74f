import { RESERVED_SERVER_NAMES, refusedServerName, serverNameProblems } from '../server-name.js';

// Other formats take any key as a server's name ("My Server", "memory.v2", "api"); here a name
// is a URL path segment and a tool prefix (server-name.ts). A converted file is accepted as it
// is (CONTRACT.md), so a name that cannot be one is renamed, and a warning says to what.

/**
 * The name each of `names` is served under, in order: a name ServerNameSchema takes is kept
 * as written; another becomes a readable one it takes ("My Server" -> "my-server",
 * "memory.v2" -> "memory-v2", "api" -> "api-server"), with -2, -3, ... where that is taken.
 * Kept names win over renamed ones wherever they stand in the file, so the result depends on
 * the names alone. Routes are case-sensitive (`/Memory/mcp` and `/memory/mcp` are two
 * servers, RFC 3986 §6.2.2.1), so kept names that differ only in case stay as they are; a new
 * name differs from every other in more than case, so that no route looks like another's.
 */
export function servableServerNames(names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    if (serverNameProblems(name).length === 0) {
      out.set(name, name);
      taken.add(name.toLowerCase());
    }
  }
  for (const name of names) {
    if (out.has(name)) continue;
    const base = slug(name);
    let candidate = base;
    for (let n = 2; taken.has(candidate); n++) candidate = `${base}-${n}`;
    taken.add(candidate);
    out.set(name, candidate);
  }
  return out;
}

/** The warning for a renamed server: `where` is its path in the file the person wrote (`mcpServers.My Server`). */
export function renamedServerWarning(where: string, from: string, to: string): string {
  return `${where}: served as "${to}" at /${to}/mcp (its tools are ${to}__TOOL on /mcp), since ${refusedServerName(from, serverNameProblems(from))}`;
}

/**
 * Names in `entries` renamed where needed (servableServerNames), with a warning for each
 * renamed one; `where` gives a name's path in the file for its warning.
 */
export function renameServers<T>(entries: ReadonlyArray<readonly [string, T]>, where: (name: string) => string): { servers: Array<[string, T]>; warnings: string[] } {
  const names = servableServerNames(entries.map(([name]) => name));
  const warnings: string[] = [];
  const servers = entries.map(([name, value]): [string, T] => {
    const to = names.get(name)!;
    if (to !== name) warnings.push(renamedServerWarning(where(name), name, to));
    return [to, value];
  });
  return { servers, warnings };
}

/** Lower case; accents dropped; each run of other characters (and of `_` beyond one) one `-`. */
function slug(name: string): string {
  const words = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9_]+|_{2,}/g, '-')
    .replace(/[-_]*-[-_]*/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  const base = words === '' ? 'server' : words;
  return RESERVED_SERVER_NAMES.has(base) ? `${base}-server` : base;
}

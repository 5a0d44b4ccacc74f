import { renameServers } from './server-names.js';

// Claude Desktop's `claude_desktop_config.json`: `{ "mcpServers": { NAME: {...} } }`.
// Entries are stdio (`command`, `args`, `env`) or remote (`url`, `headers`, optional `type`).

type Doc = Record<string, unknown>;

export function isClaudeDesktopDocument(doc: Doc): boolean {
  return isRecord(doc.mcpServers) && !('mcpProxy' in doc) && !('servers' in doc);
}

/** A Claude Desktop server entry in the native `servers.NAME` form. */
export function convertServerEntry(entry: unknown): Doc {
  if (!isRecord(entry)) return {};
  const out: Doc = {};
  if (entry.command !== undefined) {
    out.command = entry.command;
    if (entry.args !== undefined) out.args = entry.args;
    if (entry.env !== undefined) out.env = entry.env;
    if (entry.cwd !== undefined) out.cwd = entry.cwd;
    return out;
  }
  if (entry.url !== undefined) out.url = entry.url;
  if (entry.headers !== undefined) out.headers = entry.headers;
  const type = entry.type ?? entry.transportType ?? entry.transport;
  if (type === 'sse') out.transport = 'sse';
  else if (type === 'http' || type === 'streamable-http' || type === 'streamableHttp') out.transport = 'streamable-http';
  return out;
}

/**
 * The native document, and a warning for each server renamed because its name cannot be a
 * route here ("My Server" is served as my-server: server-names.ts).
 */
export function fromClaudeDesktop(doc: Doc): { doc: Doc; warnings: string[] } {
  const entries = Object.entries(doc.mcpServers as Doc).map(([name, entry]): [string, Doc] => [name, convertServerEntry(entry)]);
  const renamed = renameServers(entries, (name) => `mcpServers.${name}`);
  // A desktop file names local tools for one person: it carries no auth of its own.
  return { doc: { auth: { mode: 'none' }, servers: Object.fromEntries(renamed.servers) }, warnings: renamed.warnings };
}

export function isRecord(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

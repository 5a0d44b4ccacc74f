import type { ToolFilter } from '../config/index.js';
import type { Logger } from '../observability/index.js';

/** True when the server's filter lets this tool through (`allow` lists or `block` lists). */
export function toolAllowed(filter: ToolFilter | undefined, tool: string): boolean {
  if (!filter) return true;
  if (filter.allow) return filter.allow.includes(tool);
  if (filter.block) return !filter.block.includes(tool);
  return true;
}

/** A `tools/list` result with the filtered tools removed; the same object when nothing is filtered. */
export function filterToolList(filter: ToolFilter | undefined, result: Record<string, unknown>): Record<string, unknown> {
  if (!filter || !Array.isArray(result.tools)) return result;
  const tools = (result.tools as { name?: unknown }[]).filter((t) => typeof t.name === 'string' && toolAllowed(filter, t.name));
  return { ...result, tools };
}

/** The tool names of a tools/list result (before any filtering). */
export function listedToolNames(result: Record<string, unknown>): string[] {
  if (!Array.isArray(result.tools)) return [];
  return (result.tools as { name?: unknown }[]).flatMap((t) => (typeof t.name === 'string' ? [t.name] : []));
}

/**
 * Says once per name when a server's filter names a tool its complete tool list lacks. A
 * typo in `tools.allow` silently hides the tool; one in `tools.block` leaves the tool it
 * meant exposed. Checked against what the server lists when a client asks (the gateway does
 * not list tools by itself); a server whose tools come and go may be named once for nothing.
 */
export class FilterNameAudit {
  readonly #server: string;
  readonly #filter: ToolFilter;
  readonly #log: Logger;
  readonly #said = new Set<string>();

  constructor(server: string, filter: ToolFilter, log: Logger) {
    this.#server = server;
    this.#filter = filter;
    this.#log = log;
  }

  /** The names of every page of one tools/list of this server. */
  listed(names: readonly string[]): void {
    const key = this.#filter.allow ? 'allow' : 'block';
    const named = this.#filter.allow ?? this.#filter.block ?? [];
    const missing = named.filter((n) => !names.includes(n) && !this.#said.has(n));
    if (missing.length === 0) return;
    for (const n of missing) this.#said.add(n);
    const effect = key === 'allow' ? 'so they stay hidden' : 'so they block nothing';
    this.#log.warn(
      { server: this.#server, names: missing },
      `tools.${key} of server "${this.#server}" names tools it does not list (${missing.join(', ')}), ${effect}: a typo?`,
    );
  }
}

import type { ToolFilter } from '../config/index.js';

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

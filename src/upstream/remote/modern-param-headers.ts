// Mcp-Param-* headers (2026-07-28) for the tools/call requests ModernAdapterLink sends: each
// tool's `x-mcp-header` declarations, learned from the tools/list results that pass by.

import { argumentText, encodeHeaderValue, scanParamHeaders, type ParamHeader } from '../../mcp/index.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../../jsonrpc/index.js';
import { isObject } from './modern-translate.js';

/** Pages of `tools/list` read to learn `x-mcp-header` declarations after a header mismatch. */
const MAX_TOOL_PAGES = 20;

export class ToolParamHeaders {
  readonly #byTool = new Map<string, readonly ParamHeader[]>();

  /** The headers a tools/call must carry, from its arguments; undefined when none are declared. */
  headersFor(request: JsonRpcRequest): Record<string, string> | undefined {
    if (request.method !== 'tools/call') return undefined;
    const name = request.params?.name;
    const declared = typeof name === 'string' ? this.#byTool.get(name) : undefined;
    if (declared === undefined) return undefined;
    const args = request.params?.arguments;
    const headers: Record<string, string> = {};
    for (const { path, header } of declared) {
      const text = argumentText(args, path);
      if (text !== undefined) headers[`Mcp-Param-${header}`] = encodeHeaderValue(text);
    }
    return headers;
  }

  /** Reads the declarations of every tool in one tools/list result. */
  learn(result: Record<string, unknown>): void {
    if (!Array.isArray(result.tools)) return;
    for (const tool of result.tools) {
      if (!isObject(tool) || typeof tool.name !== 'string') continue;
      const declared = scanParamHeaders(tool.inputSchema);
      if (declared.length > 0) this.#byTool.set(tool.name, declared);
      else this.#byTool.delete(tool.name);
    }
  }

  /** Lists the tools again (after a -32020 header mismatch) to learn what changed. */
  async refresh(list: (params: Record<string, unknown>) => Promise<JsonRpcResponse>): Promise<void> {
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const reply = await list(cursor === undefined ? {} : { cursor });
      if ('error' in reply) return;
      this.learn(reply.result);
      cursor = typeof reply.result.nextCursor === 'string' ? reply.result.nextCursor : undefined;
      if (cursor === undefined) return;
    }
  }
}

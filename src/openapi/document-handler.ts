import { NAME_SEPARATOR } from '../gateway/index.js';
import type { Logger } from '../observability/index.js';
import { cut, DESCRIPTION_LIMIT } from './names.js';
import { buildOpenApiDocument, type DocumentOptions, type ExposedTool } from './document.js';
import { toolPath } from './routes.js';
import type { ToolCatalog } from './tool-catalog.js';

// The document for one route and caller, built live from the servers' current tool lists.

export interface DocumentRequest {
  /** `/{name}/openapi.json`, or undefined for `/openapi.json` (every server in `servers`). */
  readonly server: string | undefined;
  /** Servers whose tools the document shows. */
  readonly servers: readonly string[];
  readonly serverUrl: string;
}

export type DocumentSettings = Omit<DocumentOptions, 'tools' | 'serverUrl' | 'description'>;

export async function documentFor(request: DocumentRequest, catalog: ToolCatalog, settings: DocumentSettings, logger: Logger): Promise<Record<string, unknown>> {
  const unavailable: string[] = [];
  const lists = await Promise.all(
    request.servers.map(async (server) => {
      try {
        return { server, tools: await catalog.tools(server) };
      } catch (err) {
        // One server down leaves the others' operations in the document.
        logger.warn({ server, err: (err as Error).message }, 'cannot list tools for the OpenAPI document');
        unavailable.push(server);
        return { server, tools: [] };
      }
    }),
  );
  const tools: ExposedTool[] = [];
  for (const { server, tools: list } of lists) {
    for (const tool of list) {
      const name = request.server === undefined ? `${server}${NAME_SEPARATOR}${tool.name}` : tool.name;
      tools.push({ name, path: toolPath(request.server, name), tool });
    }
  }
  const scope = request.server === undefined ? `${request.servers.length} servers (${request.servers.join(', ')}); tools are named server${NAME_SEPARATOR}tool.` : `the MCP server "${request.server}".`;
  const description = cut(`The tools of ${scope}${unavailable.length ? ` Unavailable just now: ${unavailable.join(', ')}.` : ''}`, DESCRIPTION_LIMIT);
  return buildOpenApiDocument({
    ...settings,
    title: request.server === undefined ? settings.title : `${settings.title}: ${request.server}`,
    description,
    serverUrl: request.serverUrl,
    tools,
  });
}

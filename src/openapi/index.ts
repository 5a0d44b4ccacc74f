import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Gateway } from '../gateway/index.js';
import type { Logger } from '../observability/index.js';
import { VERSION } from '../version.js';
import { ArgumentValidator } from './arguments.js';
import { createOpenApiListener, type OpenApiListenerOptions } from './listener.js';
import { ToolCatalog } from './tool-catalog.js';

export { buildOpenApiDocument, type DocumentOptions, type ExposedTool } from './document.js';
export { ArgumentValidator, type ArgumentError } from './arguments.js';
export { answerFromToolResult, contentToJson, PROBLEM_TYPES, TOOL_ERROR_STATUS, type RestAnswer } from './results.js';
export { cut, operationIdFor, operationIds, DESCRIPTION_LIMIT, OPERATION_ID_LIMIT, PARAMETER_DESCRIPTION_LIMIT, SUMMARY_LIMIT } from './names.js';
export { matchOpenApiRoute, resourcePathOf, type OpenApiRoute } from './routes.js';
export { resolveSchema, type JsonSchema } from './schema.js';
export { ToolCatalog, type ToolDefinition } from './tool-catalog.js';
export { createOpenApiListener, type OpenApiListenerOptions } from './listener.js';

export interface OpenApiBridge {
  /** Serves the bridge's routes; false for any other path. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The same routes on the same tools, logging through `logger` (requests under publicUrl's path: http/base-path.ts). */
  listenerFor(logger: Logger): (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Lets REST calls in flight finish (up to `graceMs`), then closes the upstream sessions the bridge holds. */
  close(graceMs?: number): Promise<void>;
}

export type OpenApiBridgeOptions = Omit<OpenApiListenerOptions, 'catalog' | 'validator'> & {
  readonly gateway: Pick<Gateway, 'openDispatcher'>;
};

/** The OpenAPI bridge: tools as REST, through the gateway's sessions and filters. */
export function createOpenApiBridge(options: OpenApiBridgeOptions): OpenApiBridge {
  const catalog = new ToolCatalog({
    // Through the gateway: the server's tool filter applies to the list and to every call.
    open: (server, sink, initialize) => Promise.resolve().then(() => options.gateway.openDispatcher({ server, allowedServers: [server] }, { sink, initialize })),
    clientInfo: { name: 'gatehouse-openapi', version: VERSION },
    // As for MCP clients: where each client session gets its own upstream session, each REST caller does.
    isolated: new Set(options.config.servers.filter((s) => s.kind === 'remote' || s.sharing === 'per-session').map((s) => s.name)),
    logger: options.logger.child({ component: 'openapi' }),
    callTimeoutMs: options.config.openapi.callTimeout,
  });
  const validator = new ArgumentValidator();
  const listenerFor = (logger: Logger) => createOpenApiListener({ ...options, logger, catalog, validator });
  return { listener: listenerFor(options.logger), listenerFor, close: (graceMs) => catalog.close(graceMs) };
}

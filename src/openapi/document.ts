import { cut, DESCRIPTION_LIMIT, operationIds, SUMMARY_LIMIT } from './names.js';
import { PROBLEM_TYPES, TOOL_ERROR_STATUS } from './results.js';
import { isSchemaObject, resolveSchema, type JsonSchema, type SchemaBudget } from './schema.js';
import type { ToolDefinition } from './tool-catalog.js';

// The OpenAPI 3.1 document of a set of tools: one POST operation per tool.

/** One tool as the document shows it. */
export interface ExposedTool {
  /** The name callers use: the tool's own (`/{server}/api`) or `{server}__{tool}` (`/api`). */
  readonly name: string;
  /** The operation's path, e.g. `/files/api/tools/read_file`. */
  readonly path: string;
  readonly tool: ToolDefinition;
}

export interface DocumentOptions {
  readonly title: string;
  readonly version: string;
  readonly description?: string | undefined;
  /** `servers[0].url`: the gateway's public base URL. */
  readonly serverUrl: string;
  readonly tools: readonly ExposedTool[];
  /** OAuth 2 authorization code flow (auth.mode oauth): our endpoints and the scope to ask for. */
  readonly oauth?: { readonly authorizationUrl: string; readonly tokenUrl: string; readonly scope: string } | undefined;
  /** Bearer tokens accepted (static tokens, and OAuth access tokens). */
  readonly bearer: boolean;
}

/** Any result when the tool declares no outputSchema: the content list, text as strings. */
const CONTENT_SCHEMA: JsonSchema = {
  type: 'array',
  description: 'The tool result: text as strings; images, audio and resources as objects with their MIME type and data.',
  items: {
    anyOf: [
      { type: 'string' },
      {
        type: 'object',
        properties: {
          type: { type: 'string' },
          mimeType: { type: 'string' },
          data: { type: 'string', description: 'base64' },
          uri: { type: 'string' },
          text: { type: 'string' },
        },
        required: ['type'],
      },
    ],
  },
};

const PROBLEM_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem details.',
  properties: {
    type: { type: 'string', enum: Object.values(PROBLEM_TYPES) },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    tool: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { pointer: { type: 'string' }, detail: { type: 'string' } }, required: ['pointer', 'detail'] },
    },
  },
  required: ['type', 'title', 'status', 'detail'],
};

const PROBLEM_RESPONSES: Record<string, string> = {
  '400': 'Invalid arguments: every problem is listed in `errors`.',
  '401': 'No valid access token.',
  '404': 'No such tool (or not available to you).',
  [String(TOOL_ERROR_STATUS)]: 'The tool ran and reported an error.',
  '502': 'The MCP server failed or is unreachable.',
};

/** Operations in one document at most (the rest are left out; document-handler.ts logs it). */
export const MAX_DOCUMENT_TOOLS = 1_000;
/** Subschemas in one document at most, all tools together: past it, tools' schemas are shown as plain objects. */
export const MAX_DOCUMENT_SCHEMA_NODES = 200_000;

export function buildOpenApiDocument(options: DocumentOptions): Record<string, unknown> {
  const tools = options.tools.slice(0, MAX_DOCUMENT_TOOLS);
  const ids = operationIds(tools.map((t) => t.name));
  const schemas: Record<string, JsonSchema> = { Problem: PROBLEM_SCHEMA };
  const paths: Record<string, unknown> = {};
  const budget: SchemaBudget = { remaining: MAX_DOCUMENT_SCHEMA_NODES };
  for (const exposed of tools) {
    const operationId = ids.get(exposed.name)!;
    paths[exposed.path] = { post: operation(exposed, operationId, schemas, budget) };
  }
  const securitySchemes: Record<string, unknown> = {};
  const security: Record<string, string[]>[] = [];
  if (options.oauth) {
    securitySchemes.oauth2 = {
      type: 'oauth2',
      flows: {
        authorizationCode: {
          authorizationUrl: options.oauth.authorizationUrl,
          tokenUrl: options.oauth.tokenUrl,
          refreshUrl: options.oauth.tokenUrl,
          scopes: { [options.oauth.scope]: 'Call the tools of this gateway' },
        },
      },
    };
    security.push({ oauth2: [options.oauth.scope] });
  }
  if (options.bearer) {
    securitySchemes.bearer = { type: 'http', scheme: 'bearer', description: 'An OAuth access token for this API, or a static token from the gateway config.' };
    security.push({ bearer: [] });
  }
  const problemResponses = Object.fromEntries(
    Object.entries(PROBLEM_RESPONSES).map(([status, description]) => [
      `Problem${status}`,
      { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
    ]),
  );
  return {
    openapi: '3.1.0',
    info: {
      title: options.title,
      version: options.version,
      ...(options.description ? { description: options.description } : {}),
    },
    servers: [{ url: options.serverUrl }],
    paths,
    components: {
      schemas,
      responses: problemResponses,
      ...(Object.keys(securitySchemes).length ? { securitySchemes } : {}),
    },
    ...(security.length ? { security } : {}),
  };
}

function operation(exposed: ExposedTool, operationId: string, schemas: Record<string, JsonSchema>, budget: SchemaBudget): Record<string, unknown> {
  const { tool } = exposed;
  const input = resolveSchema(tool.inputSchema, operationId, schemas, budget);
  const body: JsonSchema = typeof input === 'boolean' ? { type: 'object' } : { type: 'object', ...input };
  const output = tool.outputSchema === undefined ? CONTENT_SCHEMA : resolveSchema(tool.outputSchema, `${operationId}.output`, schemas, budget);
  const required = isSchemaObject(body) && Array.isArray(body.required) && body.required.length > 0;
  const title = tool.title ?? (isSchemaObject(tool.annotations) && typeof tool.annotations.title === 'string' ? tool.annotations.title : undefined);
  const readOnly = isSchemaObject(tool.annotations) && tool.annotations.readOnlyHint === true;
  const responses: Record<string, unknown> = {
    '200': { description: 'The tool’s result.', content: { 'application/json': { schema: output } } },
  };
  for (const status of Object.keys(PROBLEM_RESPONSES)) responses[status] = { $ref: `#/components/responses/Problem${status}` };
  return {
    operationId,
    summary: cut(title ?? exposed.name, SUMMARY_LIMIT),
    ...(tool.description ? { description: cut(tool.description, DESCRIPTION_LIMIT) } : {}),
    // OpenAI GPT Actions: a consequential operation is confirmed by the user every time;
    // tools that declare themselves read-only need not be.
    'x-openai-isConsequential': !readOnly,
    requestBody: { required, content: { 'application/json': { schema: body } } },
    responses,
  };
}

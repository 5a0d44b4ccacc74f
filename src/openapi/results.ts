import { ErrorCode, type JsonRpcErrorObject } from '../jsonrpc/index.js';
import type { ArgumentError } from './arguments.js';
import { isSchemaObject } from './schema.js';

// What a REST caller receives: the tool's answer as plain JSON, or an RFC 9457 problem.

/** An answer ready to write: `problem` ones go out as application/problem+json. */
export interface RestAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly problem: boolean;
}

/** RFC 9457 §3.1.1: `type` is a URI naming the kind of problem; these are ours. */
export const PROBLEM_TYPES = {
  toolError: 'urn:gatehouse:problem:tool-error',
  invalidArguments: 'urn:gatehouse:problem:invalid-arguments',
  rejectedArguments: 'urn:gatehouse:problem:rejected-arguments',
  upstreamFailure: 'urn:gatehouse:problem:upstream-failure',
  upstreamTimeout: 'urn:gatehouse:problem:upstream-timeout',
  unknownTool: 'urn:gatehouse:problem:unknown-tool',
  unauthorized: 'urn:gatehouse:problem:unauthorized',
  badRequest: 'urn:gatehouse:problem:bad-request',
  refused: 'urn:gatehouse:problem:refused',
} as const;

/**
 * A tool error (`isError: true`) is 422: the call was understood and ran, and failed in a way
 * the caller (often a model) can read and act on. Not 5xx: ChatGPT backs off from an Action
 * after a few 5xx answers (OpenAI GPT Actions production notes, "Rate limits").
 */
export const TOOL_ERROR_STATUS = 422;

export function problem(status: number, type: string, title: string, detail: string, extra: Record<string, unknown> = {}): RestAnswer {
  return { status, problem: true, body: { type, title, status, detail, ...extra } };
}

/** `structuredContent` when given; else the content list as JSON; isError -> a problem. */
export function answerFromToolResult(result: unknown, tool: string): RestAnswer {
  const r = isSchemaObject(result) ? result : {};
  const content = Array.isArray(r.content) ? r.content.map(contentToJson) : [];
  if (r.isError === true) {
    const detail = content.filter((c): c is string => typeof c === 'string').join('\n') || `the tool ${tool} reported an error`;
    return problem(TOOL_ERROR_STATUS, PROBLEM_TYPES.toolError, 'The tool reported an error', detail, { tool, content });
  }
  if (r.structuredContent !== undefined) return { status: 200, problem: false, body: r.structuredContent };
  return { status: 200, problem: false, body: content };
}

/** MCP content blocks: text as a string; images, audio and resources as objects with their MIME type and data. */
export function contentToJson(block: unknown): unknown {
  if (!isSchemaObject(block)) return block;
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? block.text : '';
    case 'image':
    case 'audio':
      return { type: block.type, mimeType: block.mimeType, data: block.data };
    case 'resource': {
      const res = isSchemaObject(block.resource) ? block.resource : {};
      return {
        type: 'resource',
        uri: res.uri,
        ...(res.mimeType !== undefined ? { mimeType: res.mimeType } : {}),
        ...(typeof res.text === 'string' ? { text: res.text } : {}),
        ...(typeof res.blob === 'string' ? { data: res.blob } : {}),
      };
    }
    case 'resource_link': {
      const { type, uri, name, mimeType, description } = block;
      return Object.fromEntries(Object.entries({ type, uri, name, mimeType, description }).filter(([, v]) => v !== undefined));
    }
    default:
      return block;
  }
}

/** A JSON-RPC error from the upstream side of a tools/call. */
export function answerFromRpcError(error: JsonRpcErrorObject, tool: string): RestAnswer {
  switch (error.code) {
    case ErrorCode.InvalidParams:
      return problem(400, PROBLEM_TYPES.rejectedArguments, 'The server refused the arguments', error.message, { tool });
    case ErrorCode.RequestTimeout:
      return problem(504, PROBLEM_TYPES.upstreamTimeout, 'The MCP server did not answer in time', error.message, { tool });
    default:
      return problem(502, PROBLEM_TYPES.upstreamFailure, 'The MCP server could not run the tool', error.message, { tool, code: error.code });
  }
}

/** Errors listed in one answer at most; the detail says how many more there were. */
export const LISTED_ERRORS = 50;

export function invalidArguments(errors: readonly ArgumentError[], tool: string): RestAnswer {
  const listed = errors.slice(0, LISTED_ERRORS);
  const more = errors.length - listed.length;
  const detail = `${errors.length} problem${errors.length === 1 ? '' : 's'} with the arguments: ${listed.map((e) => `${e.pointer || '(body)'} ${e.detail}`).join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
  // RFC 9457 §3 shows exactly this extension: a list of errors, each with a JSON pointer.
  return problem(400, PROBLEM_TYPES.invalidArguments, 'Invalid arguments', detail, { tool, errors: listed });
}

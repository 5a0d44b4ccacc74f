import { NAME_SEPARATOR } from '../gateway/index.js';
import { MAX_ARGUMENT_DEPTH, nestedDeeperThan, type ArgumentError, type ArgumentValidator } from './arguments.js';
import { answerFromRpcError, answerFromToolResult, invalidArguments, problem, PROBLEM_TYPES, type RestAnswer } from './results.js';
import { isSchemaObject } from './schema.js';
import type { ToolCatalog } from './tool-catalog.js';

// One REST tool call, after the HTTP edge has admitted and authenticated the caller:
// find the tool, check the arguments, call it, and shape the answer.

export interface RestCall {
  /** The route's server (`/{name}/api/...`), or undefined for the aggregate names. */
  readonly server: string | undefined;
  /** The tool name as called: the server's own, or `{server}__{tool}`. */
  readonly tool: string;
  /** Servers the caller may use. */
  readonly allowedServers: readonly string[];
  /** Who is calling (servers that isolate clients give each caller a session of its own). */
  readonly principal: string;
  /** The request body (JSON arguments; empty means none). */
  readonly body: string;
  /** The only configured server, when there is exactly one: bare names on the aggregate routes are its tools. */
  readonly soleServer?: string | undefined;
}

export interface RestCallDeps {
  readonly catalog: ToolCatalog;
  readonly validator: ArgumentValidator;
}

export async function handleToolCall(call: RestCall, deps: RestCallDeps): Promise<RestAnswer> {
  const target = targetOf(call);
  if (!target) return unknownTool(call.tool);
  let args: Record<string, unknown>;
  try {
    const parsed: unknown = call.body.trim() === '' ? {} : JSON.parse(call.body);
    if (!isSchemaObject(parsed)) return problem(400, PROBLEM_TYPES.badRequest, 'The body must be a JSON object', 'send the tool arguments as one JSON object', { tool: call.tool });
    args = parsed;
  } catch {
    return problem(400, PROBLEM_TYPES.badRequest, 'The body is not valid JSON', 'send the tool arguments as one JSON object', { tool: call.tool });
  }
  // Before anything recurses over it (the validator, the JSON-RPC encoder): a body nested
  // 100k deep would exhaust the stack there.
  if (nestedDeeperThan(args, MAX_ARGUMENT_DEPTH)) {
    return problem(400, PROBLEM_TYPES.badRequest, 'The body is nested too deeply', `arrays and objects may be nested ${MAX_ARGUMENT_DEPTH} levels deep at most`, { tool: call.tool });
  }
  let tools;
  try {
    tools = await deps.catalog.tools(target.server);
  } catch (err) {
    return problem(502, PROBLEM_TYPES.upstreamFailure, 'The MCP server is unavailable', `server ${target.server}: ${(err as Error).message}`, { tool: call.tool });
  }
  // The list is already filtered: a blocked tool is unknown here and never reaches the server.
  const tool = tools.find((t) => t.name === target.name);
  if (!tool) return unknownTool(call.tool);
  let errors: readonly ArgumentError[];
  try {
    errors = deps.validator.checkerFor(tool.inputSchema)(args);
  } catch (err) {
    // The engine failed on this body (a RangeError on a recursive schema, say): the caller's to fix.
    return problem(400, PROBLEM_TYPES.invalidArguments, 'Invalid arguments', `the arguments could not be checked against the tool's schema (${(err as Error).name})`, { tool: call.tool, errors: [] });
  }
  if (errors.length) return invalidArguments(errors, call.tool);
  const reply = await deps.catalog.call(target.server, target.name, args, call.principal);
  if ('error' in reply) return answerFromRpcError(reply.error, call.tool);
  return answerFromToolResult(reply.result, call.tool);
}

/**
 * The server and tool a called name means. On `/{name}/api/tools/{tool}`, the server's own name.
 * On the aggregate routes (`/api/tools/{tool}`, `/api/tools/call/{tool}`), `{server}__{tool}`;
 * and, when exactly one server is configured, any other name is that server's tool as it names
 * it (seed 000, an OAuth proxy for one server, calls `/api/tools/call/{toolName}`). The rule
 * depends on the configuration only, never on which servers answer or what they list, so a
 * name means the same thing on every call: `{server}__x` is always tool `x` (a tool the server
 * itself calls `{server}__x` stays reachable as `{server}__{server}__x`), and with two servers
 * or more a bare name is no tool.
 */
function targetOf(call: RestCall): { server: string; name: string } | undefined {
  const allowed = (server: string, name: string) => (call.allowedServers.includes(server) ? { server, name } : undefined);
  if (call.server !== undefined) return allowed(call.server, call.tool);
  const i = call.tool.indexOf(NAME_SEPARATOR);
  const server = i > 0 ? call.tool.slice(0, i) : undefined;
  const name = call.tool.slice(i + NAME_SEPARATOR.length);
  if (server !== undefined && name !== '' && (call.soleServer === undefined || server === call.soleServer)) return allowed(server, name);
  return call.soleServer === undefined ? undefined : allowed(call.soleServer, call.tool);
}

function unknownTool(tool: string): RestAnswer {
  return problem(404, PROBLEM_TYPES.unknownTool, 'No such tool', `there is no tool "${tool}" here`, { tool });
}

// JSON-RPC 2.0 as MCP uses it. The hot path forwards these objects as they are, reading
// only what routing needs (method, id, progress token); so these types stay loose.

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: JsonRpcId;
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Record<string, unknown>;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId;
  result: Record<string, unknown>;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

// JSON-RPC 2.0 section 5.1 codes, and the MCP ones we use.
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Implementation-defined server error range: the upstream is unreachable or went away. */
  UpstreamUnavailable: -32000,
  RequestTimeout: -32001,
  /** MCP: the resource named by a URI does not exist. */
  ResourceNotFound: -32002,
} as const;

export function isRequest(m: JsonRpcMessage): m is JsonRpcRequest {
  return 'method' in m && 'id' in m && m.id !== undefined && m.id !== null;
}

export function isNotification(m: JsonRpcMessage): m is JsonRpcNotification {
  return 'method' in m && !('id' in m && m.id !== undefined && m.id !== null);
}

export function isResponse(m: JsonRpcMessage): m is JsonRpcResponse {
  return !('method' in m) && ('result' in m || 'error' in m);
}

export function errorResponse(id: JsonRpcId | null, code: number, message: string, data?: unknown): JsonRpcFailure {
  const error: JsonRpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: '2.0', id, error };
}

/**
 * Checks the shape of one parsed JSON value. Returns the message, or a reason it is not one.
 * Only structure is checked; params are the upstream's business.
 */
export function parseMessage(value: unknown): { ok: true; message: JsonRpcMessage } | { ok: false; reason: string; id: JsonRpcId | null } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'a JSON-RPC message must be an object', id: null };
  }
  const v = value as Record<string, unknown>;
  const id = typeof v.id === 'string' || typeof v.id === 'number' ? v.id : null;
  if (v.jsonrpc !== '2.0') return { ok: false, reason: 'jsonrpc must be "2.0"', id };
  if ('id' in v && v.id !== null && typeof v.id !== 'string' && typeof v.id !== 'number') {
    return { ok: false, reason: 'id must be a string or a number', id: null };
  }
  if ('method' in v) {
    if (typeof v.method !== 'string' || v.method === '') return { ok: false, reason: 'method must be a non-empty string', id };
    if ('params' in v && v.params !== undefined && (typeof v.params !== 'object' || v.params === null || Array.isArray(v.params))) {
      // MCP params are always by name (an object).
      return { ok: false, reason: 'params must be an object', id };
    }
    return { ok: true, message: v as unknown as JsonRpcMessage };
  }
  if ('result' in v || 'error' in v) {
    if (!('id' in v)) return { ok: false, reason: 'a response needs an id', id: null };
    if ('error' in v && (typeof v.error !== 'object' || v.error === null || typeof (v.error as { code?: unknown }).code !== 'number')) {
      return { ok: false, reason: 'error must be an object with a numeric code', id };
    }
    return { ok: true, message: v as unknown as JsonRpcMessage };
  }
  return { ok: false, reason: 'not a request, notification or response', id };
}

/** `params._meta.progressToken`, if the request carries one. */
export function progressTokenOf(m: JsonRpcRequest | JsonRpcNotification): string | number | undefined {
  const meta = m.params?._meta;
  if (typeof meta !== 'object' || meta === null) return undefined;
  const token = (meta as Record<string, unknown>).progressToken;
  return typeof token === 'string' || typeof token === 'number' ? token : undefined;
}

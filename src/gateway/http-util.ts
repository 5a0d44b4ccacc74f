import { errorResponse, type JsonRpcId } from '../jsonrpc/index.js';
import type { InboundRequest, Reply } from './reply.js';

const JSON_TYPE = { 'content-type': 'application/json' } as const;

/** A JSON-RPC error carried by an HTTP error status (transport-level refusals). */
export function jsonRpcHttpError(status: number, code: number, message: string, id: JsonRpcId | null = null, headers?: Record<string, string>): Reply {
  return { status, headers: headers ? { ...JSON_TYPE, ...headers } : JSON_TYPE, body: JSON.stringify(errorResponse(id, code, message)) };
}

export function json(body: unknown, status = 200, headers?: Record<string, string>): Reply {
  return { status, headers: headers ? { ...JSON_TYPE, ...headers } : JSON_TYPE, body: JSON.stringify(body) };
}

export function empty(status: number, headers: Record<string, string> = {}, body: string | null = null): Reply {
  return { status, headers, body };
}

/** True when the Accept header admits `type` (absent, `*\/*` and `type/*` count). */
export function accepts(request: InboundRequest, type: string): boolean {
  const accept = request.headers.get('accept');
  if (!accept) return true;
  const [major] = type.split('/');
  return accept
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .some((t) => t === type || t === '*/*' || t === `${major}/*`);
}

export function isJsonContentType(request: InboundRequest): boolean {
  const ct = request.headers.get('content-type');
  return ct !== null && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(ct.trim());
}

import { errorResponse, type JsonRpcId } from '../jsonrpc/index.js';
import { failureMessage } from '../upstream/index.js';
import { NoMemberOpened } from './aggregate-dispatcher.js';
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
  const types = mediaTypes(accept);
  return types.has(type) || types.has('*/*') || types.has(`${type.slice(0, type.indexOf('/'))}/*`);
}

/**
 * The media types an Accept value lists, lower-cased, parameters dropped. Clients send the
 * same few values on every request, so they are parsed once (a small cache, emptied when full:
 * a client cannot make it grow).
 */
const ACCEPT_CACHE = new Map<string, ReadonlySet<string>>();
const ACCEPT_CACHE_SIZE = 64;

function mediaTypes(accept: string): ReadonlySet<string> {
  let types = ACCEPT_CACHE.get(accept);
  if (types === undefined) {
    types = new Set(accept.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase()));
    if (ACCEPT_CACHE.size >= ACCEPT_CACHE_SIZE) ACCEPT_CACHE.clear();
    ACCEPT_CACHE.set(accept, types);
  }
  return types;
}

export function isJsonContentType(request: InboundRequest): boolean {
  const ct = request.headers.get('content-type');
  return ct !== null && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(ct.trim());
}

/**
 * What a client reads when its session's upstream cannot be opened: the upstream's own wording
 * for clients where it has one (a remote server's URL stays in the gateway's log).
 */
export function unavailableMessage(server: string | undefined, err: unknown): string {
  const error = err instanceof Error ? err : new Error(String(err));
  if (server !== undefined) return `upstream unavailable: ${failureMessage(server, error)}`;
  // The aggregate's own failure words every server for clients.
  return `upstream unavailable: ${error instanceof NoMemberOpened ? error.clientMessage() : error.message}`;
}

import { errorResponse, type JsonRpcId } from '../jsonrpc/index.js';

/** A JSON-RPC error carried by an HTTP error status (transport-level refusals). */
export function jsonRpcHttpError(status: number, code: number, message: string, id: JsonRpcId | null = null, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(errorResponse(id, code, message)), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** True when the Accept header admits `type` (absent, `*\/*` and `type/*` count). */
export function accepts(request: Request, type: string): boolean {
  const accept = request.headers.get('accept');
  if (!accept) return true;
  const [major] = type.split('/');
  return accept
    .split(',')
    .map((part) => part.split(';')[0]!.trim().toLowerCase())
    .some((t) => t === type || t === '*/*' || t === `${major}/*`);
}

export function isJsonContentType(request: Request): boolean {
  const ct = request.headers.get('content-type');
  return ct !== null && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(ct.trim());
}

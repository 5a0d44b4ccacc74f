import { InsufficientScopeError, OAuthError, SdkHttpError, SseError, UnauthorizedError } from '@modelcontextprotocol/client';

import { failedOAuthRequest } from '../../auth/client/token-request.js';
import { parseMessage, type JsonRpcMessage } from '../../jsonrpc/index.js';
import { redactUrl } from '../../observability/index.js';

/** Why a remote link failed, as a stable code; the message says it in words. */
export type RemoteFailureCode =
  | 'insecure-url' // refused before any connection: plain http to a non-loopback host, credentials in the URL
  | 'bad-config' // headers or tls.ca that cannot be used
  | 'connection-refused'
  | 'dns'
  | 'connection-lost' // reset, closed, or an event stream that ended and could not be resumed
  | 'timeout'
  | 'tls'
  | 'http-status' // an HTTP error status (401, 403, 500, ...); `status` says which
  | 'session-expired' // the server no longer knows our session (HTTP 404 with Mcp-Session-Id)
  | 'protocol' // the server answered something that is not MCP
  | 'closed'; // closed by the gateway

/** A local failure of a remote link (never crosses the wire as is: the message names the server's URL, for the log). */
export class RemoteLinkError extends Error {
  readonly code: RemoteFailureCode;
  /** The HTTP status, when the failure is one. */
  readonly status: number | undefined;

  constructor(code: RemoteFailureCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RemoteLinkError';
    this.code = code;
    this.status = options?.status;
  }

  /** What a client reads when this ends its calls or its session's start (upstream/errors.ts failureMessage). */
  clientMessage(upstream: string): string {
    return publicReason({ name: upstream }, this);
  }
}

// Node and undici put the useful part (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, ...) on a
// `cause` of a bare `TypeError: fetch failed`: walk the chain for the first code.
function causeCode(error: unknown): { code: string; message: string } | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return { code, message: current.message };
    const errors = (current as { errors?: unknown }).errors; // AggregateError: IPv4 and IPv6 both refused
    if (Array.isArray(errors) && errors[0] instanceof Error) {
      const inner = causeCode(errors[0]);
      if (inner) return inner;
    }
    current = current.cause;
  }
  return undefined;
}

const TLS_REASONS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the certificate (unknown issuer)',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to find the certificate issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate issued by an unknown authority',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate is not valid for this host name',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  ERR_SSL_WRONG_VERSION_NUMBER: 'handshake failed (is the server really speaking https on this port?)',
  EPROTO: 'handshake failed (is the server really speaking https on this port?)',
};

const TRUST_HINT = 'set tls.ca to the server certificate or its CA, or tls.rejectUnauthorized: false for testing';
// A host of the OAuth client on another origin (authorization server, token endpoint) is reached
// with the default trust store: the server's tls settings (and serve --insecure) do not apply.
const ELSEWHERE_TRUST_HINT =
  "the MCP server's tls settings do not apply to it, so it needs a certificate the system trusts (NODE_EXTRA_CA_CERTS=FILE adds a CA to the gatehouse process)";

/**
 * Turns a failed HTTP exchange into a RemoteLinkError a person can act on:
 * "connection refused by 127.0.0.1:4000", "HTTP 401 from https://x/mcp: needs credentials", ...
 */
export function describeFailure(error: unknown, url: string | URL, timeoutMs: number): RemoteLinkError {
  if (error instanceof RemoteLinkError) return error;
  const server = new URL(url);
  // A request of the OAuth client (token endpoint, discovery) on another host failed: that
  // host is named, not the MCP server's (token-request.ts labelledFetch).
  const oauth = failedOAuthRequest(error);
  const elsewhere = oauth !== undefined && URL.canParse(oauth.url) && new URL(oauth.url).host !== server.host ? oauth : undefined;
  const target = elsewhere === undefined ? server : new URL(elsewhere.url);
  const shown = redactUrl(target.href);
  const hostPort = elsewhere === undefined ? target.host : `${elsewhere.what} ${target.host}`;
  const ofWhat = elsewhere === undefined ? '' : ` of ${elsewhere.what}`;

  const status = httpStatusOf(error);
  if (status !== undefined) return describeStatus(status, target, error);
  // The authorization server refused our credentials or grant for good (RFC 6749 §5.2): as a
  // 401 it ends the link, rather than pass for a lost connection that fails one request at a
  // time. Its other answers (server_error, temporarily_unavailable, and any non-JSON error
  // page, which the SDK reads as server_error) say it is down for now: the request fails,
  // the link stays.
  if (error instanceof OAuthError && REFUSALS.has(error.code)) {
    const said = error.message.includes(error.code) ? error.message : `${error.code}: ${error.message}`;
    return new RemoteLinkError('http-status', `the authorization server refused the credentials for ${shown} (${said})`, { status: 401, cause: error });
  }
  if (error instanceof OAuthError) {
    // The SDK quotes a non-JSON error body ("Raw body: <html>..."): not worth a log line.
    const said = error.message.replace(/\s*Raw body:[\s\S]*$/, '');
    return new RemoteLinkError('connection-lost', `the authorization server for ${shown} could not issue a token now (${error.code}: ${said})`, { cause: error });
  }

  const found = causeCode(error);
  if (found) {
    const { code } = found;
    const tls = TLS_REASONS[code];
    if (tls) {
      const hint = code.startsWith('ERR_SSL') || code === 'EPROTO' ? '' : `; ${elsewhere === undefined ? TRUST_HINT : ELSEWHERE_TRUST_HINT}`;
      return new RemoteLinkError('tls', `TLS error talking to ${hostPort}: ${tls}${hint}`, { cause: error });
    }
    switch (code) {
      case 'ECONNREFUSED':
        return new RemoteLinkError('connection-refused', `connection refused by ${hostPort} (${shown}): is ${elsewhere === undefined ? 'the server' : 'it'} running?`, { cause: error });
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return new RemoteLinkError('dns', `cannot resolve host name ${target.hostname}${ofWhat} (${shown})`, { cause: error });
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'WIRE_CONNECT_TIMEOUT':
      case 'ETIMEDOUT':
        return new RemoteLinkError('timeout', `no connection to ${hostPort} within ${timeoutMs} ms (${shown})`, { cause: error });
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'WIRE_HEADERS_TIMEOUT':
        return new RemoteLinkError('timeout', `no response from ${shown} within ${timeoutMs} ms`, { cause: error });
      case 'ECONNRESET':
      case 'EPIPE':
      case 'UND_ERR_SOCKET':
      case 'UND_ERR_CLOSED':
      case 'WIRE_CLOSED':
        return new RemoteLinkError('connection-lost', `connection to ${hostPort} was closed by the server or the network (${shown})`, { cause: error });
      // The wire pool (wire/wire-pool.ts): an answer it cannot frame, a request it will not send.
      case 'WIRE_BAD_RESPONSE':
      case 'WIRE_BAD_REQUEST':
        return new RemoteLinkError('protocol', `${shown}: ${found.message}`, { cause: error });
      case 'WIRE_POOL_CLOSED':
        return new RemoteLinkError('closed', `the connection pool for ${shown} is closed`, { cause: error });
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return new RemoteLinkError('connection-refused', `host ${target.hostname}${ofWhat} is unreachable (${shown})`, { cause: error });
      default:
        if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT')) {
          return new RemoteLinkError('tls', `TLS error talking to ${hostPort}: ${found.message}`, { cause: error });
        }
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RemoteLinkError('connection-lost', `request to ${shown} failed: ${message}`, { cause: error });
}

/** The token endpoint's errors that say the credentials or grant will not work (RFC 6749 §5.2; RFC 8628 §3.5). */
const REFUSALS: ReadonlySet<string> = new Set(['invalid_client', 'unauthorized_client', 'invalid_grant', 'invalid_scope', 'access_denied', 'unsupported_grant_type', 'invalid_target']);

/** "HTTP 401 from https://x/mcp: needs credentials (...)". */
export function describeStatus(status: number, url: string | URL, cause?: unknown): RemoteLinkError {
  const shown = redactUrl(new URL(url).href);
  let words: string;
  if (status === 401) words = 'needs credentials (set headers or oauth for this server)';
  else if (status === 403) words = 'access denied';
  else if (status === 404) words = 'not found (check the URL)';
  else if (status === 405) words = 'method not allowed (is this an MCP endpoint? try transport: sse)';
  else if (status === 429) words = 'too many requests';
  else if (status >= 500) words = 'server error';
  else words = 'request refused';
  return new RemoteLinkError('http-status', `HTTP ${status} from ${shown}: ${words}`, { status, cause });
}

/** The HTTP status carried by one of the SDK transports' errors, if any. */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof SdkHttpError) return error.status;
  if (error instanceof UnauthorizedError) return 401;
  if (error instanceof InsufficientScopeError) return 403;
  if (error instanceof SseError) return typeof error.code === 'number' && error.code >= 300 ? error.code : undefined;
  // SSEClientTransport's POST failures are plain Errors: "Error POSTing to endpoint (HTTP 404): ..."
  if (error instanceof Error) {
    const m = /\(HTTP (\d{3})\)/.exec(error.message);
    if (m?.[1]) return Number(m[1]);
  }
  return undefined;
}

/** The response body the SDK kept on an HTTP error, if any (for the legacy-fallback check). */
export function httpBodyOf(error: unknown): string | undefined {
  if (error instanceof SdkHttpError) {
    const text = (error.data as { text?: unknown } | undefined)?.text;
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}

/**
 * MCP 2025-11-25 "Backwards compatibility": a client that POSTs initialize and gets 400, 404
 * or 405 tries the legacy HTTP+SSE transport (2025-03-26 said any 4xx; 401/403 are credentials,
 * not an old server). 2026-07-28 adds: not when the body is a JSON-RPC error, which means a
 * modern server that understood and refused the request.
 */
export function isLegacyServerAnswer(status: number | undefined, body: string | undefined): boolean {
  if (status !== 400 && status !== 404 && status !== 405) return false;
  if (body === undefined || body === '') return true;
  try {
    const parsed = JSON.parse(body) as unknown;
    return !(typeof parsed === 'object' && parsed !== null && 'jsonrpc' in parsed && 'error' in parsed);
  } catch {
    return true;
  }
}

/**
 * Whether a failure ends the link: nothing more can get through (refused, TLS, expired
 * session, credentials). A server error, a 403 or a timeout fails only its own request.
 */
export function closesLink(failure: RemoteLinkError): boolean {
  switch (failure.code) {
    case 'connection-refused':
    case 'dns':
    case 'tls':
    case 'session-expired':
    case 'insecure-url':
    case 'bad-config':
    case 'closed':
      return true;
    case 'http-status':
      return failure.status === 401 || failure.status === 404;
    default:
      return false;
  }
}

/** What a downstream client may read about a failure: no upstream URL or body, which can be internal. */
export function publicReason(upstream: { readonly name: string; readonly timeoutMs?: number }, failure: RemoteLinkError): string {
  switch (failure.code) {
    case 'timeout':
      return upstream.timeoutMs === undefined ? `upstream "${upstream.name}" did not answer in time` : `upstream "${upstream.name}" did not answer within ${upstream.timeoutMs} ms`;
    case 'session-expired':
      return `upstream "${upstream.name}" ended the session (it restarted or dropped it)`;
    case 'connection-refused':
      return `upstream "${upstream.name}" refused the connection (is it running?)`;
    case 'http-status':
      return `upstream "${upstream.name}" answered HTTP ${failure.status ?? 'error'}`;
    case 'protocol':
      return `upstream "${upstream.name}" sent an answer that is not MCP`;
    case 'connection-lost':
      return `lost the connection to upstream "${upstream.name}"`;
    default:
      return `upstream "${upstream.name}" is unavailable`;
  }
}

/** The JSON-RPC error object in an HTTP error body, if that is what it holds. */
export function jsonRpcError(text: string): (JsonRpcMessage & { error: unknown }) | undefined {
  if (text === '') return undefined;
  try {
    const parsed = parseMessage(JSON.parse(text));
    return parsed.ok && 'error' in parsed.message ? parsed.message : undefined;
  } catch {
    return undefined;
  }
}

// The legacy HTTP+SSE transport (2024-11-05): `GET /sse` opens the stream, `POST /message` carries messages.

import { ErrorCode, errorResponse, isRequest, isResponse, parseMessage, type JsonRpcMessage } from '../jsonrpc/index.js';
import type { InitializeParams } from '../upstream/types.js';
import type { PrincipalAdmission } from './admission.js';
import { isNullIdRequest, nullId, routeKey, tooDeep, usableSession, type McpCall } from './call.js';
import { duplicateIdError, type Dispatcher } from './dispatcher.js';
import { jsonRpcHttpError, unavailableMessage } from './http-util.js';
import { SESSION_NOT_FOUND, nestedDeeperThan, negotiateLegacyVersion } from './protocol.js';
import type { Reply } from './reply.js';
import { Session } from './session.js';
import { SSE_HEADERS, SseStream } from './sse.js';

const ACCEPTED: Reply = { status: 202, headers: {}, body: 'Accepted' };

/** What the legacy transport shares with the Gateway: its session table, limits and upstreams. */
export interface LegacySseHost {
  /** Every open session by id (both transports; a session answers only on its own). */
  readonly sessions: Map<string, Session>;
  readonly admission: PrincipalAdmission;
  readonly keepAliveMs: number | undefined;
  /** Called when a session closes: it leaves the table and no longer counts. */
  readonly forget: (session: Session) => void;
  /** Opens the upstream side of a session (its channel closing ends the session). */
  readonly openDispatcher: (call: McpCall, session: Session, initialize: InitializeParams) => Promise<Dispatcher>;
}

export class LegacySseTransport {
  readonly #host: LegacySseHost;

  constructor(host: LegacySseHost) {
    this.#host = host;
  }

  /** `GET /{name}/sse`: opens the stream and names the endpoint to POST messages to. */
  open(call: McpCall): Reply {
    const host = this.#host;
    if (!host.admission.admit(call.principal)) return host.admission.tooMany(null);
    const session = new Session(routeKey(call), call.principal, '2024-11-05', 'sse', host.forget);
    const outlet = new SseStream({ keepAliveMs: host.keepAliveMs, onClose: () => void session.close() });
    host.sessions.set(session.id, session);
    // The endpoint must be absolute and right behind a reverse proxy, so it comes from baseUrl.
    // A client that authenticated with ?token= posts with it too (it only goes back to the
    // caller that sent it, and logs redact it).
    const token = call.queryToken === undefined ? '' : `&token=${encodeURIComponent(call.queryToken)}`;
    outlet.send(`${call.baseUrl}${call.routePrefix}/message?sessionId=${session.id}${token}`, { event: 'endpoint' });
    session.openStandalone(outlet);
    return { status: 200, headers: SSE_HEADERS, stream: outlet.body };
  }

  /** `POST /{name}/message?sessionId=...`: one message; the reply travels on the SSE stream. */
  async message(call: McpCall): Promise<Reply> {
    const url = new URL(call.request.url);
    const id = url.searchParams.get('sessionId') ?? url.searchParams.get('session_id');
    const session = usableSession(id ? this.#host.sessions.get(id) : undefined, call, 'sse');
    // The same answer as Streamable HTTP's unknown session (404, SESSION_NOT_FOUND): the
    // 2024-11-05 transport names no code for it, SDK SSE clients look only at the status,
    // and one code for "no such session" on every route is what a client can act on.
    if (!session) return jsonRpcHttpError(404, SESSION_NOT_FOUND, 'Session not found');
    let message: JsonRpcMessage;
    try {
      const text = call.request.body;
      const body: unknown = JSON.parse(text);
      if (nestedDeeperThan(text)) return tooDeep();
      if (isNullIdRequest(body)) return nullId();
      const parsed = parseMessage(body);
      if (!parsed.ok) return jsonRpcHttpError(400, ErrorCode.InvalidRequest, `Invalid Request: ${parsed.reason}`, parsed.id);
      message = parsed.message;
    } catch {
      return jsonRpcHttpError(400, ErrorCode.ParseError, 'Parse error: the body is not valid JSON');
    }
    session.lastActivity = Date.now();
    const emit = (m: JsonRpcMessage) => session.deliver(m, undefined);
    if (isRequest(message) && message.method === 'initialize') {
      // One initialize per connection: a second one would orphan the first upstream session
      // (a per-session child process) if it replaced the dispatcher.
      if (session.initializeSeen) {
        emit(errorResponse(message.id, ErrorCode.InvalidRequest, 'Invalid Request: already initialized'));
        return ACCEPTED;
      }
      session.initializeSeen = true;
      const params = (message.params ?? {}) as Partial<InitializeParams>;
      const version = negotiateLegacyVersion(params.protocolVersion);
      let dispatcher: Dispatcher;
      try {
        dispatcher = await this.#host.openDispatcher(call, session, {
          protocolVersion: version,
          capabilities: params.capabilities ?? {},
          clientInfo: params.clientInfo ?? { name: 'unknown', version: '0' },
        });
      } catch (err) {
        // The client may try again.
        session.initializeSeen = false;
        emit(errorResponse(message.id, ErrorCode.UpstreamUnavailable, unavailableMessage(call.server, err)));
        return ACCEPTED;
      }
      if (session.closed) {
        // The SSE stream went away while the upstream session opened.
        await dispatcher.close();
        return ACCEPTED;
      }
      session.dispatcher = dispatcher;
      emit({ jsonrpc: '2.0', id: message.id, result: { ...dispatcher.initializeResult, protocolVersion: version } });
      return ACCEPTED;
    }
    if (!session.dispatcher) {
      if (isRequest(message)) emit(errorResponse(message.id, ErrorCode.InvalidRequest, 'Invalid Request: send initialize first'));
      return ACCEPTED;
    }
    if (isRequest(message)) {
      const id = message.id;
      // A reused pending id gets its error on the stream; the first request keeps its reply.
      if (!session.begin(id)) {
        emit(duplicateIdError(id));
      } else {
        void session.dispatcher.request(message).then((reply) => {
          session.end(id);
          emit(reply);
        });
      }
    }
    else if (isResponse(message)) session.dispatcher.respond(message);
    else if (message.method !== 'notifications/initialized') session.dispatcher.notify(message);
    return ACCEPTED;
  }
}

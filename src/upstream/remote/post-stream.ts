import { ErrorCode, errorResponse, type JsonRpcId, type JsonRpcMessage } from '../../jsonrpc/index.js';
import type { Logger } from '../../observability/index.js';
import { closesLink, RemoteLinkError } from './errors.js';
import type { EventSourceMessage } from './event-stream.js';
import type { AnswerBody } from './post-answer.js';
import { STREAM_RETRIES } from './standalone-stream.js';

/** What reading one POST's event stream needs from its Streamable HTTP link. */
export interface PostStreamHost {
  /** The server's name in config: JSON-RPC errors name it (never its URL). */
  readonly name: string;
  readonly logger: Logger;
  /** Streams being read: the link destroys them when it closes (no AbortController per POST). */
  readonly streams: Set<AnswerBody>;
  /** The link is closed: stop. */
  closed(): boolean;
  /** One event for the link's handlers; true when it is the answer to `requestId`. */
  deliver(event: EventSourceMessage, requestId: JsonRpcId | undefined): boolean;
  /** The server's `retry:` field, heard on the stream. */
  readonly onRetry: (ms: number) => void;
  /** How long to wait before attempt `n` (the server's `retry:`, else a growing delay). */
  retryDelay(n: number): number;
  /** GET with Last-Event-ID: the resumed stream, or why there is none. */
  resume(lastId: string): Promise<AnswerBody | RemoteLinkError>;
  /** Ends the link (the stream found it dead). */
  fail(reason: RemoteLinkError): void;
  /** A message for the link's handlers (the error answer to a request left unanswered). */
  answer(message: JsonRpcMessage): void;
}

/**
 * A POST's event stream, until it carries the answer. A stream that breaks first is resumed
 * when the server gave its events ids: MCP 2025-11-25 (transports, "Resumability and
 * Redelivery") has the client GET the endpoint with `Last-Event-ID`, after the delay of the
 * server's `retry:` field, and the server replays what the broken stream missed. A stream
 * that ends unanswered and cannot be resumed fails its request rather than leave it hanging.
 */
export async function readPostStream(h: PostStreamHost, body: AnswerBody, requestId: JsonRpcId | undefined): Promise<void> {
  let answered = requestId === undefined;
  let lastId: string | undefined;
  const onEvent = (event: EventSourceMessage): void => {
    if (event.id) lastId = event.id;
    if (h.deliver(event, requestId)) answered = true;
  };
  let stream: AnswerBody | undefined = body;
  let failures = 0;
  let why: string | undefined;
  while (stream !== undefined) {
    const before = lastId;
    h.streams.add(stream);
    // A stream that breaks (reset, server gone) is handled as one that ended.
    await stream.events(onEvent, h.onRetry).catch(() => undefined);
    h.streams.delete(stream);
    if (answered || h.closed()) return;
    // A server may end the stream after any event with an id and have the client come back
    // (2025-11-25, polling): a stream that brought a new id made progress.
    failures = lastId !== before ? 0 : failures + 1;
    stream = undefined;
    while (stream === undefined && lastId !== undefined && failures < STREAM_RETRIES) {
      await sleep(h.retryDelay(failures));
      if (h.closed()) return;
      const resumed = await h.resume(lastId);
      if (h.closed()) {
        if (!(resumed instanceof RemoteLinkError)) resumed.destroy();
        return;
      }
      if (!(resumed instanceof RemoteLinkError)) {
        stream = resumed;
      } else if (closesLink(resumed)) {
        h.fail(resumed.code === 'session-expired' ? resumed : new RemoteLinkError(resumed.code, `lost the event stream: ${resumed.message}`, { status: resumed.status, cause: resumed }));
        return;
      } else {
        why = resumed.message;
        failures++;
      }
    }
  }
  if (h.closed() || requestId === undefined) return;
  h.logger.warn({ id: requestId, reason: why }, 'the server ended a response stream without answering the request');
  h.answer(errorResponse(requestId, ErrorCode.UpstreamUnavailable, `upstream "${h.name}" ended the response stream without answering`));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

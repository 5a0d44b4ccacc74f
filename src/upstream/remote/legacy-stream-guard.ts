import { createParser, type EventSourceMessage } from 'eventsource-parser';

import { redactUrl, type Logger } from '../../observability/index.js';
import { RemoteLinkError } from './errors.js';
import { MAX_EVENT_LENGTH } from './event-stream.js';

// The legacy (2024-11-05 HTTP+SSE) link's guard on the server's event stream, between undici
// and the SDK transport's EventSource (legacy-sse-link.ts).

/**
 * Parses the stream and hands the EventSource only well-formed events of bounded size
 * (MAX_EVENT_LENGTH; a longer one errors the stream, which ends the link: `onTooLong` hears
 * why first), and only the first `endpoint` event: 2024-11-05 HTTP+SSE, "When a client connects, the server MUST send an
 * endpoint event [...] All subsequent client messages MUST be sent as HTTP POST requests to
 * this endpoint", while the SDK transport moves its POSTs to whatever a later one names (on
 * the same origin; on another, it drops the session). `id:` and `retry:` are left out: they
 * serve reconnection, and a legacy session cannot be resumed (the link never reconnects).
 * Line ends are made LF first: the parser holds a CR that ends a chunk (a LF may follow), so an
 * event ended by CR alone (WHATWG SSE allows CRLF, LF or CR) waited for the server's next bytes.
 */
export function legacyStreamGuard(url: URL, logger: Logger, onTooLong: (failure: RemoteLinkError) => void): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let endpointSeen = false;
  let tooLong = false;
  let out = '';
  let pendingCr = false;
  const lineEndsToLf = (text: string): string => {
    if (pendingCr && text.startsWith('\n')) text = text.slice(1); // the LF of a CRLF cut between chunks
    pendingCr = text.endsWith('\r');
    return text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  };
  const onEvent = (event: EventSourceMessage): void => {
    if (event.event === 'endpoint') {
      if (endpointSeen) {
        logger.warn({ endpoint: URL.canParse(event.data, url.href) ? redactUrl(new URL(event.data, url).href) : '(not a URL)' }, 'ignored a second endpoint event: the session keeps its first endpoint');
        return;
      }
      endpointSeen = true;
    }
    const name = event.event === undefined ? '' : `event: ${event.event}\n`;
    out += `${name}data: ${event.data.split('\n').join('\ndata: ')}\n\n`;
  };
  const parser = createParser({
    onEvent,
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') tooLong = true;
    },
    maxBufferSize: MAX_EVENT_LENGTH,
  });
  const feed = (text: string, controller: TransformStreamDefaultController<Uint8Array>): void => {
    parser.feed(lineEndsToLf(text));
    if (tooLong) {
      const failure = new RemoteLinkError('protocol', `${redactUrl(url.href)} sent an event longer than ${MAX_EVENT_LENGTH} characters`);
    onTooLong(failure);
      throw failure;
    }
    if (out !== '') controller.enqueue(encoder.encode(out));
    out = '';
  };
  return new TransformStream({
    transform: (chunk, controller) => feed(decoder.decode(chunk, { stream: true }), controller),
    flush: (controller) => feed(decoder.decode(), controller),
  });
}

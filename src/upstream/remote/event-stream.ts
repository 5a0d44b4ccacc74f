import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import { RemoteLinkError } from './errors.js';

export type { EventSourceMessage };

/**
 * The most one event of a server's stream, or one answer read whole (a JSON body), may hold, in
 * characters (a stdio line's limit, stdio-link.ts). Past it the stream or the answer fails: a
 * server that never ends an event or a body would otherwise fill the gateway's memory.
 */
export const MAX_EVENT_LENGTH = 64 * 1024 * 1024;

/** An event or an answer longer than MAX_EVENT_LENGTH: the request or stream it was for fails. */
export function tooLong(what: 'event' | 'answer'): RemoteLinkError {
  return new RemoteLinkError('protocol', `the server sent an ${what} longer than ${MAX_EVENT_LENGTH} characters`);
}

/** An SSE parser bounded by MAX_EVENT_LENGTH: `onTooLong` hears when an event passes it (the parser then stops). */
export function boundedEventParser(onEvent: (event: EventSourceMessage) => void, onRetry: ((ms: number) => void) | undefined, onTooLong: () => void): EventSourceParser {
  return createParser({
    onEvent,
    ...(onRetry === undefined ? {} : { onRetry }),
    maxBufferSize: MAX_EVENT_LENGTH,
    onError: (error) => {
      if (error.type === 'max-buffer-size-exceeded') onTooLong();
    },
  });
}

/**
 * Feeds an SSE body to `onEvent` until it ends or is destroyed (resolves) or breaks (rejects). `onRetry`
 * hears the server's `retry:` field. Event listeners rather than `for await`, and a
 * StringDecoder rather than a TextDecoder: on the hot path the async iterator and the ICU
 * converter cost more than the parsing itself (docs/decisions/0005-performance.md). An event
 * longer than MAX_EVENT_LENGTH breaks the stream.
 */
export function readEventStream(body: Readable, onEvent: (event: EventSourceMessage) => void, onRetry?: (ms: number) => void): Promise<void> {
  let over = false;
  const parser = boundedEventParser(onEvent, onRetry, () => (over = true));
  const decoder = new StringDecoder('utf8');
  return new Promise<void>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      if (over) return;
      parser.feed(decoder.write(chunk));
      if (over) body.destroy(tooLong('event'));
    });
    body.once('error', reject);
    body.once('end', () => resolve());
    body.once('close', () => resolve()); // destroyed (the link closed): no 'end' comes
  });
}

/** A body read whole as UTF-8 text, failing (and destroying it) past MAX_EVENT_LENGTH characters. */
export function readBoundedText(body: Readable): Promise<string> {
  const decoder = new StringDecoder('utf8');
  let text = '';
  return new Promise<string>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      text += decoder.write(chunk);
      if (text.length > MAX_EVENT_LENGTH) body.destroy(tooLong('answer'));
    });
    body.once('error', reject);
    body.once('end', () => resolve(text + decoder.end()));
    body.once('close', () => reject(new Error('the answer was cut off'))); // after 'end' this changes nothing
  });
}

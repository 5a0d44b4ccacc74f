import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type { EventSourceMessage };

/**
 * Feeds an SSE body to `onEvent` until it ends or is destroyed (resolves) or breaks (rejects). `onRetry`
 * hears the server's `retry:` field. Event listeners rather than `for await`, and a
 * StringDecoder rather than a TextDecoder: on the hot path the async iterator and the ICU
 * converter cost more than the parsing itself (docs/decisions/0005-performance.md).
 */
export function readEventStream(body: Readable, onEvent: (event: EventSourceMessage) => void, onRetry?: (ms: number) => void): Promise<void> {
  const parser = createParser(onRetry === undefined ? { onEvent } : { onEvent, onRetry });
  const decoder = new StringDecoder('utf8');
  return new Promise<void>((resolve, reject) => {
    body.on('data', (chunk: Buffer) => parser.feed(decoder.write(chunk)));
    body.once('error', reject);
    body.once('end', () => resolve());
    body.once('close', () => resolve()); // destroyed (the link closed): no 'end' comes
  });
}

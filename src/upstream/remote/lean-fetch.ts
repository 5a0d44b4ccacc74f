import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import type { Dispatcher } from 'undici';

import { readBoundedText } from './event-stream.js';
import { relaySignal } from './signal-relay.js';

/**
 * A fetch for the SDK transports' requests to the MCP server itself, on undici's `request`
 * instead of its `fetch`: the fetch machinery (Request objects, web streams for every body,
 * an abort listener per request) cost most of the SDK path's CPU per call in profiles. A
 * JSON answer is read whole and handed over as a `Response` built from the text; an event
 * stream is handed over as a stream (a JSON answer past MAX_EVENT_LENGTH fails). Redirects are not followed (the SDK asks for
 * `redirect: 'manual'` and follows them itself). Returns undefined for what it does not
 * handle (a body that is not a string), which then goes through fetch.
 */
export async function leanFetch(dispatcher: Dispatcher, target: URL, init: RequestInit | undefined, headers: ConstructorParameters<typeof Headers>[0]): Promise<Response | undefined> {
  const body = init?.body;
  if (body !== undefined && body !== null && typeof body !== 'string') return undefined;
  const method = (init?.method ?? 'GET').toUpperCase();
  const requestHeaders: Record<string, string> = {};
  if (headers !== undefined) new Headers(headers).forEach((value, name) => (requestHeaders[name] = value));
  // One listener on the transport's long-lived signal for all requests (signal-relay.ts).
  const relayed = init?.signal ? relaySignal(init.signal) : undefined;
  try {
    const res = await dispatcher.request({
      origin: target.origin,
      path: target.pathname + target.search,
      method,
      headers: requestHeaders,
      ...(typeof body === 'string' ? { body } : {}),
      ...(relayed ? { signal: relayed.signal } : {}),
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
      else if (value !== undefined) responseHeaders.set(name, value);
    }
    const status = res.statusCode;
    // Fetch's null-body statuses: a Response cannot carry a body with them.
    if (status === 101 || status === 204 || status === 205 || status === 304 || method === 'HEAD') {
      await res.body.dump();
      relayed?.release();
      return new Response(null, { status, headers: responseHeaders });
    }
    if (responseHeaders.get('content-type')?.startsWith('text/event-stream')) {
      // The stream stays abortable until it is over: released when the body closes, not
      // when the Response is collected (the SDK keeps only the body's reader, so the
      // Response could be collected while the stream is open, and an abort then missed it,
      // leaving the request open and the pool's close waiting for it).
      if (relayed) res.body.once('close', () => relayed.release());
      return new Response(Readable.toWeb(res.body) as WebReadableStream<Uint8Array>, { status, headers: responseHeaders });
    }
    // Bounded (event-stream.ts): a body that never ends fails rather than fill the memory.
    const text = await readBoundedText(res.body);
    relayed?.release();
    return new Response(text, { status, headers: responseHeaders });
  } catch (error) {
    relayed?.release();
    throw error;
  }
}

// What the gateway answers, before any HTTP framework sees it. The HTTP edge writes a
// Reply straight to Node's response on the hot path, or turns it into a web Response.

/** The parts of an inbound HTTP request the gateway reads (a web Request fits). */
export interface InboundRequest {
  readonly method: string;
  /** Absolute URL. */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  /** The body as text, read (and held to the configured limit) before the gateway sees it; '' for GET and DELETE. */
  readonly body: string;
}

export type Reply =
  | { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: string | null }
  | { readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly stream: ReadableStream<Uint8Array> };

export function isStreamReply(r: Reply): r is Extract<Reply, { stream: ReadableStream<Uint8Array> }> {
  return 'stream' in r;
}

export function toResponse(r: Reply): Response {
  return new Response(isStreamReply(r) ? r.stream : r.body, { status: r.status, headers: r.headers });
}

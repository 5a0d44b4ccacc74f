/** Why an exchange on the wire client failed; errors.ts (describeFailure) words each code. */
export type WireErrorCode =
  | 'WIRE_CONNECT_TIMEOUT' // no connection within the server's timeout
  | 'WIRE_HEADERS_TIMEOUT' // connected, but no answer's header section within the timeout
  | 'WIRE_CLOSED' // the server closed the connection before the answer was complete
  | 'WIRE_BAD_RESPONSE' // the answer is not HTTP/1.1 as RFC 9112 frames it
  | 'WIRE_BAD_REQUEST' // a request the client will not send (a header value with CR/LF, another origin)
  | 'WIRE_POOL_CLOSED'; // the pool was closed

export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode, message: string) {
    super(message);
    this.name = 'WireError';
    this.code = code;
  }
}

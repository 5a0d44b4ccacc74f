import { describe, expect, it } from 'vitest';

import { MAX_HEAD_BYTES, ResponseParser } from './response-parser.js';
import { WireError } from './wire-error.js';

// The framing rules of RFC 9112 as the wire pool reads them, fed whole and split at every
// byte: where a response ends must not depend on how the bytes arrived.

interface Read {
  status: number | undefined;
  /** 1xx answers passed over. */
  informational: number;
  headers: string[];
  body: string;
  /** -1 while unfinished, else the bytes left after the response. */
  rest: number;
  parser: ResponseParser;
}

function read(bytes: string | Buffer, method = 'POST', splits: number[] = []): Read {
  const out: Read = { status: undefined, informational: 0, headers: [], body: '', rest: -1, parser: undefined as unknown as ResponseParser };
  const parts: Buffer[] = [];
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  let from = 0;
  for (const at of [...splits, buf.length]) {
    parts.push(buf.subarray(from, at));
    from = at;
  }
  const parser = new ResponseParser({
    head(status, raw) {
      out.status = status;
      out.headers = raw;
    },
    data(chunk) {
      out.body += chunk.toString('latin1');
    },
    informational() {
      out.informational++;
    },
  });
  out.parser = parser;
  parser.expect(method);
  for (const part of parts) {
    const rest = parser.feed(part);
    if (rest >= 0) {
      out.rest = rest;
      break;
    }
  }
  return out;
}

/** The same bytes fed in two pieces at every split point, and byte by byte. */
function everySplit(bytes: string, method = 'POST'): Read[] {
  const reads = [read(bytes, method)];
  for (let at = 1; at < bytes.length; at++) reads.push(read(bytes, method, [at]));
  reads.push(read(bytes, method, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)));
  return reads;
}

function failure(bytes: string, method = 'POST'): WireError {
  try {
    read(bytes, method);
  } catch (error) {
    expect(error).toBeInstanceOf(WireError);
    return error as WireError;
  }
  throw new Error('parsed without an error');
}

const SSE_BODY = 'event: message\ndata: {"jsonrpc":"2.0","id":1,"result":{}}\n\n';

describe('ResponseParser', () => {
  it('reads a chunked event stream (the SDK server answer) the same way however it is split', () => {
    const chunked = `${SSE_BODY.length.toString(16)}\r\n${SSE_BODY}\r\n0\r\n\r\n`;
    const bytes = `HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nmcp-session-id: s1\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`;
    for (const r of everySplit(bytes)) {
      expect(r.status).toBe(200);
      expect(r.headers).toEqual(['Content-Type', 'text/event-stream', 'mcp-session-id', 's1', 'Transfer-Encoding', 'chunked']);
      expect(r.body).toBe(SSE_BODY);
      expect(r.rest).toBe(0);
      expect(r.parser.keepAlive).toBe(true);
    }
  });

  it('reads several chunks with extensions and trailers, and a Content-Length body, split anywhere', () => {
    const chunked = 'HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n3;x=y\r\nabc\r\n0A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n';
    for (const r of everySplit(chunked)) expect([r.body, r.rest]).toEqual(['abc0123456789', 0]);
    const sized = 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: application/json\r\n\r\n{"ok":true}';
    for (const r of everySplit(sized)) expect([r.status, r.body, r.rest]).toEqual([200, '{"ok":true}', 0]);
  });

  it('counts the bytes after the end of a response (a server answering what nobody asked)', () => {
    expect(read('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n').rest).toBe(17);
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA').rest).toBe(5);
    expect(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX').rest).toBe(1);
  });

  it('passes over 1xx answers to the real one', () => {
    const bytes = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    for (const r of everySplit(bytes)) expect([r.informational, r.status, r.headers, r.body, r.rest]).toEqual([2, 200, ['Content-Length', '2'], 'ok', 0]);
  });

  it('ends HEAD, 204 and 304 answers with their header section whatever the headers say', () => {
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', 'HEAD')).toMatchObject({ status: 200, body: '', rest: 0 });
    expect(read('HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n')).toMatchObject({ status: 204, rest: 0 });
    expect(read('HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n')).toMatchObject({ status: 304, rest: 0 });
  });

  it('reads a body without length or chunking until the server closes, and never reuses that connection', () => {
    const r = read('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\n', 'POST', [40]);
    expect(r.rest).toBe(-1);
    expect(r.parser.keepAlive).toBe(false);
    expect(r.body).toBe('data: 1\n\n');
    expect(r.parser.end()).toBe(true);
    expect(r.parser.done).toBe(true);
  });

  it('fails a response the server cut short', () => {
    const cut = read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    expect(() => cut.parser.end()).toThrow(expect.objectContaining({ code: 'WIRE_CLOSED', message: expect.stringContaining('before the answer was complete') }));
    const none = read('HTTP/1.1 200 O');
    expect(() => none.parser.end()).toThrow(expect.objectContaining({ code: 'WIRE_CLOSED', message: expect.stringContaining('without answering') }));
    const chunkCut = read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab');
    expect(() => chunkCut.parser.end()).toThrow(expect.objectContaining({ code: 'WIRE_CLOSED' }));
  });

  it('reads whether the connection can carry another request', () => {
    expect(read('HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(read('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(read('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(true);
    // One token or a list, read alike: NBSP (obs-text) around a token is dropped, as String trim does.
    expect(read('HTTP/1.1 200 OK\r\nConnection: close\xa0\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(read('HTTP/1.1 200 OK\r\nConnection: \xa0Close\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(read('HTTP/1.1 200 OK\r\nConnection: close\xa0, x\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(false);
    expect(read('HTTP/1.0 200 OK\r\nConnection: keep-alive\xa0\r\nContent-Length: 0\r\n\r\n').parser.keepAlive).toBe(true);
    const hinted = read('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n').parser;
    expect([hinted.keepAlive, hinted.keepAliveSeconds]).toEqual([true, 5]);
    // A 1xx answer's Keep-Alive is not the final answer's.
    expect(read('HTTP/1.1 103 Early Hints\r\nKeep-Alive: timeout=9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').parser.keepAliveSeconds).toBeUndefined();
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing; close after it.
    expect(read('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n').parser.keepAlive).toBe(false);
  });

  it('accepts repeated identical lengths and optional whitespace around values', () => {
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length:2\r\nX-A: \t v \t\r\n\r\nok')).toMatchObject({ body: 'ok', rest: 0, headers: ['Content-Length', '2, 2', 'Content-Length', '2', 'X-A', 'v'] });
    expect(read('HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').status).toBe(200);
  });

  it('keeps empty values, inner whitespace and obs-text, and every token character in names', () => {
    const r = read("HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Blank: \t \r\nX-Inner: a \t b\r\nX-Latin: caf\xe9\xff\r\n!#$%&'*+-.^_`|~09azAZ: t\r\nContent-Length: 0\r\n\r\n");
    expect(r.headers).toEqual(['X-Empty', '', 'X-Blank', '', 'X-Inner', 'a \t b', 'X-Latin', 'caf\xe9\xff', "!#$%&'*+-.^_`|~09azAZ", 't', 'Content-Length', '0']);
  });

  it('refuses what would make the end of a response a guess (RFC 9112 §6)', () => {
    const cases: Array<[string, string]> = [
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 'both Transfer-Encoding and Content-Length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'differing Content-Length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n', 'differing Content-Length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'bad Content-Length'],
      ['HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', 'bad Content-Length'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'unsupported Transfer-Encoding'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 'unsupported Transfer-Encoding'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n', 'unsupported Transfer-Encoding'],
      ['HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\n\r\n', 'folded header line'],
      ['HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n', 'bad header name'],
      ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 'header line without a name'],
      ['HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n', 'bad characters in header X-A'],
      ['HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', 'bad characters in header X-A'],
      ['HTTP/1.1 200 OK\r\nX-A: a\u0001b\r\n\r\n', 'bad characters in header X-A'],
      ['HTTP/1.1 200 OK\r\nX-A: a\u007fb\r\n\r\n', 'bad characters in header X-A'],
      ['HTTP/1.1 200 OK\r\nX-A: a\nb\r\n\r\n', 'bad characters in header X-A'],
      ['HTTP/1.1 200 OK\r\nX-A: ok\r\nX-B: \x1b\r\n\r\n', 'bad characters in header X-B'],
      ['HTTP/1.1 200 OK\r\nX@A: 1\r\n\r\n', 'bad header name "X@A"'],
      ['HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n', 'bad header name "X A"'],
      ['HTTP/1.1 200 OK\r\n: no name\r\n\r\n', 'header line without a name'],
      ['HTTP/1.1 200 OK\r\n\tX-A: 1\r\n\r\n', 'folded header line'],
      ['HTTP/1.1 200 OK\r\nX-A\n: 1\r\n\r\n', 'bad header name'],
      ['HTTP/2 200 OK\r\n\r\n', 'bad status line'],
      ['HTTP/1.1 2000 OK\r\n\r\n', 'bad status line'],
      ['HTTP/1.1 099 Odd\r\n\r\n', 'bad status line'],
      ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', '101 Switching Protocols'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'bad chunk size line'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abc\r\n', 'bad chunk size line'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY', 'chunk data not followed by CRLF'],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n', 'bare LF'],
    ];
    for (const [bytes, said] of cases) {
      const error = failure(bytes);
      expect(error.code, bytes).toBe('WIRE_BAD_RESPONSE');
      expect(error.message, bytes).toContain(said);
    }
  });

  it('gives up on a header section or chunk line that never ends', () => {
    const long = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    expect(failure(long).message).toContain('header section longer than');
    const parser = new ResponseParser({ head() {}, data() {}, informational() {} });
    parser.expect('POST');
    expect(parser.feed(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'))).toBe(-1);
    expect(() => parser.feed(Buffer.alloc(5000, 0x31))).toThrow(/chunk size line too long/);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../jsonrpc/index.js';
import { answerFromRpcError, answerFromToolResult } from './results.js';

describe('answerFromToolResult', () => {
  it('prefers structuredContent', () => {
    expect(answerFromToolResult({ content: [{ type: 'text', text: '{"a":1}' }], structuredContent: { a: 1 } }, 't')).toEqual({ status: 200, problem: false, body: { a: 1 } });
  });

  it('maps content: text as strings, media and resources as objects with MIME type and data', () => {
    const answer = answerFromToolResult(
      {
        content: [
          { type: 'text', text: 'hi' },
          { type: 'image', mimeType: 'image/png', data: 'iVBOR' },
          { type: 'audio', mimeType: 'audio/wav', data: 'UklG' },
          { type: 'resource', resource: { uri: 'file:///a.bin', mimeType: 'application/octet-stream', blob: 'AAEC' } },
          { type: 'resource', resource: { uri: 'file:///a.txt', text: 'abc' } },
          { type: 'resource_link', uri: 'file:///b', name: 'b' },
        ],
      },
      't',
    );
    expect(answer.body).toEqual([
      'hi',
      { type: 'image', mimeType: 'image/png', data: 'iVBOR' },
      { type: 'audio', mimeType: 'audio/wav', data: 'UklG' },
      { type: 'resource', uri: 'file:///a.bin', mimeType: 'application/octet-stream', data: 'AAEC' },
      { type: 'resource', uri: 'file:///a.txt', text: 'abc' },
      { type: 'resource_link', uri: 'file:///b', name: 'b' },
    ]);
  });

  it('turns isError into an RFC 9457 problem (422) carrying the text', () => {
    const answer = answerFromToolResult({ isError: true, content: [{ type: 'text', text: 'disk full' }] }, 'files__write');
    expect(answer).toMatchObject({ status: 422, problem: true, body: { type: 'urn:gatehouse:problem:tool-error', status: 422, detail: 'disk full', tool: 'files__write' } });
  });
});

describe('answerFromRpcError', () => {
  it('maps refused arguments to 400, timeouts to 504 and the rest to 502', () => {
    expect(answerFromRpcError({ code: ErrorCode.InvalidParams, message: 'bad' }, 't').status).toBe(400);
    expect(answerFromRpcError({ code: ErrorCode.RequestTimeout, message: 'slow' }, 't').status).toBe(504);
    expect(answerFromRpcError({ code: ErrorCode.UpstreamUnavailable, message: 'gone' }, 't')).toMatchObject({ status: 502, body: { detail: 'gone' } });
    expect(answerFromRpcError({ code: ErrorCode.InternalError, message: 'boom' }, 't').status).toBe(502);
  });
});

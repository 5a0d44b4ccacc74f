import { OAuthError, SdkErrorCode, SdkHttpError, SseError, UnauthorizedError } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import { labelledFetch } from '../../auth/client/token-request.js';
import { closesLink, describeFailure, describeStatus, httpStatusOf, isLegacyServerAnswer, RemoteLinkError } from './errors.js';

const URL_ = 'https://mcp.example.com/mcp';

function fetchFailed(code: string, message = code): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
}

describe('describeFailure', () => {
  it("reads an authorization server's refusal as credentials that do not work, which ends the link", () => {
    const refused = describeFailure(new OAuthError('invalid_client', 'client authentication failed'), URL_, 5000);
    expect(refused).toMatchObject({
      code: 'http-status',
      status: 401,
      message: 'the authorization server refused the credentials for https://mcp.example.com/mcp (invalid_client: client authentication failed)',
    });
    expect(closesLink(refused)).toBe(true);
  });

  it('reads an authorization server that is down for now as a failed request, not refused credentials', () => {
    for (const error of [
      new OAuthError('server_error', 'HTTP 503: Invalid OAuth error response: SyntaxError. Raw body: <html><body>upstream unavailable</body></html>'),
      new OAuthError('temporarily_unavailable', 'try again later'),
    ]) {
      const failed = describeFailure(error, URL_, 5000);
      expect(failed.code, error.code).toBe('connection-lost');
      expect(closesLink(failed)).toBe(false);
      expect(failed.message).toContain(error.code);
      expect(failed.message).not.toContain('Raw body');
    }
  });

  it('says what went wrong on the network, in words', () => {
    expect(describeFailure(fetchFailed('ECONNREFUSED'), URL_, 5000).message).toBe(
      'connection refused by mcp.example.com (https://mcp.example.com/mcp): is the server running?',
    );
    expect(describeFailure(fetchFailed('ENOTFOUND'), URL_, 5000)).toMatchObject({ code: 'dns', message: 'cannot resolve host name mcp.example.com (https://mcp.example.com/mcp)' });
    expect(describeFailure(fetchFailed('UND_ERR_HEADERS_TIMEOUT'), URL_, 5000)).toMatchObject({
      code: 'timeout',
      message: 'no response from https://mcp.example.com/mcp within 5000 ms',
    });
    expect(describeFailure(fetchFailed('UND_ERR_CONNECT_TIMEOUT'), URL_, 5000).message).toBe('no connection to mcp.example.com within 5000 ms (https://mcp.example.com/mcp)');
    expect(describeFailure(fetchFailed('UND_ERR_SOCKET', 'other side closed'), URL_, 5000).code).toBe('connection-lost');
  });

  it('names TLS problems and how to fix them', () => {
    const selfSigned = describeFailure(fetchFailed('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), URL_, 5000);
    expect(selfSigned.code).toBe('tls');
    expect(selfSigned.message).toBe(
      'TLS error talking to mcp.example.com: self-signed certificate; set tls.ca to the server certificate or its CA, or tls.rejectUnauthorized: false for testing',
    );
    expect(describeFailure(fetchFailed('ERR_TLS_CERT_ALTNAME_INVALID'), URL_, 5000).message).toContain('certificate is not valid for this host name');
    expect(describeFailure(fetchFailed('ERR_SSL_WRONG_VERSION_NUMBER'), URL_, 5000).message).toContain('is the server really speaking https');
  });

  it('reads the HTTP status off the SDK errors', () => {
    const e401 = new SdkHttpError(SdkErrorCode.ClientHttpNotImplemented, 'Error POSTing to endpoint: nope', { status: 401, statusText: 'Unauthorized' });
    expect(describeFailure(e401, URL_, 5000)).toMatchObject({
      code: 'http-status',
      status: 401,
      message: 'HTTP 401 from https://mcp.example.com/mcp: needs credentials (set headers or oauth for this server)',
    });
    expect(httpStatusOf(new UnauthorizedError())).toBe(401);
    expect(httpStatusOf(new Error('Error POSTing to endpoint (HTTP 404): Not Found'))).toBe(404);
    expect(httpStatusOf(new SseError(403, 'Non-200 status code (403)', new Event('error') as never))).toBe(403);
    expect(httpStatusOf(new SseError(undefined, 'stream ended', new Event('error') as never))).toBeUndefined();
    expect(describeStatus(502, URL_).message).toBe('HTTP 502 from https://mcp.example.com/mcp: server error');
  });

  it('walks AggregateError (IPv4 and IPv6 both refused)', () => {
    const both = new TypeError('fetch failed', {
      cause: new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:80'), { code: 'ECONNREFUSED' })], 'all failed'),
    });
    expect(describeFailure(both, 'http://localhost/mcp', 1000).code).toBe('connection-refused');
  });

  it('redacts secret query parameters', () => {
    expect(describeFailure(fetchFailed('ECONNREFUSED'), 'https://h.example/mcp?api_key=s3cret', 1).message).not.toContain('s3cret');
  });
});

describe('isLegacyServerAnswer (MCP backwards compatibility)', () => {
  it('falls back on 400, 404 or 405 without a JSON-RPC error body', () => {
    expect(isLegacyServerAnswer(404, '<pre>Cannot POST /sse</pre>')).toBe(true);
    expect(isLegacyServerAnswer(405, '')).toBe(true);
    expect(isLegacyServerAnswer(400, undefined)).toBe(true);
    expect(isLegacyServerAnswer(400, '{"error":"bad"}')).toBe(true);
  });

  it('stays on Streamable HTTP for a JSON-RPC error body, credentials, server errors and network errors', () => {
    expect(isLegacyServerAnswer(400, '{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Unsupported protocol version"}}')).toBe(false);
    expect(isLegacyServerAnswer(401, '')).toBe(false);
    expect(isLegacyServerAnswer(403, '')).toBe(false);
    expect(isLegacyServerAnswer(500, '')).toBe(false);
    expect(isLegacyServerAnswer(undefined, undefined)).toBe(false);
  });
});

describe('closesLink', () => {
  it('ends the link when nothing more can get through', () => {
    for (const code of ['connection-refused', 'dns', 'tls', 'session-expired'] as const) expect(closesLink(new RemoteLinkError(code, ''))).toBe(true);
    expect(closesLink(new RemoteLinkError('http-status', '', { status: 401 }))).toBe(true);
  });

  it('fails only the request on server errors, 403 and timeouts', () => {
    expect(closesLink(new RemoteLinkError('http-status', '', { status: 500 }))).toBe(false);
    expect(closesLink(new RemoteLinkError('http-status', '', { status: 403 }))).toBe(false);
    expect(closesLink(new RemoteLinkError('timeout', ''))).toBe(false);
    expect(closesLink(new RemoteLinkError('connection-lost', ''))).toBe(false);
  });
});

describe('describeFailure: a request of the OAuth client (token-request.ts labelledFetch)', () => {
  /** What the labelled fetch throws when `url` cannot be reached. */
  async function failedAt(url: string, code: string, body?: URLSearchParams): Promise<unknown> {
    const fetchFn = labelledFetch(() => Promise.reject(fetchFailed(code)));
    return fetchFn(url, { method: 'POST', ...(body ? { body } : {}) }).catch((error: unknown) => error);
  }

  it('on another host: names that host and the endpoint, for refused, DNS, TLS and timeouts', async () => {
    const token = 'https://sso.example.org/oauth/token';
    const grant = new URLSearchParams({ grant_type: 'client_credentials' });
    expect(describeFailure(await failedAt(token, 'ECONNREFUSED', grant), URL_, 5000).message).toBe(
      'connection refused by the token endpoint sso.example.org (https://sso.example.org/oauth/token): is it running?',
    );
    expect(describeFailure(await failedAt(token, 'ENOTFOUND', grant), URL_, 5000).message).toBe('cannot resolve host name sso.example.org of the token endpoint (https://sso.example.org/oauth/token)');
    expect(describeFailure(await failedAt(token, 'CERT_HAS_EXPIRED', grant), URL_, 5000).message).toMatch(/^TLS error talking to the token endpoint sso.example.org: certificate has expired/);
    expect(describeFailure(await failedAt(token, 'UND_ERR_CONNECT_TIMEOUT', grant), URL_, 5000).message).toBe('no connection to the token endpoint sso.example.org within 5000 ms (https://sso.example.org/oauth/token)');
    const metadata = await failedAt('https://sso.example.org/.well-known/oauth-authorization-server', 'ECONNREFUSED');
    expect(describeFailure(metadata, URL_, 5000).message).toContain('connection refused by the authorization server sso.example.org');
  });

  it("a TLS error on another host does not advise the MCP server's tls settings, which do not apply there", async () => {
    const grant = new URLSearchParams({ grant_type: 'client_credentials' });
    const elsewhere = describeFailure(await failedAt('https://sso.example.org/oauth/token', 'DEPTH_ZERO_SELF_SIGNED_CERT', grant), URL_, 5000);
    expect(elsewhere.message).toBe(
      "TLS error talking to the token endpoint sso.example.org: self-signed certificate; the MCP server's tls settings do not apply to it, so it needs a certificate the system trusts (NODE_EXTRA_CA_CERTS=FILE adds a CA to the gatehouse process)",
    );
    expect(elsewhere.message).not.toContain('rejectUnauthorized');
    // On the server's own origin its tls settings do apply (http-client.ts), so the hint stays.
    const own = describeFailure(await failedAt('https://mcp.example.com/token', 'DEPTH_ZERO_SELF_SIGNED_CERT', grant), URL_, 5000);
    expect(own.message).toContain('set tls.ca to the server certificate or its CA, or tls.rejectUnauthorized: false for testing');
  });

  it("on the MCP server's own host: the MCP server, as before", async () => {
    const failure = describeFailure(await failedAt('https://mcp.example.com/token', 'ECONNREFUSED', new URLSearchParams({ grant_type: 'client_credentials' })), URL_, 5000);
    expect(failure.message).toBe('connection refused by mcp.example.com (https://mcp.example.com/mcp): is the server running?');
  });
});

import type { FetchLike } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import { DEVICE_CODE_GRANT, DeviceFlowError, runDeviceAuthorization } from './device-flow.js';

const metadata = { issuer: 'https://as.example', token_endpoint: 'https://as.example/token', device_authorization_endpoint: 'https://as.example/device' };

/** A scripted authorization server: the device answer, then one token answer per poll. */
function server(polls: Array<{ status: number; body: Record<string, unknown> }>, device: Record<string, unknown> = {}) {
  const forms: URLSearchParams[] = [];
  const auth: (string | null)[] = [];
  const fetchFn: FetchLike = (input, init) => {
    forms.push(new URLSearchParams(init?.body as URLSearchParams));
    auth.push(new Headers(init?.headers).get('authorization'));
    if (String(input) === metadata.device_authorization_endpoint) {
      return Promise.resolve(Response.json({ device_code: 'dc-1', user_code: 'WDJB-MJHT', verification_uri: 'https://as.example/activate', expires_in: 600, interval: 2, ...device }));
    }
    const next = polls.shift() ?? { status: 400, body: { error: 'authorization_pending' } };
    return Promise.resolve(Response.json(next.body, { status: next.status }));
  };
  return { fetchFn, forms, auth };
}

describe('runDeviceAuthorization (RFC 8628)', () => {
  it('waits the interval, adds 5 s for every slow_down, keeps polling while pending, and returns the tokens', async () => {
    const as = server([
      { status: 400, body: { error: 'authorization_pending' } },
      { status: 400, body: { error: 'slow_down' } },
      { status: 400, body: { error: 'authorization_pending' } },
      { status: 200, body: { access_token: 'at', token_type: 'bearer', refresh_token: 'rt' } },
    ]);
    const waits: number[] = [];
    const lines: string[] = [];
    const tokens = await runDeviceAuthorization({
      metadata,
      clientId: 'cli',
      scope: 'mcp',
      resource: 'https://mcp.example/mcp',
      fetchFn: as.fetchFn,
      notify: (l) => lines.push(l),
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    expect(tokens).toMatchObject({ access_token: 'at', refresh_token: 'rt' });
    expect(waits).toEqual([2000, 2000, 7000, 7000]);
    expect(lines.join('\n')).toContain('open https://as.example/activate and enter the code WDJB-MJHT');
    expect(Object.fromEntries(as.forms[0]!)).toEqual({ client_id: 'cli', scope: 'mcp', resource: 'https://mcp.example/mcp' });
    expect(Object.fromEntries(as.forms[1]!)).toEqual({ grant_type: DEVICE_CODE_GRANT, device_code: 'dc-1', client_id: 'cli', resource: 'https://mcp.example/mcp' });
  });

  it('a confidential client authenticates with HTTP Basic (RFC 6749 §2.3.1), not in the body', async () => {
    const as = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    await runDeviceAuthorization({ metadata, clientId: 'c:1', clientSecret: 's&2', fetchFn: as.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() });
    expect(as.auth[1]).toBe(`Basic ${Buffer.from('c%3A1:s%262').toString('base64')}`);
    expect(as.forms[1]!.has('client_id')).toBe(false);
  });

  it.each([
    // [the client's method (--auth-style), methods the metadata lists, what both requests carry]
    ['client_secret_post', undefined, 'post'],
    ['client_secret_basic', undefined, 'basic'],
    ['client_secret_post', ['client_secret_basic', 'client_secret_post'], 'post'],
    // Not listed: the metadata's method wins, as the SDK's selectClientAuthMethod has it.
    ['client_secret_basic', ['client_secret_post', 'none'], 'post'],
    [undefined, ['client_secret_post'], 'post'],
    [undefined, undefined, 'basic'],
  ] as const)('a confidential client with method %s, metadata listing %j: %s on the device request and the poll', async (authMethod, supported, expected) => {
    const as = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    await runDeviceAuthorization({
      metadata: { ...metadata, ...(supported ? { token_endpoint_auth_methods_supported: [...supported] } : {}) },
      clientId: 'robot',
      clientSecret: 'TOPSECRET',
      authMethod,
      scope: 'mcp',
      fetchFn: as.fetchFn,
      notify: () => undefined,
      sleep: () => Promise.resolve(),
    });
    expect(as.forms).toHaveLength(2);
    for (const [i, form] of as.forms.entries()) {
      if (expected === 'post') {
        expect(as.auth[i]).toBeNull();
        expect(form.get('client_id')).toBe('robot');
        expect(form.get('client_secret')).toBe('TOPSECRET');
      } else {
        expect(as.auth[i]).toBe(`Basic ${Buffer.from('robot:TOPSECRET').toString('base64')}`);
        expect(form.has('client_id')).toBe(false);
        expect(form.has('client_secret')).toBe(false);
      }
    }
    expect(Object.fromEntries(as.forms[0]!)).toMatchObject({ scope: 'mcp' });
    expect(Object.fromEntries(as.forms[1]!)).toMatchObject({ grant_type: DEVICE_CODE_GRANT, device_code: 'dc-1' });
  });

  it('a public client (no secret) sends its client_id alone (none), whatever method it names', async () => {
    const as = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    await runDeviceAuthorization({ metadata: { ...metadata, token_endpoint_auth_methods_supported: ['client_secret_post', 'none'] }, clientId: 'cli', authMethod: 'client_secret_post', fetchFn: as.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() });
    expect(as.auth).toEqual([null, null]);
    expect(as.forms.map((f) => [f.get('client_id'), f.has('client_secret')])).toEqual([
      ['cli', false],
      ['cli', false],
    ]);
  });

  it.each([
    ['expired_token', /expired/],
    ['access_denied', /denied/],
    ['invalid_grant', /refused the device code/],
  ])('ends on %s', async (error, message) => {
    const as = server([{ status: 400, body: { error } }]);
    const run = runDeviceAuthorization({ metadata, clientId: 'cli', fetchFn: as.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() });
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toBeInstanceOf(DeviceFlowError);
  });

  it('refuses an authorization server without a device endpoint, and a verification URI that is not http(s)', async () => {
    const as = server([]);
    await expect(runDeviceAuthorization({ metadata: { ...metadata, device_authorization_endpoint: undefined }, clientId: 'c', fetchFn: as.fetchFn, notify: () => undefined })).rejects.toThrow(/does not offer the device authorization grant .*no device_authorization_endpoint/);
    const evil = server([], { verification_uri: 'javascript:alert(1)' });
    await expect(runDeviceAuthorization({ metadata, clientId: 'c', fetchFn: evil.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() })).rejects.toThrow(/not an http\(s\) URL/);
  });

  it('refuses plain http to an authorization server on another machine before sending anything, as the SDK does for token requests', async () => {
    const far = { issuer: 'http://192.0.2.2:8080', token_endpoint: 'http://192.0.2.2:8080/token', device_authorization_endpoint: 'http://192.0.2.2:8080/device' };
    for (const endpoints of [far, { ...metadata, token_endpoint: far.token_endpoint }, { ...metadata, device_authorization_endpoint: far.device_authorization_endpoint }]) {
      const as = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
      const run = runDeviceAuthorization({ metadata: endpoints, clientId: 'robot', clientSecret: 'TOPSECRET', fetchFn: as.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() });
      await expect(run).rejects.toThrow(/^refusing to send the client secret to the non-https (device authorization|token) endpoint http:\/\/192\.0\.2\.2:8080\/(device|token) of the authorization server .*must use TLS/);
      await expect(run).rejects.toMatchObject({ name: 'DeviceFlowError', code: 'insecure_endpoint' });
      expect(as.forms).toEqual([]);
    }
    // A public client too: the device code and the tokens would cross in clear.
    const as = server([]);
    await expect(runDeviceAuthorization({ metadata: far, clientId: 'cli', fetchFn: as.fetchFn, notify: () => undefined })).rejects.toThrow(/^refusing to send the device code to the non-https device authorization endpoint/);
    expect(as.forms).toEqual([]);
  });

  it.each(['http://127.0.0.1:9', 'http://localhost:9', 'http://[::1]:9'])('allows plain http on this machine (%s)', async (base) => {
    const local = { issuer: base, token_endpoint: `${base}/token`, device_authorization_endpoint: `${base}/device` };
    const forms: string[] = [];
    const fetchFn: FetchLike = (input) => {
      forms.push(String(input));
      return Promise.resolve(
        String(input).endsWith('/device')
          ? Response.json({ device_code: 'dc', user_code: 'U', verification_uri: `${base}/activate`, expires_in: 60 })
          : Response.json({ access_token: 'at', token_type: 'Bearer' }),
      );
    };
    await expect(runDeviceAuthorization({ metadata: local, clientId: 'c', clientSecret: 's', fetchFn, notify: () => undefined, sleep: () => Promise.resolve() })).resolves.toMatchObject({ access_token: 'at' });
    expect(forms).toEqual([`${base}/device`, `${base}/token`]);
  });

  it('sends no secret to a server that accepts no secret method (token_endpoint_auth_methods_supported)', async () => {
    const as = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    const jwtOnly = { ...metadata, token_endpoint_auth_methods_supported: ['private_key_jwt'] };
    const run = runDeviceAuthorization({ metadata: jwtOnly, clientId: 'robot', clientSecret: 'TOPSECRET', fetchFn: as.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() });
    await expect(run).rejects.toThrow(/^the authorization server accepts none of the secret methods: .*private_key_jwt .*use --private-key/);
    await expect(run).rejects.toMatchObject({ name: 'DeviceFlowError', code: 'unsupported_auth_method' });
    expect(as.forms).toEqual([]);
    // A public client, or a server that lists a secret method, goes on.
    const publicClient = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    await expect(runDeviceAuthorization({ metadata: { ...jwtOnly, token_endpoint_auth_methods_supported: ['private_key_jwt', 'none'] }, clientId: 'cli', fetchFn: publicClient.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() })).resolves.toMatchObject({ access_token: 'at' });
    // A registered client (publicFallback) whose server gave it a secret goes as a public client instead: no secret sent.
    const registered = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    await expect(runDeviceAuthorization({ metadata: { ...jwtOnly, token_endpoint_auth_methods_supported: ['none'] }, clientId: 'dcr-1', clientSecret: 'TOPSECRET', publicFallback: true, fetchFn: registered.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() })).resolves.toMatchObject({ access_token: 'at' });
    expect(registered.forms.map((f) => [f.get('client_id'), f.has('client_secret')])).toEqual([['dcr-1', false], ['dcr-1', false]]);
    expect(registered.auth).toEqual([null, null]);
    const basicListed = server([{ status: 200, body: { access_token: 'at', token_type: 'Bearer' } }]);
    await expect(runDeviceAuthorization({ metadata: { ...jwtOnly, token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic'] }, clientId: 'robot', clientSecret: 'TOPSECRET', fetchFn: basicListed.fetchFn, notify: () => undefined, sleep: () => Promise.resolve() })).resolves.toMatchObject({ access_token: 'at' });
  });
});

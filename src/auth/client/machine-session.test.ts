import { Writable } from 'node:stream';

import type { FetchLike } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { createLogger } from '../../observability/index.js';
import { MachineSession } from './machine-session.js';

const MCP = 'https://mcp.example/mcp';
const FIRST = 'https://as-one.example';
const SECOND = 'https://as-two.example';

/**
 * An MCP server whose resource metadata names `names.as`, and two authorization servers that
 * both issue client_credentials tokens; every request, as it was sent.
 */
function world(names: { as: string }): { fetchFn: FetchLike; sent: { url: string; authorization: string | null }[] } {
  const sent: { url: string; authorization: string | null }[] = [];
  const fetchFn: FetchLike = (input, init) => {
    const url = new URL(String(input));
    sent.push({ url: url.href, authorization: new Headers(init?.headers).get('authorization') });
    const json = (value: unknown) => Promise.resolve(new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } }));
    if (url.href === 'https://mcp.example/.well-known/oauth-protected-resource/mcp') return json({ resource: MCP, authorization_servers: [names.as] });
    if (url.pathname === '/.well-known/oauth-authorization-server') {
      return json({ issuer: url.origin, authorization_endpoint: `${url.origin}/authorize`, token_endpoint: `${url.origin}/token`, response_types_supported: ['code'], grant_types_supported: ['client_credentials'] });
    }
    if (url.pathname === '/token') return json({ access_token: `token-from-${url.host}`, token_type: 'Bearer', expires_in: 3600 });
    return Promise.resolve(new Response('not found', { status: 404 }));
  };
  return { fetchFn, sent };
}

function logged(): { logger: ReturnType<typeof createLogger>; lines: () => { level: string; msg: string; issuer?: string }[] } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string; issuer?: string }) };
}

const session = (fetchFn: FetchLike, logger: ReturnType<typeof createLogger>, expectedIssuer?: string) =>
  new MachineSession({ serverUrl: MCP, clientId: 'robot', clientSecret: 'robot-secret', expectedIssuer, fetchFn, logger });

const unauthorized = (fetchFn: FetchLike) => ({ response: new Response(null, { status: 401 }), serverUrl: new URL(MCP), fetchFn });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('MachineSession: the authorization server its credentials go to', () => {
  it('without an expected issuer: the one discovery finds first, said in our log and not on the console', async () => {
    const warn = vi.spyOn(console, 'warn');
    const { fetchFn, sent } = world({ as: FIRST });
    const { logger, lines } = logged();
    expect(await session(fetchFn, logger).token()).toBe('token-from-as-one.example');
    expect(warn).not.toHaveBeenCalled();
    expect(lines().filter((l) => l.msg.includes('no expected issuer'))).toEqual([expect.objectContaining({ level: 'warn', issuer: FIRST })]);
    // Discovered once: auth() reused what the binding fetched.
    expect(sent.filter((s) => s.url === `${FIRST}/.well-known/oauth-authorization-server`)).toHaveLength(1);
  });

  it('the MCP server naming another authorization server later does not move the credentials there', async () => {
    const names = { as: FIRST };
    const { fetchFn, sent } = world(names);
    const machine = session(fetchFn, logged().logger);
    expect(await machine.token()).toBe('token-from-as-one.example');
    // A 401, and the server's metadata now names another authorization server (SEP-2352).
    names.as = SECOND;
    const refused = machine.onUnauthorized(unauthorized(fetchFn));
    await expect(refused).rejects.toThrow(`Authorization server mismatch: credentials are bound to ${JSON.stringify(FIRST)} but this call resolved ${JSON.stringify(SECOND)}`);
    // How to move on: the binding lasts as long as the process.
    await expect(refused).rejects.toThrow('restart, or set servers.NAME.oauth.issuer (gatehouse serve) / --expected-issuer (connect)');
    expect(sent.filter((s) => s.url.startsWith(SECOND) && s.url.endsWith('/token'))).toEqual([]);
    // Later renewals (discovery again or not) stay refused.
    await expect(machine.onUnauthorized(unauthorized(fetchFn))).rejects.toThrow(/mismatch/i);
    expect(sent.filter((s) => s.url.startsWith(SECOND) && s.url.endsWith('/token'))).toEqual([]);
  });

  it('with an expected issuer, another authorization server is refused, naming the setting to change', async () => {
    const { fetchFn, sent } = world({ as: SECOND });
    const refused = session(fetchFn, logged().logger, FIRST).token();
    await expect(refused).rejects.toThrow(`The expected issuer (servers.NAME.oauth.issuer for gatehouse serve, --expected-issuer for connect) names ${JSON.stringify(FIRST)}`);
    expect(sent.filter((s) => s.url.endsWith('/token'))).toEqual([]);
  });

  it('with an expected issuer: that one, and nothing to say', async () => {
    const warn = vi.spyOn(console, 'warn');
    const { fetchFn } = world({ as: FIRST });
    const { logger, lines } = logged();
    expect(await session(fetchFn, logger, FIRST).token()).toBe('token-from-as-one.example');
    expect(warn).not.toHaveBeenCalled();
    expect(lines()).toEqual([]);
  });
});

describe('MachineSession: authStyle against the methods the metadata lists (RFC 8414 token_endpoint_auth_methods_supported)', () => {
  /** The token request sent when the metadata lists `methods` and the style is `authStyle`. */
  async function tokenRequest(methods: string[], authStyle: 'header' | 'body'): Promise<{ authorization: string | null; form: URLSearchParams }> {
    let request: { authorization: string | null; form: URLSearchParams } | undefined;
    const json = (value: unknown) => Promise.resolve(new Response(JSON.stringify(value), { status: 200, headers: { 'content-type': 'application/json' } }));
    const fetchFn: FetchLike = (input, init) => {
      const url = new URL(String(input));
      if (url.pathname === '/.well-known/oauth-protected-resource/mcp') return json({ resource: MCP, authorization_servers: [FIRST] });
      if (url.pathname === '/.well-known/oauth-authorization-server') {
        return json({ issuer: FIRST, token_endpoint: `${FIRST}/token`, authorization_endpoint: `${FIRST}/authorize`, response_types_supported: ['code'], token_endpoint_auth_methods_supported: methods });
      }
      if (url.pathname === '/token') {
        request = { authorization: new Headers(init?.headers).get('authorization'), form: new URLSearchParams(init?.body as URLSearchParams) };
        return json({ access_token: 't', token_type: 'Bearer', expires_in: 3600 });
      }
      return Promise.resolve(new Response('not found', { status: 404 }));
    };
    const machine = new MachineSession({ serverUrl: MCP, clientId: 'robot', clientSecret: 'robot-secret', expectedIssuer: FIRST, authStyle, fetchFn, logger: logged().logger });
    expect(await machine.token()).toBe('t');
    return request!;
  }

  it('listed among others: the preferred one (body over the SDK default, Basic)', async () => {
    const sent = await tokenRequest(['client_secret_basic', 'client_secret_post'], 'body');
    expect(sent.authorization).toBeNull();
    expect(sent.form.get('client_secret')).toBe('robot-secret');
  });

  it('not listed: the metadata wins, since the server would refuse it', async () => {
    const sent = await tokenRequest(['client_secret_basic'], 'body');
    expect(sent.authorization).toBe(`Basic ${Buffer.from('robot:robot-secret').toString('base64')}`);
    expect(sent.form.get('client_secret')).toBeNull();
  });
});

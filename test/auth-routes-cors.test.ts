// The guards in front of the authorization server (src/http/auth-routes.ts) refuse some token
// requests themselves: the edge's 403 (IP allowlist, a rebound Host) and the rate limit's 429.
// At POST /oauth/token those refusals carry the CORS headers oidc-provider gives its own early
// refusals there, so a browser page can read the reason (and, on the 429, Retry-After), through
// a real gateway over HTTP. So do the refusals of the other routes a page reads (discovery, resource
// metadata, JWKS, revocation, introspection): each with the CORS headers the route itself answers
// with, and all with Cache-Control: no-store. Registration and login refusals stay without CORS.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawStdio, startTestGateway } from './helpers/gateway.js';

const APP_ORIGIN = 'https://app.example.com';
// Forwarded by the loopback peer (a trusted proxy by default): the client address the guards see.
const PROVIDER_IP = '203.0.113.7';
const FLOOD_IP = '203.0.113.9';
const REFUSED_IP = '198.51.100.9';
/** An origin of cors.origins, a loopback page, another site, a sandboxed page, and no Origin (not a browser). */
const ORIGINS: (string | undefined)[] = [APP_ORIGIN, 'http://localhost:6274', 'https://elsewhere.example', 'null', undefined];
const CORS_HEADERS = ['access-control-allow-origin', 'access-control-expose-headers', 'access-control-allow-credentials', 'vary'];

let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  gw = await startTestGateway({
    auth: {
      mode: 'oauth',
      allowedIps: ['203.0.113.0/24'],
      clients: [{ clientId: 'robot', clientSecret: 'robot-secret-0123456789abcdefghijkl', redirectUris: ['https://robot.example/cb'], grants: ['client_credentials'] }],
    },
    cors: { origins: [APP_ORIGIN] },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

const corsOf = (headers: Headers) => Object.fromEntries(CORS_HEADERS.map((name) => [name, headers.get(name)]));

async function post(path: string, ip: string, origin: string | undefined, contentType = 'application/x-www-form-urlencoded', body = 'grant_type=client_credentials') {
  const res = await fetch(`${gw.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, 'x-forwarded-for': ip, ...(origin === undefined ? {} : { origin }) },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { error: string; error_description: string } };
}

/** What the provider itself answers, from this Origin, a form it cannot read: refused before it knows any client, as the guards' are. */
async function providerCors(origin: string | undefined) {
  const res = await post('/oauth/token', PROVIDER_IP, origin, 'application/x-www-form-urlencoded', `grant_type=client_credentials&pad=${'x'.repeat(60 * 1024)}`);
  expect(res.status).toBe(400);
  expect(res.headers.get('access-control-allow-origin')).toBe(origin ?? '*');
  return corsOf(res.headers);
}

/** A POST (or GET) with a Host of another name (a DNS-rebound page's), which fetch cannot send. */
function postWithHost(path: string, host: string, origin: string | undefined, method = 'POST'): Promise<{ status: number; headers: Headers; body: string }> {
  const url = new URL(path, gw.base);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, headers: { host, 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': PROVIDER_IP, ...(origin === undefined ? {} : { origin }) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
          resolve({ status: res.statusCode!, headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? 'grant_type=client_credentials' : undefined);
  });
}

/** A GET or an anonymous POST of one of the authorization server's browser-reachable routes. */
async function call(route: Route, ip: string, origin: string | undefined) {
  const res = await fetch(`${gw.base}${route.path}`, {
    method: route.method,
    headers: { 'x-forwarded-for': ip, ...(origin === undefined ? {} : { origin }), ...(route.method === 'POST' ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(route.method === 'POST' ? { body: 'token=not-a-token' } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly path: string;
}

/** The discovery documents, JWKS, revocation and introspection: each answers a page of any origin itself. */
const OTHER_ROUTES: Route[] = [
  { method: 'GET', path: '/.well-known/openid-configuration' },
  { method: 'GET', path: '/.well-known/oauth-authorization-server' },
  { method: 'GET', path: '/.well-known/oauth-protected-resource' },
  { method: 'GET', path: '/.well-known/oauth-protected-resource/raw/mcp' },
  { method: 'GET', path: '/oauth/jwks' },
  { method: 'POST', path: '/oauth/revoke' },
  { method: 'POST', path: '/oauth/introspect' },
];

describe('the guards\' refusals at POST /oauth/token', () => {
  it('the IP allowlist\'s 403 carries the provider\'s CORS answer headers for each Origin', async () => {
    for (const origin of ORIGINS) {
      const res = await post('/oauth/token', REFUSED_IP, origin);
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ error: 'access_denied', error_description: 'your address may not use this gateway' });
      expect(corsOf(res.headers), String(origin)).toEqual(await providerCors(origin));
      expect(res.headers.get('cache-control'), String(origin)).toBe('no-store');
    }
    // Spelled out for the listed origin: the page may read the answer, with no credentials.
    const res = await post('/oauth/token', REFUSED_IP, APP_ORIGIN);
    expect(corsOf(res.headers)).toEqual({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-expose-headers': 'WWW-Authenticate',
      'access-control-allow-credentials': null,
      vary: 'Origin',
    });
  });

  it('the rebinding guard\'s 403 (a Host the gateway does not answer to) carries them too', async () => {
    for (const origin of ORIGINS) {
      const res = await postWithHost('/oauth/token', 'rebound.example', origin);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toEqual({ error: 'access_denied', error_description: 'Host "rebound.example" is not allowed' });
      expect(corsOf(res.headers), String(origin)).toEqual(await providerCors(origin));
      expect(res.headers.get('cache-control'), String(origin)).toBe('no-store');
    }
  });

  it('the rate limit\'s 429 carries them, and lets the page read Retry-After', async () => {
    // 120 token requests a minute per address; these name no client (the provider's 400), and still count.
    const statuses = new Set<number>();
    for (let i = 0; i < 120; i++) statuses.add((await post('/oauth/token', FLOOD_IP, undefined)).status);
    expect([...statuses]).toEqual([400]);
    for (const origin of ORIGINS) {
      const res = await post('/oauth/token', FLOOD_IP, origin);
      expect(res.status).toBe(429);
      expect(res.body.error).toBe('slow_down');
      const wait = Number(res.headers.get('retry-after'));
      expect(wait).toBeGreaterThan(0);
      expect(res.body.error_description).toContain(`try again in ${wait} s`);
      const provider = await providerCors(origin);
      expect(corsOf(res.headers), String(origin)).toEqual({ ...provider, 'access-control-expose-headers': `${provider['access-control-expose-headers']}, Retry-After` });
      expect(res.headers.get('cache-control'), String(origin)).toBe('no-store');
    }
    const res = await post('/oauth/token', FLOOD_IP, APP_ORIGIN);
    expect(res.status).toBe(429);
    expect(corsOf(res.headers)).toEqual({
      'access-control-allow-origin': APP_ORIGIN,
      'access-control-expose-headers': 'WWW-Authenticate, Retry-After',
      'access-control-allow-credentials': null,
      vary: 'Origin',
    });
  });

  it('refusals on other routes stay without CORS headers (the provider gives registration and login none)', async () => {
    for (const path of ['/oauth/register', '/login/not-an-interaction']) {
      const res = await post(path, REFUSED_IP, APP_ORIGIN);
      expect(res.status, path).toBe(403);
      expect(corsOf(res.headers), path).toEqual({ 'access-control-allow-origin': null, 'access-control-expose-headers': null, 'access-control-allow-credentials': null, vary: null });
      expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });
});

describe('the guards\' refusals of the other browser-reachable routes', () => {
  it('the IP allowlist\'s 403 carries the CORS headers the route itself answers with, for each Origin, and no-store', async () => {
    for (const route of OTHER_ROUTES) {
      for (const origin of ORIGINS) {
        const label = `${route.method} ${route.path} from ${String(origin)}`;
        const own = await call(route, PROVIDER_IP, origin);
        // The route's own answer (200 for the documents, the provider's refusal of an anonymous POST) is readable by the page.
        expect(own.status, label).toBeLessThan(500);
        expect(own.headers.get('access-control-allow-origin'), label).not.toBeNull();
        const res = await call(route, REFUSED_IP, origin);
        expect(res.status, label).toBe(403);
        expect(JSON.parse(res.text), label).toEqual({ error: 'access_denied', error_description: 'your address may not use this gateway' });
        expect(corsOf(res.headers), label).toEqual(corsOf(own.headers));
        // A cache must not keep the refusal in place of the document.
        expect(res.headers.get('cache-control'), label).toBe('no-store');
      }
    }
    // Spelled out: discovery reflects the Origin, as oidc-provider does; resource metadata answers '*'.
    const discovery = await call(OTHER_ROUTES[0]!, REFUSED_IP, APP_ORIGIN);
    expect(corsOf(discovery.headers)).toEqual({ 'access-control-allow-origin': APP_ORIGIN, 'access-control-expose-headers': null, 'access-control-allow-credentials': null, vary: 'Origin' });
    const prm = await call(OTHER_ROUTES[3]!, REFUSED_IP, APP_ORIGIN);
    expect(corsOf(prm.headers)).toEqual({ 'access-control-allow-origin': '*', 'access-control-expose-headers': null, 'access-control-allow-credentials': null, vary: null });
  });

  it('the rebinding guard\'s 403 carries them too', async () => {
    for (const route of OTHER_ROUTES) {
      const own = await call(route, PROVIDER_IP, APP_ORIGIN);
      const res = await postWithHost(route.path, 'rebound.example', APP_ORIGIN, route.method);
      expect(res.status, route.path).toBe(403);
      expect(corsOf(res.headers), route.path).toEqual(corsOf(own.headers));
      expect(res.headers.get('cache-control'), route.path).toBe('no-store');
    }
  });
});

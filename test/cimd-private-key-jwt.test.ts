// ChatGPT's shape of client: its client_id is the URL of a Client ID Metadata Document that
// declares token_endpoint_auth_method private_key_jwt with a jwks_uri (or inline jwks). The
// whole flow against the real authorization server on the SQLite store: the SDK client signs
// in (login and consent pages), then redeems the code and refreshes with signed client
// assertions (RFC 7523 §2.2, OpenID Connect Core §9); a wrong key, a replayed assertion and no
// assertion at all are refused. The documents come from a real local HTTP server: the test's
// fetch resolves https://client.example to it (the provider's own fetch refuses loopback
// addresses, its SSRF guard).
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth, createPrivateKeyJwtAuth, type AddClientAuthentication } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationServer, type AuthorizationServer } from '../src/auth/server/index.js';
import { resolveConfig } from '../src/config/index.js';
import { hashPassword } from '../src/crypto/index.js';
import { silentLogger } from '../src/observability/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { Browser, csrfOf, form, TestClient } from './helpers/oauth.js';

const PASSWORD = 'private key jwt passphrase';
const CLIENT_HOST = 'https://client.example';
const CHATGPT_REDIRECT = 'https://chatgpt.com/connector/oauth/c-0123456789';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

interface SigningKey {
  readonly alg: 'RS256' | 'ES256';
  readonly kid: string;
  readonly privateJwk: Record<string, unknown>;
  readonly publicJwk: Record<string, unknown>;
}

function signingKey(alg: SigningKey['alg']): SigningKey {
  const pair: { privateKey: KeyObject; publicKey: KeyObject } =
    alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomBytes(8).toString('hex');
  return {
    alg,
    kid,
    privateJwk: { ...pair.privateKey.export({ format: 'jwk' }), kid, alg },
    publicJwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  };
}

/** The client's web host: its metadata documents and its JWKS, as ChatGPT publishes them. */
async function startClientHost(documents: Map<string, unknown>): Promise<{ server: Server; origin: string; served: string[] }> {
  const served: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    served.push(path);
    const doc = documents.get(path);
    if (doc === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, served };
}

/** fetch for the provider: https://client.example/... goes to the local client host. */
function resolvingFetch(origin: string): typeof fetch {
  return ((input: string | URL, init?: RequestInit & { dispatcher?: unknown }) => {
    const url = new URL(String(input));
    if (url.origin !== CLIENT_HOST) return Promise.reject(new Error(`unexpected fetch of ${url.href}`));
    // The provider's SSRF-guarded dispatcher would refuse 127.0.0.1: this is the test's DNS.
    const { dispatcher: _guard, ...rest } = init ?? {};
    return fetch(`${origin}${url.pathname}${url.search}`, rest);
  }) as typeof fetch;
}

/** An SDK client whose client_id is a metadata URL and which authenticates with private_key_jwt. */
class PrivateKeyJwtClient extends TestClient {
  constructor(
    metadataUrl: string,
    readonly addClientAuthentication: AddClientAuthentication,
  ) {
    super(CHATGPT_REDIRECT, metadataUrl);
  }
}

function assertionSigner(clientId: string, key: SigningKey): AddClientAuthentication {
  return createPrivateKeyJwtAuth({ issuer: clientId, subject: clientId, privateKey: key.privateJwk, alg: key.alg });
}

interface Harness {
  base: string;
  as: AuthorizationServer;
  server: Server;
  store: Store;
}

async function startAuthorizationServer(documentFetch: typeof fetch): Promise<Harness> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = resolveConfig(
    {
      format: 'native',
      location: undefined,
      baseDir: process.cwd(),
      doc: {
        publicUrl: base,
        store: 'sqlite',
        dataDir: join(mkdtempSync(join(tmpdir(), 'gh-cimd-')), 'data'),
        auth: { users: { alice: { passwordHash: hashPassword(PASSWORD) } }, registration: { dynamic: false } },
        servers: { a: { command: 'true' } },
      },
    },
    {},
  );
  const store = await openStore(config);
  const as = await createAuthorizationServer({
    config,
    logger: silentLogger(),
    resources: [{ path: '/a/mcp', server: 'a' }],
    adapter: (model) => store.oauthAdapter(model),
    fetch: documentFetch,
  });
  handler = (req, res) => {
    if (as.listener(req, res)) return;
    if ((req.url ?? '/').split('?')[0] !== '/a/mcp') return void res.writeHead(404).end();
    const headers = { get: (n: string) => (req.headers[n.toLowerCase()] as string | undefined) ?? null };
    void Promise.resolve(as.authenticator.authenticate({ url: `${base}${req.url ?? '/'}`, headers }, 'a')).then((d) => {
      res.writeHead(d.ok ? 200 : d.status, { 'content-type': 'application/json' }).end(JSON.stringify(d.ok ? { principal: d.principal } : { error: d.error }));
    });
  };
  return { base, as, server, store };
}

async function loginAndConsent(h: Harness, authorizationUrl: string): Promise<URL> {
  const browser = new Browser();
  let step = await browser.follow(authorizationUrl, h.base);
  expect(new URL(step.url).pathname).toMatch(/^\/login\//);
  const login = await step.res.text();
  const posted = await browser.request(step.url, form({ csrf: csrfOf(login), username: 'alice', password: PASSWORD }));
  expect(posted.status).toBe(303);
  step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, h.base);
  expect(new URL(step.url).pathname).toMatch(/^\/consent\//);
  const consent = await step.res.text();
  expect(consent).toContain('ChatGPT (test)');
  expect(consent).toContain('chatgpt.com');
  const allowed = await browser.request(step.url, form({ csrf: csrfOf(consent), decision: 'allow' }));
  expect(allowed.status).toBe(303);
  return new URL((await browser.follow(new URL(allowed.headers.get('location')!, step.url).href, h.base)).url);
}

/** Authorization code flow with the SDK client; returns the client holding its tokens. */
async function signIn(h: Harness, client: PrivateKeyJwtClient): Promise<PrivateKeyJwtClient> {
  const serverUrl = `${h.base}/a/mcp`;
  expect(await auth(client, { serverUrl })).toBe('REDIRECT');
  expect(client.authorizationUrl!.searchParams.get('client_id')).toBe(client.clientMetadataUrl);
  const back = await loginAndConsent(h, client.authorizationUrl!.href);
  expect(back.origin + back.pathname).toBe(CHATGPT_REDIRECT);
  const code = back.searchParams.get('code');
  expect(code, back.href).toBeTruthy();
  expect(await auth(client, { serverUrl, authorizationCode: code!, iss: back.searchParams.get('iss')! })).toBe('AUTHORIZED');
  return client;
}

function tokenRequest(h: Harness, fields: Record<string, string>): Promise<Response> {
  return fetch(`${h.base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

/** A client assertion as the SDK makes it, for hand-made token requests. */
async function assertion(clientId: string, key: SigningKey, audience: string): Promise<string> {
  const params = new URLSearchParams();
  await createPrivateKeyJwtAuth({ issuer: clientId, subject: clientId, privateKey: key.privateJwk, alg: key.alg, audience })(new Headers(), params, audience);
  return params.get('client_assertion')!;
}

const JWKS_URI_CLIENT = `${CLIENT_HOST}/oauth/chatgpt-1/client.json`;
const INLINE_JWKS_CLIENT = `${CLIENT_HOST}/oauth/chatgpt-2/client.json`;
const rsaKey = signingKey('RS256');
const ecKey = signingKey('ES256');
const strangerKey = signingKey('RS256');

const documents = new Map<string, unknown>([
  [
    new URL(JWKS_URI_CLIENT).pathname,
    {
      client_id: JWKS_URI_CLIENT,
      client_name: 'ChatGPT (test)',
      redirect_uris: [CHATGPT_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: `${CLIENT_HOST}/oauth/chatgpt-1/jwks.json`,
    },
  ],
  ['/oauth/chatgpt-1/jwks.json', { keys: [rsaKey.publicJwk] }],
  [
    new URL(INLINE_JWKS_CLIENT).pathname,
    {
      client_id: INLINE_JWKS_CLIENT,
      client_name: 'ChatGPT (test)',
      redirect_uris: [CHATGPT_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [ecKey.publicJwk] },
    },
  ],
  [
    // Anyone can publish a document: one that asks for client_credentials must get no token without a user.
    '/oauth/machine/client.json',
    {
      client_id: `${CLIENT_HOST}/oauth/machine/client.json`,
      client_name: 'Machine',
      redirect_uris: [CHATGPT_REDIRECT],
      grant_types: ['client_credentials'],
      response_types: [],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [ecKey.publicJwk] },
    },
  ],
  [
    // Rules only an operator sets (gatehouse clients add --no-pkce / --resource) are not a document's to declare.
    '/oauth/operator-rules/client.json',
    {
      client_id: `${CLIENT_HOST}/oauth/operator-rules/client.json`,
      client_name: 'Operator rules',
      redirect_uris: [CHATGPT_REDIRECT],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [ecKey.publicJwk] },
      gatehouse_require_pkce: false,
    },
  ],
  [
    '/oauth/operator-resource/client.json',
    {
      client_id: `${CLIENT_HOST}/oauth/operator-resource/client.json`,
      client_name: 'Operator resource',
      redirect_uris: [CHATGPT_REDIRECT],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [ecKey.publicJwk] },
      gatehouse_resource: '/a/mcp',
    },
  ],
  [
    '/oauth/keyless/client.json',
    {
      client_id: `${CLIENT_HOST}/oauth/keyless/client.json`,
      client_name: 'No keys',
      redirect_uris: [CHATGPT_REDIRECT],
      token_endpoint_auth_method: 'private_key_jwt',
    },
  ],
  [
    '/oauth/shared-secret/client.json',
    {
      client_id: `${CLIENT_HOST}/oauth/shared-secret/client.json`,
      client_name: 'Shared secret',
      redirect_uris: [CHATGPT_REDIRECT],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
]);

let host: Awaited<ReturnType<typeof startClientHost>>;
let h: Harness;

beforeAll(async () => {
  host = await startClientHost(documents);
  h = await startAuthorizationServer(resolvingFetch(host.origin));
});

afterAll(async () => {
  await h?.as.close();
  await h?.store.close();
  await new Promise((resolve) => h?.server.close(resolve));
  await new Promise((resolve) => host?.server.close(resolve));
});

describe('CIMD clients that authenticate with private_key_jwt (ChatGPT)', () => {
  it('advertises private_key_jwt at the token endpoint', async () => {
    const doc = (await (await fetch(`${h.base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(doc.client_id_metadata_document_supported).toBe(true);
    expect(doc.token_endpoint_auth_methods_supported).toContain('private_key_jwt');
    expect(doc.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256', 'ES256']));
  });

  it('signs in, redeems the code and refreshes with assertions signed by the key behind jwks_uri', async () => {
    const client = await signIn(h, new PrivateKeyJwtClient(JWKS_URI_CLIENT, assertionSigner(JWKS_URI_CLIENT, rsaKey)));
    expect(host.served).toEqual(expect.arrayContaining(['/oauth/chatgpt-1/client.json', '/oauth/chatgpt-1/jwks.json']));
    const tokens = client.saved!;
    expect(tokens.token_type).toBe('Bearer');
    const ok = await fetch(`${h.base}/a/mcp`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ principal: 'user:alice' });

    const refreshed = await tokenRequest(h, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(JWKS_URI_CLIENT, rsaKey, h.base),
      resource: `${h.base}/a/mcp`,
    });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as { access_token: string; refresh_token: string };
    expect((await fetch(`${h.base}/a/mcp`, { headers: { authorization: `Bearer ${next.access_token}` } })).status).toBe(200);
  });

  it('refuses a document that declares client_credentials: no token without a user for whoever publishes one', async () => {
    const machine = `${CLIENT_HOST}/oauth/machine/client.json`;
    const res = await tokenRequest(h, {
      grant_type: 'client_credentials',
      scope: 'mcp',
      resource: `${h.base}/a/mcp`,
      client_id: machine,
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(machine, ecKey, h.base),
    });
    const body = (await res.json()) as { error?: string; access_token?: string };
    expect(body.access_token).toBeUndefined();
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_client');
    expect(host.served).toContain('/oauth/machine/client.json');
  });

  it('refuses a document that declares the rules of a stored client (no PKCE, a default resource)', async () => {
    for (const path of ['/oauth/operator-rules/client.json', '/oauth/operator-resource/client.json']) {
      const q = new URLSearchParams({ response_type: 'code', client_id: `${CLIENT_HOST}${path}`, redirect_uri: CHATGPT_REDIRECT, scope: 'mcp', state: 's' });
      const res = await fetch(`${h.base}/oauth/authorize?${q.toString()}`, { redirect: 'manual' });
      const page = await res.text();
      expect(res.status, path).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(page).toMatch(/invalid_client/);
      expect(host.served).toContain(path);
    }
  });

  it('accepts a document with inline jwks (ES256)', async () => {
    const client = await signIn(h, new PrivateKeyJwtClient(INLINE_JWKS_CLIENT, assertionSigner(INLINE_JWKS_CLIENT, ecKey)));
    expect((await fetch(`${h.base}/a/mcp`, { headers: { authorization: `Bearer ${client.saved!.access_token}` } })).status).toBe(200);
  });

  it('refuses a code redeemed with an assertion signed by another key, and the code is not spent on it', async () => {
    const client = new PrivateKeyJwtClient(JWKS_URI_CLIENT, assertionSigner(JWKS_URI_CLIENT, strangerKey));
    const serverUrl = `${h.base}/a/mcp`;
    expect(await auth(client, { serverUrl })).toBe('REDIRECT');
    const back = await loginAndConsent(h, client.authorizationUrl!.href);
    const code = back.searchParams.get('code')!;
    const exchange = (key: SigningKey) =>
      assertion(JWKS_URI_CLIENT, key, h.base).then((clientAssertion) =>
        tokenRequest(h, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: CHATGPT_REDIRECT,
          code_verifier: client.verifier,
          client_assertion_type: ASSERTION_TYPE,
          client_assertion: clientAssertion,
          resource: serverUrl,
        }),
      );
    const wrong = await exchange(strangerKey);
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_client');
    // The SDK path with the wrong key fails the same way.
    await expect(auth(client, { serverUrl, authorizationCode: code, iss: back.searchParams.get('iss')! })).rejects.toThrow();
    expect(client.saved).toBeUndefined();
    // Client authentication happens before the grant is looked at: the right key still redeems it.
    expect((await exchange(rsaKey)).status).toBe(200);
  });

  it('refuses a replayed assertion, a missing one and one that claims another client', async () => {
    const client = await signIn(h, new PrivateKeyJwtClient(JWKS_URI_CLIENT, assertionSigner(JWKS_URI_CLIENT, rsaKey)));
    const refresh = (fields: Record<string, string>) =>
      tokenRequest(h, { grant_type: 'refresh_token', refresh_token: client.saved!.refresh_token!, resource: `${h.base}/a/mcp`, ...fields });

    const once = await assertion(JWKS_URI_CLIENT, rsaKey, h.base);
    const first = await refresh({ client_assertion_type: ASSERTION_TYPE, client_assertion: once });
    expect(first.status).toBe(200);
    client.saved = { ...client.saved!, ...((await first.json()) as { access_token: string; refresh_token: string }) };
    // RFC 7523 §3: the AS may refuse a jti it has seen; oidc-provider always does.
    const replayed = await refresh({ client_assertion_type: ASSERTION_TYPE, client_assertion: once });
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { error: string }).error).toBe('invalid_client');

    const bare = await refresh({ client_id: JWKS_URI_CLIENT });
    expect(bare.status).toBe(401);
    expect(((await bare.json()) as { error: string }).error).toBe('invalid_client');

    // Signed with the inline-jwks client's key but claiming to be the jwks_uri client.
    const impostor = await refresh({ client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(JWKS_URI_CLIENT, ecKey, h.base) });
    expect(impostor.status).toBe(401);

    expect((await refresh({ client_assertion_type: ASSERTION_TYPE, client_assertion: await assertion(JWKS_URI_CLIENT, rsaKey, h.base) })).status).toBe(200);
  });

  it('refuses documents that declare private_key_jwt without keys, or a shared-secret method', async () => {
    for (const name of ['keyless', 'shared-secret']) {
      const res = await fetch(
        `${h.base}/oauth/authorize?${new URLSearchParams({
          response_type: 'code',
          client_id: `${CLIENT_HOST}/oauth/${name}/client.json`,
          redirect_uri: CHATGPT_REDIRECT,
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          resource: `${h.base}/a/mcp`,
        }).toString()}`,
        { redirect: 'manual' },
      );
      // An unusable client: an error page, never a redirect to the document's redirect_uri.
      expect(res.status, name).toBe(400);
      expect(res.headers.get('location'), name).toBeNull();
      expect(await res.text(), name).toMatch(/invalid_client/);
    }
  });
});

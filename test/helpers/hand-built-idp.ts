// A small hand-built OpenID Provider that can misbehave on demand: its ID tokens are signed
// with the key it publishes in its JWKS, but a test may set a wrong audience, a wrong nonce, a
// past expiry, or a signature by another key. Its /authorize answers at once (the person is
// already signed in there), after recording what it was sent.
import { createHash, createSign, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, requestText } from './http-stub.js';

export type IdTokenFault = 'none' | 'audience' | 'nonce' | 'expired' | 'foreign-key' | 'issuer';

export interface HandBuiltIdp {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** What the next ID tokens get wrong. */
  fault: IdTokenFault;
  /** The claims of the person signed in (besides iss, sub, aud, exp, iat, nonce). */
  person: Record<string, unknown>;
  /** Authorization requests as received. */
  readonly authorizeRequests: URLSearchParams[];
  /** Extra claims only the userinfo endpoint tells (its `sub` is the ID token's unless `userinfoSub` says otherwise). */
  userinfo: Record<string, unknown>;
  userinfoSub: string | undefined;
  /** How many userinfo requests were answered. */
  userinfoCalls: number;
  close(): Promise<void>;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

function signJwt(payload: Record<string, unknown>, key: KeyObject, kid: string): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(payload)}`;
  const signature = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
  return `${input}.${signature}`;
}

export async function startHandBuiltIdp(host = '127.0.0.4'): Promise<HandBuiltIdp> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const foreign = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const kid = 'hand-built-1';
  const codes = new Map<string, { nonce: string; challenge: string; redirectUri: string }>();
  const authorizeRequests: URLSearchParams[] = [];
  const accessTokens = new Set<string>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;

  const idp: HandBuiltIdp = {
    issuer,
    clientId: 'hand-built-client',
    clientSecret: randomBytes(16).toString('hex'),
    fault: 'none',
    person: { email: 'carol@acme.test', email_verified: true },
    authorizeRequests,
    userinfo: {},
    userinfoSub: undefined,
    userinfoCalls: 0,
    close: () => closeServer(server),
  };

  const json = (res: ServerResponse, status: number, v: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(v));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', issuer);
    switch (u.pathname) {
      case '/.well-known/openid-configuration':
        return json(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          userinfo_endpoint: `${issuer}/userinfo`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
          code_challenge_methods_supported: ['S256'],
        });
      case '/userinfo': {
        if (!accessTokens.has((req.headers.authorization ?? '').replace(/^Bearer /i, ''))) return json(res, 401, { error: 'invalid_token' });
        idp.userinfoCalls++;
        return json(res, 200, { sub: idp.userinfoSub ?? 'hand-built-carol', ...idp.userinfo });
      }
      case '/jwks':
        return json(res, 200, { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] });
      case '/authorize': {
        const q = u.searchParams;
        authorizeRequests.push(q);
        const code = randomBytes(12).toString('hex');
        codes.set(code, { nonce: q.get('nonce') ?? '', challenge: q.get('code_challenge') ?? '', redirectUri: q.get('redirect_uri') ?? '' });
        const back = new URL(q.get('redirect_uri') ?? '');
        back.searchParams.set('code', code);
        back.searchParams.set('state', q.get('state') ?? '');
        res.writeHead(302, { location: back.href }).end();
        return;
      }
      case '/token': {
        const f = new URLSearchParams(await requestText(req));
        if (f.get('client_id') !== idp.clientId || f.get('client_secret') !== idp.clientSecret) return json(res, 401, { error: 'invalid_client' });
        const pending = codes.get(f.get('code') ?? '');
        codes.delete(f.get('code') ?? '');
        if (!pending || pending.redirectUri !== f.get('redirect_uri')) return json(res, 400, { error: 'invalid_grant' });
        if (createHash('sha256').update(f.get('code_verifier') ?? '').digest('base64url') !== pending.challenge) return json(res, 400, { error: 'invalid_grant', error_description: 'PKCE' });
        const now = Math.floor(Date.now() / 1000);
        const claims: Record<string, unknown> = { iss: issuer, sub: 'hand-built-carol', aud: idp.clientId, iat: now, exp: now + 300, nonce: pending.nonce, ...idp.person };
        if (idp.fault === 'audience') claims.aud = 'some-other-client';
        if (idp.fault === 'nonce') claims.nonce = 'not-the-nonce-that-was-sent';
        if (idp.fault === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
        if (idp.fault === 'issuer') claims.iss = 'https://impostor.example';
        const idToken = signJwt(claims, idp.fault === 'foreign-key' ? foreign : privateKey, kid);
        const accessToken = randomBytes(16).toString('hex');
        accessTokens.add(accessToken);
        return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 300, id_token: idToken });
      }
      default:
        res.writeHead(404).end();
    }
  }
  return idp;
}

import { generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { randomToken, sha256 } from '../../crypto/index.js';

/** Signing keys (private JWKs) and cookie-signing secrets: the provider's only secrets of its own. */
export interface ServerKeys {
  readonly jwks: { readonly keys: readonly JsonWebKey[] };
  readonly cookieKeys: readonly string[];
}

/** Fresh keys in memory: an RS256 signing key and one cookie key. The lead persists them (mode 0600). */
export function generateServerKeys(): ServerKeys {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = sha256(`${jwk.n ?? ''}.${jwk.e ?? ''}`).slice(0, 16);
  return { jwks: { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] }, cookieKeys: [randomToken(32)] };
}

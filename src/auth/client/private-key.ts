import { createPrivateKey } from 'node:crypto';

/** A private key for private_key_jwt (RFC 7523 §2.2) and the JWS algorithm that fits it. */
export interface ClientPrivateKey {
  readonly key: string | Record<string, unknown>;
  readonly algorithm: string;
}

/** Reads a PEM or JWK private key (text); throws an Error naming what is wrong. */
export function parsePrivateKey(text: string): ClientPrivateKey {
  const trimmed = text.trim();
  let key: string | Record<string, unknown> = trimmed;
  let jwkAlg: string | undefined;
  let object;
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      key = jwk;
      jwkAlg = typeof jwk.alg === 'string' ? jwk.alg : undefined;
      object = createPrivateKey({ key: jwk as never, format: 'jwk' });
    } else {
      object = createPrivateKey(trimmed);
    }
  } catch (error) {
    throw new Error(`not a PEM or JWK private key (${error instanceof Error ? error.message : String(error)})`);
  }
  if (jwkAlg) return { key, algorithm: jwkAlg };
  switch (object.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return { key, algorithm: 'RS256' };
    case 'ec': {
      const curve = object.asymmetricKeyDetails?.namedCurve;
      return { key, algorithm: curve === 'secp384r1' ? 'ES384' : curve === 'secp521r1' ? 'ES512' : 'ES256' };
    }
    case 'ed25519':
      return { key, algorithm: 'EdDSA' };
    default:
      throw new Error(`unsupported key type ${object.asymmetricKeyType ?? 'unknown'}`);
  }
}

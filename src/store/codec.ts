// How OAuth records and users are turned into rows, shared by every implementation so
// that memory, SQLite and PostgreSQL behave the same. The hashing rule lives here.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { constantTimeEqual, isPasswordHash, sha256 } from '../crypto/index.js';
import { StoreError, type OAuthPayload } from './contract.js';

/**
 * Models whose id is a bearer credential (a token, a code, a request handle): stored under
 * sha256(id) and without `jti`, so that a copy of the database holds no usable token.
 * Session and Interaction ids travel in cookies that oidc-provider signs with keys kept
 * outside the store (dataDir), and `findByUid` must give a Session's id back, so they are
 * stored as they are; Client, Grant and ReplayDetection ids are not credentials.
 */
export const HASHED_MODELS: ReadonlySet<string> = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'ClientCredentials',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'PushedAuthorizationRequest',
  'RefreshTokenSuccessor',
]);

/**
 * Models whose whole payload is sealed with the id (AES-256-GCM, the key derived from the id),
 * because what they hold is itself a credential. `RefreshTokenSuccessor` (auth/server/refresh-grace.ts)
 * is the token response the first use of a refresh token got, kept for its grace window under that
 * used token. This seal alone would not be enough: a copy of the database (a backup keeps the row
 * past its expiry) plus a stolen used refresh token would open it, with none of the token endpoint's
 * checks: no client authentication (for a confidential client, its access token without the secret),
 * no window, no grant still standing. So refresh-grace.ts seals the answer inside again under the
 * used token and a server key that is not in the store (the cookie keys of dataDir/keys.json); what
 * this seal guards is the rest of the record. grantId, accountId and clientId stay readable (they are
 * in the token rows as they are too), so revocations and `deleteOAuth` filters find the record.
 */
export const SEALED_MODELS: ReadonlySet<string> = new Set(['RefreshTokenSuccessor']);

const SECRET_PREFIX = 'sha256$';
const SEALED = 'gatehouse:sealed';
const MODEL_NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** The row a record becomes; `key` is what the primary key holds. */
export interface EncodedRecord {
  readonly model: string;
  readonly key: string;
  readonly payload: string;
  readonly grantId: string | null;
  readonly userCode: string | null;
  readonly uid: string | null;
  readonly accountId: string | null;
  readonly clientId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

export function checkModel(model: string): string {
  if (!MODEL_NAME.test(model)) throw new StoreError('invalid-input', `not an OAuth model name: ${JSON.stringify(model)}`);
  return model;
}

/** The primary-key value for `id` of `model`. */
export function recordKey(model: string, id: string): string {
  checkId(id, 'id');
  return HASHED_MODELS.has(model) ? sha256(id) : id;
}

/** The stored form of a DeviceCode's user code (it is typed by a person: a secret too). */
export function userCodeKey(userCode: string): string {
  checkId(userCode, 'userCode');
  return sha256(userCode);
}

export function encodeRecord(model: string, id: string, payload: OAuthPayload, expiresIn: number | undefined, now: number): EncodedRecord {
  if (!payload || typeof payload !== 'object') throw new StoreError('invalid-input', `${model} payload must be an object`);
  if (expiresIn !== undefined && (!Number.isFinite(expiresIn) || expiresIn < 0)) {
    throw new StoreError('invalid-input', `${model} expiresIn must be a non-negative number of seconds`);
  }
  const stored: Record<string, unknown> = { ...payload };
  delete stored.consumed; // kept in its own column, set only by consume()
  let userCode: string | null = null;
  if (HASHED_MODELS.has(model)) {
    delete stored.jti;
    if (typeof payload.userCode === 'string') {
      // findByUserCode must hand the jti back, and find(id) the user code: each is sealed
      // with the other, so the row alone yields neither.
      delete stored.userCode;
      stored[SEALED] = { jti: seal(payload.userCode, id), userCode: seal(id, payload.userCode) };
      userCode = userCodeKey(payload.userCode);
    }
  }
  if (model === 'Client' && typeof payload.client_secret === 'string') stored.client_secret = hashClientSecret(payload.client_secret);
  const body = SEALED_MODELS.has(model) ? { [SEALED]: { payload: seal(id, JSON.stringify(stored)) } } : stored;
  return {
    model,
    key: recordKey(model, id),
    payload: JSON.stringify(body),
    grantId: str(payload.grantId),
    userCode,
    uid: model === 'Session' ? str(payload.uid) : null,
    accountId: str(payload.accountId),
    clientId: str(payload.clientId) ?? (model === 'Client' ? str(payload.client_id) : null),
    createdAt: now,
    expiresAt: expiresIn ? now + Math.round(expiresIn * 1000) : null,
  };
}

/**
 * Back to what the provider stored. `by` is what the caller looked the record up with:
 * the id itself, or a DeviceCode's user code.
 */
export function decodeRecord(model: string, payload: string, consumedAt: number | null, by: { id: string } | { userCode: string }): OAuthPayload {
  let out = JSON.parse(payload) as OAuthPayload;
  if (SEALED_MODELS.has(model)) {
    const whole = (out[SEALED] as { payload?: string } | undefined)?.payload;
    const opened = whole !== undefined && 'id' in by ? unseal(by.id, whole) : undefined;
    // Only the id it was sealed with opens it (the key is sha256 of that id, so no other id finds the row).
    out = opened === undefined ? {} : (JSON.parse(opened) as OAuthPayload);
  }
  if (HASHED_MODELS.has(model)) {
    const sealed = out[SEALED] as { jti: string; userCode: string } | undefined;
    delete out[SEALED];
    if ('id' in by) {
      out.jti = by.id;
      if (sealed) out.userCode = unseal(by.id, sealed.userCode);
    } else if (sealed) {
      out.userCode = by.userCode;
      out.jti = unseal(by.userCode, sealed.jti);
    }
  }
  if (consumedAt !== null) out.consumed = Math.floor(consumedAt / 1000);
  return out;
}

/** How `Client` payloads keep `client_secret`. */
export function hashClientSecret(secret: string): string {
  return secret.startsWith(SECRET_PREFIX) ? secret : `${SECRET_PREFIX}${sha256(secret)}`;
}

/**
 * Compares a presented client secret with the stored one in constant time. Stored secrets
 * of dynamically registered clients are hashes (`sha256$...`); secrets of clients from the
 * config are plain, and match plainly. For oidc-provider:
 * `provider.Client.prototype.compareClientSecret = function (s) { return clientSecretMatches(this.clientSecret, s) }`.
 */
export function clientSecretMatches(stored: string | undefined, presented: string): boolean {
  if (stored === undefined) return false;
  if (stored.startsWith(SECRET_PREFIX)) return constantTimeEqual(stored.slice(SECRET_PREFIX.length), sha256(presented));
  return constantTimeEqual(stored, presented);
}

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

/** Local user names: 1-64 of letters, digits and `. _ @ + -`, starting with a letter or digit. */
export function validateUserName(name: unknown): string {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new StoreError(
      'invalid-name',
      `invalid user name ${JSON.stringify(name)}: use 1-64 letters, digits and . _ @ + -, starting with a letter or digit`,
    );
  }
  return name;
}

export function validatePasswordHash(hash: unknown): string {
  if (typeof hash !== 'string' || !isPasswordHash(hash)) {
    throw new StoreError('invalid-hash', 'not a password hash (expected scrypt$... from hashPassword); passwords are never stored');
  }
  return hash;
}

export function checkKv(namespace: string, key: string): void {
  if (typeof namespace !== 'string' || !namespace || namespace.length > 64) throw new StoreError('invalid-input', 'kv namespace must be 1-64 characters');
  if (typeof key !== 'string' || !key || key.length > 512) throw new StoreError('invalid-input', 'kv key must be 1-512 characters');
}

export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && (!Number.isFinite(ttlMs) || ttlMs <= 0)) throw new StoreError('invalid-input', 'ttlMs must be a positive number');
}

function checkId(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0 || id.length > 4096) throw new StoreError('invalid-input', `${what} must be a non-empty string`);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function sealKey(secret: string): Buffer {
  return createHash('sha256').update(`gatehouse-seal\u0000${secret}`).digest();
}

function seal(secret: string, value: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(secret), iv);
  const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

function unseal(secret: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', sealKey(secret), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

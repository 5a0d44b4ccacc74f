// The Store contract: everything Gatehouse keeps between restarts. Async everywhere so that
// SQLite (in-process) and PostgreSQL (shared by several instances) fit the same shape.
// docs/decisions/0006-store.md has the layout and the hashing rule.

/**
 * What oidc-provider hands its adapter and gets back. Loose on purpose: the provider adds
 * properties between releases ("use a schema that allows for this", its adapter docs).
 */
export interface OAuthPayload {
  jti?: string;
  kind?: string;
  exp?: number;
  iat?: number;
  grantId?: string;
  accountId?: string;
  clientId?: string;
  /** Session only: its fixed internal id (`findByUid`). */
  uid?: string;
  /** DeviceCode only: what the person types (`findByUserCode`). */
  userCode?: string;
  /** Epoch seconds; set by `consume`. */
  consumed?: number;
  [key: string]: unknown;
}

/**
 * oidc-provider 9's storage adapter for one model name (AccessToken, RefreshToken,
 * AuthorizationCode, ClientCredentials, DeviceCode, Client, Grant, Session, Interaction,
 * ReplayDetection, ...). Pass it as `adapter: (name) => store.oauthAdapter(name)`.
 *
 * - Expired records are never returned (and are deleted when met).
 * - Token-like models (`HASHED_MODELS`) are stored under sha256(id) and without `jti` in
 *   the payload; `find(id)` hashes the id it is given and puts `jti` back.
 * - `Client` payloads have `client_secret` replaced by a hash before they are stored:
 *   compare a presented secret with `clientSecretMatches(stored, presented)`.
 * - `SEALED_MODELS` (the refresh grace's `RefreshTokenSuccessor`) are stored sealed whole with
 *   their id, under sha256(id).
 */
export interface OAuthAdapter {
  /** `expiresIn` in seconds; undefined or 0: kept until destroyed. */
  upsert(id: string, payload: OAuthPayload, expiresIn?: number): Promise<void>;
  /**
   * Stores the record only when no live one is under `id` (an expired one counts as absent), and
   * returns the record kept: this one when `inserted`, else the one that was there. Atomic for
   * every process sharing the store: of concurrent calls for one id, one inserts and the others
   * get its record (the refresh grace relies on it: auth/server/refresh-grace.ts).
   */
  insertIfAbsent(id: string, payload: OAuthPayload, expiresIn?: number): Promise<{ inserted: boolean; payload: OAuthPayload }>;
  find(id: string): Promise<OAuthPayload | undefined>;
  findByUserCode(userCode: string): Promise<OAuthPayload | undefined>;
  findByUid(uid: string): Promise<OAuthPayload | undefined>;
  /** Marks the record consumed: later finds carry `consumed` (epoch seconds). */
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  /** Deletes every record of this model that belongs to the grant. */
  revokeByGrantId(grantId: string): Promise<void>;
}

/** A stored OAuth record as an operator sees it (`gatehouse tokens list`): never the token. */
export interface OAuthRecordInfo {
  readonly model: string;
  /** The stored key: sha256(id) for hashed models, the id itself otherwise. */
  readonly key: string;
  readonly grantId: string | undefined;
  readonly accountId: string | undefined;
  readonly clientId: string | undefined;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly expiresAt: number | undefined;
  readonly consumedAt: number | undefined;
}

/** Which records to list or delete; every given field must match. An empty filter matches all. */
export interface OAuthFilter {
  readonly models?: readonly string[];
  readonly accountId?: string;
  readonly clientId?: string;
  readonly grantId?: string;
}

export interface LocalUser {
  readonly name: string;
  /** `scrypt$...` from crypto's `hashPassword`; never a password. */
  readonly passwordHash: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Local users (`gatehouse users ...`, the login page). Names: see `validateUserName`. */
export interface UserStore {
  /** Throws StoreError `user-exists` when the name is taken, `invalid-name` / `invalid-hash` on bad input. */
  add(name: string, passwordHash: string): Promise<LocalUser>;
  get(name: string): Promise<LocalUser | undefined>;
  /** Sorted by name. */
  list(): Promise<LocalUser[]>;
  /** Throws StoreError `no-such-user`. */
  remove(name: string): Promise<void>;
  /** Throws StoreError `no-such-user` / `invalid-hash`. */
  setPassword(name: string, passwordHash: string): Promise<void>;
}

/**
 * Small values with an optional lifetime: remembered consent, rate-limit counters.
 * Namespaces keep unrelated users of it apart (`consent`, `login-rate`).
 */
export interface KeyValueStore {
  get(namespace: string, key: string): Promise<string | undefined>;
  /** `ttlMs` undefined: kept until deleted. */
  set(namespace: string, key: string, value: string, ttlMs?: number): Promise<void>;
  delete(namespace: string, key: string): Promise<void>;
  /**
   * Adds one atomically and returns the new count. A missing or expired counter starts
   * at 1 with a fresh `ttlMs` window; an existing one keeps its window.
   */
  increment(namespace: string, key: string, ttlMs: number): Promise<number>;
}

export type StoreKind = 'memory' | 'sqlite' | 'postgres';

export interface Store {
  readonly kind: StoreKind;
  /** A human description for logs (`sqlite /var/lib/gatehouse/gatehouse.db`), without passwords. */
  readonly location: string;
  oauthAdapter(model: string): OAuthAdapter;
  listOAuth(filter?: OAuthFilter): Promise<OAuthRecordInfo[]>;
  /** Returns how many records were deleted. */
  deleteOAuth(filter: OAuthFilter): Promise<number>;
  readonly users: UserStore;
  readonly kv: KeyValueStore;
  /** Deletes every expired record and value; returns how many. */
  sweep(): Promise<number>;
  /** Idempotent. */
  close(): Promise<void>;
}

export type StoreErrorCode =
  | 'invalid-name'
  | 'invalid-hash'
  | 'invalid-input'
  | 'user-exists'
  | 'no-such-user'
  | 'unavailable'
  | 'schema-too-new'
  | 'closed';

/** A local failure of the store room (the GatewayError family of STYLE.md). */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

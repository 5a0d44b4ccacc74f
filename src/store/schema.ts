// The one schema both SQL stores use (docs/decisions/0006-store.md). A migration is
// appended, never edited: `gatehouse_schema_version` records which ones a database has.
// Times are epoch milliseconds taken from the gateway's clock, so every instance agrees
// with its own expiry checks whatever the database server's clock says.

import type { OAuthRecordInfo } from './contract.js';

export type Dialect = 'sqlite' | 'postgres';

type Migration = (d: Dialect) => readonly string[];

const int = (d: Dialect) => (d === 'postgres' ? 'BIGINT' : 'INTEGER');

export const MIGRATIONS: readonly Migration[] = [
  // 1: OAuth records (one table for every oidc-provider model), local users, key-value.
  (d) => [
    `CREATE TABLE gatehouse_oauth_records (
      model TEXT NOT NULL,
      key TEXT NOT NULL,
      payload TEXT NOT NULL,
      grant_id TEXT,
      user_code TEXT,
      uid TEXT,
      account_id TEXT,
      client_id TEXT,
      created_at ${int(d)} NOT NULL,
      expires_at ${int(d)},
      consumed_at ${int(d)},
      PRIMARY KEY (model, key)
    )`,
    'CREATE INDEX gatehouse_oauth_grant ON gatehouse_oauth_records (grant_id) WHERE grant_id IS NOT NULL',
    'CREATE INDEX gatehouse_oauth_user_code ON gatehouse_oauth_records (user_code) WHERE user_code IS NOT NULL',
    'CREATE INDEX gatehouse_oauth_uid ON gatehouse_oauth_records (uid) WHERE uid IS NOT NULL',
    'CREATE INDEX gatehouse_oauth_account ON gatehouse_oauth_records (account_id) WHERE account_id IS NOT NULL',
    'CREATE INDEX gatehouse_oauth_client ON gatehouse_oauth_records (client_id) WHERE client_id IS NOT NULL',
    'CREATE INDEX gatehouse_oauth_expires ON gatehouse_oauth_records (expires_at) WHERE expires_at IS NOT NULL',
    `CREATE TABLE gatehouse_users (
      name TEXT PRIMARY KEY,
      password_hash TEXT NOT NULL,
      created_at ${int(d)} NOT NULL,
      updated_at ${int(d)} NOT NULL
    )`,
    `CREATE TABLE gatehouse_kv (
      namespace TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      expires_at ${int(d)},
      PRIMARY KEY (namespace, key)
    )`,
    'CREATE INDEX gatehouse_kv_expires ON gatehouse_kv (expires_at) WHERE expires_at IS NOT NULL',
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export const VERSION_TABLE = (d: Dialect) =>
  `CREATE TABLE IF NOT EXISTS gatehouse_schema_version (version INTEGER PRIMARY KEY, applied_at ${int(d)} NOT NULL)`;

/** The columns `listOAuth` reads, in a fixed order. */
export const INFO_COLUMNS = 'model, key, grant_id, account_id, client_id, created_at, expires_at, consumed_at';

/** A WHERE clause for an OAuthFilter; `param(i)` writes the i-th placeholder. */
export function filterClause(
  filter: { models?: readonly string[]; accountId?: string; clientId?: string; grantId?: string },
  param: (i: number) => string,
): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (p: string) => string, v: unknown) => {
    params.push(v);
    parts.push(sql(param(params.length)));
  };
  if (filter.models) {
    if (filter.models.length === 0) return { where: 'WHERE 1 = 0', params: [] };
    const ps = filter.models.map((m) => {
      params.push(m);
      return param(params.length);
    });
    parts.push(`model IN (${ps.join(', ')})`);
  }
  if (filter.accountId !== undefined) add((p) => `account_id = ${p}`, filter.accountId);
  if (filter.clientId !== undefined) add((p) => `client_id = ${p}`, filter.clientId);
  if (filter.grantId !== undefined) add((p) => `grant_id = ${p}`, filter.grantId);
  return { where: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export interface InfoRow {
  model: string;
  key: string;
  grant_id: string | null;
  account_id: string | null;
  client_id: string | null;
  created_at: number | string;
  expires_at: number | string | null;
  consumed_at: number | string | null;
}

/** pg returns BIGINT as a string; SQLite as a number. */
export function num(v: number | string | null | undefined): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

export function toInfo(r: InfoRow): OAuthRecordInfo {
  return {
    model: r.model,
    key: r.key,
    grantId: r.grant_id ?? undefined,
    accountId: r.account_id ?? undefined,
    clientId: r.client_id ?? undefined,
    createdAt: Number(r.created_at),
    expiresAt: num(r.expires_at),
    consumedAt: num(r.consumed_at),
  };
}

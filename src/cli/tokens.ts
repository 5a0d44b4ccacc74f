// `gatehouse tokens list|revoke`: the OAuth grants and tokens in the store `serve` would use
// with the same --config / --data-dir. Token values are never shown: the store keeps only
// sha256 of them, and even that appears here as a short, labelled prefix.
import { SUCCESSOR_MODEL } from '../auth/server/refresh-grace.js';
import { HASHED_MODELS, type OAuthRecordInfo, type Store } from '../store/index.js';
import { CliExit, ExitCode } from './exit.js';
import { withStore, type StoreFlags } from './store-command.js';

export { withStore, type StoreFlags } from './store-command.js';

export interface RevokeFlags extends StoreFlags {
  user?: string | undefined;
  client?: string | undefined;
  all?: boolean | undefined;
}

/** The grants and tokens a person can see and revoke: what `tokens list` shows and `tokens revoke` counts. */
export const LISTED_TOKEN_MODELS: readonly string[] = ['Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials', 'DeviceCode'];

/**
 * Everything that lets a client act for a user: what `tokens revoke` (and `users passwd`, `clients
 * remove`) deletes, through revokeTokens(). SUCCESSOR_MODEL: a used refresh token's first answer,
 * kept for the refresh grace window (auth/server/refresh-grace.ts); it holds an access and a
 * refresh token, so it goes with them. It is not listed: it is no token of its own, it is stored
 * under the used refresh token's hash (its ID would repeat that token's), and it lasts seconds.
 */
export const TOKEN_MODELS: readonly string[] = [...LISTED_TOKEN_MODELS, SUCCESSOR_MODEL];

/**
 * Deletes the grants and tokens of a user, of a client, or all of them (TOKEN_MODELS), and returns
 * how many of them `tokens list` showed: the count `tokens revoke`, `users passwd` and `clients
 * remove` print. The grace records go after their tokens (so one a refresh keeps meanwhile goes as
 * well), uncounted.
 */
export async function revokeTokens(store: Store, filter: { readonly accountId?: string; readonly clientId?: string }): Promise<number> {
  const revoked = await store.deleteOAuth({ models: LISTED_TOKEN_MODELS, ...filter });
  await store.deleteOAuth({ models: [SUCCESSOR_MODEL], ...filter });
  return revoked;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** What an operator may see of a record: never the token, at most 12 hex digits of its hash. */
function view(r: OAuthRecordInfo) {
  const hashed = HASHED_MODELS.has(r.model);
  return {
    model: r.model,
    // A Grant's id is not a credential (it is the grant column of the tokens); token keys are hashes.
    id: hashed ? `sha256:${r.key.slice(0, 12)}` : r.key,
    user: r.accountId ?? null,
    client: r.clientId ?? null,
    grant: r.model === 'Grant' ? r.key : (r.grantId ?? null),
    createdAt: iso(r.createdAt) ?? null,
    expiresAt: iso(r.expiresAt) ?? null,
    consumedAt: iso(r.consumedAt) ?? null,
  };
}

export async function tokensList(flags: StoreFlags): Promise<void> {
  await withStore(flags, 'tokens', async (store) => {
    const records = await store.listOAuth({ models: LISTED_TOKEN_MODELS });
    const rows = records
      .map(view)
      .sort((a, b) => (a.user ?? '').localeCompare(b.user ?? '') || (a.client ?? '').localeCompare(b.client ?? '') || a.model.localeCompare(b.model));
    if (flags.json) {
      console.log(JSON.stringify(rows, null, 2));
      return;
    }
    if (rows.length === 0) {
      console.error(`no grants or tokens in ${store.location}`);
      return;
    }
    const table = [
      ['MODEL', 'ID', 'USER', 'CLIENT', 'GRANT', 'EXPIRES'],
      ...rows.map((r) => [r.model + (r.consumedAt ? ' (used)' : ''), r.id, r.user ?? '-', r.client ?? '-', r.grant ?? '-', r.expiresAt ?? 'never']),
    ];
    const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
    for (const row of table) console.log(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
    console.error('ID of a token is a prefix of the sha256 of its value; the values themselves are not kept.');
  });
}

export async function tokensRevoke(flags: RevokeFlags): Promise<void> {
  const chosen = [flags.user !== undefined && '--user', flags.client !== undefined && '--client', flags.all === true && '--all'].filter(Boolean);
  if (chosen.length !== 1) {
    throw new CliExit(
      ExitCode.Usage,
      chosen.length === 0
        ? 'say what to revoke: --user NAME, --client ID or --all'
        : `give exactly one of --user, --client and --all (got ${chosen.join(' and ')})`,
    );
  }
  if (flags.user === '' || flags.client === '') throw new CliExit(ExitCode.Usage, `${String(chosen[0])} needs a non-empty value`);
  await withStore(flags, 'tokens', async (store) => {
    const filter = flags.user !== undefined ? { accountId: flags.user } : flags.client !== undefined ? { clientId: flags.client } : {};
    const revoked = await revokeTokens(store, filter);
    const whose = flags.user !== undefined ? ` of user ${flags.user}` : flags.client !== undefined ? ` of client ${flags.client}` : '';
    const line = `revoked ${revoked} ${revoked === 1 ? 'grant or token' : 'grants and tokens'}${whose}`;
    if (flags.json) console.log(JSON.stringify({ revoked }));
    else console.log(line);
  });
}

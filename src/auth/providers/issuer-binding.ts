// A provider id stays with the issuer it was first used with. Identities are `{id}|{subject}`
// (identity.ts) and a subject is unique only per issuer (OIDC Core §5.7), so pointing an id at
// another issuer (or GitHub host) would hand one issuer's person the grants, remembered
// consent and `tokens revoke --user` name of another issuer's person with the same subject.
// The first issuer seen for an id is recorded in the store (no expiry); a later one is refused,
// loudly (startup log, sign-in page, log line). The rule for people: never re-point an id at
// another issuer; give the new one a new id.
import type { ExpiringRecords } from './pending-logins.js';
import type { ResolvedProvider } from './types.js';

const KEY_PREFIX = 'issuer:';

export type IssuerCheck = { readonly ok: true } | { readonly ok: false; readonly recorded: string; readonly message: string };

export interface IssuerBindings {
  /** Records the provider's issuer on first use; refuses one that differs from the recorded one. */
  check(provider: ResolvedProvider): Promise<IssuerCheck>;
}

/** Compared without trailing slashes: `https://idp.example/` and `https://idp.example` are one issuer here. */
const normal = (issuer: string): string => issuer.replace(/\/+$/, '');

export function createIssuerBindings(records: ExpiringRecords): IssuerBindings {
  return {
    async check(provider) {
      const key = `${KEY_PREFIX}${provider.id}`;
      const issuer = normal(provider.issuer);
      const found = (await records.find(key)) as { issuer?: unknown } | undefined;
      const recorded = typeof found?.issuer === 'string' ? found.issuer : undefined;
      if (recorded === undefined) {
        // 0: kept until destroyed.
        await records.upsert(key, { providerId: provider.id, issuer }, 0);
        return { ok: true };
      }
      if (recorded === issuer) return { ok: true };
      return {
        ok: false,
        recorded,
        message:
          `auth.providers (${provider.id}): this id was used with ${recorded} and now points at ${issuer}; ` +
          `sign-ins through it are refused, because ${provider.id}|{subject} identities (grants, consent, tokens revoke --user) ` +
          `would mix two issuers' people. Point it back at ${recorded}, or give the new issuer a new id.`,
      };
    },
  };
}

// A person's identity in Gatehouse: `{provider id}|{subject}` (github|12345). The subject is
// the provider's stable id (GitHub's numeric user id, OIDC `sub`), never a login or an email,
// which can change hands. OIDC Core §5.7: only `iss` + `sub` identify an end-user.

const SEPARATOR = '|';

export function federatedAccountId(providerId: string, subject: string): string {
  return `${providerId}${SEPARATOR}${subject}`;
}

/** The provider id and subject of a federated account id; undefined for a local user name. */
export function parseFederatedAccountId(accountId: string): { providerId: string; subject: string } | undefined {
  const at = accountId.indexOf(SEPARATOR);
  if (at <= 0 || at === accountId.length - 1) return undefined;
  return { providerId: accountId.slice(0, at), subject: accountId.slice(at + 1) };
}

import { hasAnyRule } from './allow-policy.js';
import type { ResolvedProvider } from './types.js';

/** What `config check` and `serve` say about providers that are valid but admit nobody. */
export function providerWarnings(providers: readonly ResolvedProvider[]): string[] {
  return providers.flatMap((p, i) =>
    hasAnyRule(p.allow) ? [] : [`auth.providers[${i}] (${p.id}): no allow rules, so this provider admits nobody; add allow.users, emails, domains${p.type === 'github' ? ', orgs, teams' : ', claims'}`],
  );
}

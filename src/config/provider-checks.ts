import { callbackPathCollision, callbackPathSyntaxProblem, defaultCallbackPath } from './callback-path.js';
import type { ProviderSchema } from './schema.js';
import type { z } from 'zod';

type ProviderInput = z.output<typeof ProviderSchema>;

/**
 * What the schema alone cannot say about `auth.providers`: ids and callback paths are unique, a
 * callbackPath is no route of Gatehouse's own, and each rule kind belongs to a provider type
 * that has it. `serverNames`: the configured servers (their routes are `/{name}/...`).
 */
export function checkProviders(providers: readonly ProviderInput[], serverNames: readonly string[], issue: (path: (string | number)[], message: string) => void): void {
  const seen = new Map<string, number>();
  const callbacks = new Map<string, number>();
  providers.forEach((p, i) => {
    const id = p.id ?? p.type;
    const first = seen.get(id);
    if (first !== undefined) issue([i, 'id'], `providers ${first} and ${i} both have the id "${id}": give each its own \`id\``);
    else seen.set(id, i);
    // Its own default path is no collision; any other one under /oauth/ is the authorization server's.
    const own = p.callbackPath;
    const collision = own === undefined || own === defaultCallbackPath(id) || callbackPathSyntaxProblem(own) ? undefined : callbackPathCollision(own, serverNames);
    if (collision) issue([i, 'callbackPath'], collision);
    // The path tells Gatehouse which provider answered. Spellings that differ only in case or a trailing slash count as one.
    const callback = (own ?? defaultCallbackPath(id)).toLowerCase().replace(/(.)\/$/, '$1');
    const sharer = callbacks.get(callback);
    if (sharer === undefined) callbacks.set(callback, i);
    else if (own !== undefined) issue([i, 'callbackPath'], `providers ${sharer} and ${i} both have the callback path ${own}: give each its own`);
    if (p.type !== 'github') {
      if (p.allow?.orgs) issue([i, 'allow', 'orgs'], 'orgs are GitHub organisations: only for type github');
      if (p.allow?.teams) issue([i, 'allow', 'teams'], 'teams are GitHub teams: only for type github');
    } else if (p.allow?.claims) {
      issue([i, 'allow', 'claims'], 'GitHub gives no ID token claims: use users, emails, domains, orgs or teams');
    }
  });
}

// `gatehouse clients update ID`: changes a client `clients add` added, held to the same rules
// (clients-settings.ts); a config, registered (DCR) or metadata-document client is refused.
import { randomBytes } from 'node:crypto';
import type { ResolvedConfig } from '../config/index.js';
import type { OAuthPayload } from '../store/index.js';
import { CC_RESOURCE_FLAG, clientRecord, grantList, jsonView, RECORD_FIELDS, settingsOf, settingsProblems, storedResource, storedResources, type ClientSettings } from './clients-settings.js';
import { CliExit, ExitCode } from './exit.js';
import { withStore, type StoreFlags } from './tokens.js';

export interface ClientsUpdateFlags extends StoreFlags {
  name?: string | undefined;
  /** Replaces the redirect URIs (repeatable). */
  redirectUri?: string[] | undefined;
  /** Adds to the redirect URIs (repeatable). */
  addRedirectUri?: string[] | undefined;
  /** A path or URL; false: `--no-resource`. */
  resource?: string | false | undefined;
  /** `--pkce` true, `--no-pkce` false. */
  pkce?: boolean | undefined;
  grants?: string | undefined;
  /** Replaces the client_credentials resources (repeatable); false: `--no-client-credentials-resource`. */
  clientCredentialsResource?: string[] | false | undefined;
  rotateSecret?: boolean | undefined;
  /** Opposite flags given together (`--pkce and --no-pkce`), which the parser would settle by their order. */
  contradicting?: readonly string[] | undefined;
}

const UPDATE_FLAGS =
  '--name, --redirect-uri, --add-redirect-uri, --resource, --no-resource, --pkce, --no-pkce, --grants, --client-credentials-resource, --no-client-credentials-resource, --rotate-secret';

/**
 * Why client `id` cannot be updated here, or undefined when `stored` is a client this command
 * added. Only those: a config client is the config file's; a registered (DCR) client's metadata
 * is whoever registered it's (an operator changing its redirect URIs would send its codes
 * elsewhere); a metadata-document client is its document.
 */
function notUpdatable(id: string, stored: OAuthPayload | undefined, config: ResolvedConfig, location: string): string | undefined {
  if (config.auth.clients.some((c) => c.clientId === id)) {
    return `client ${id} is defined in the config file (auth.clients): edit it there and restart gatehouse serve`;
  }
  if (!stored) {
    if (/^https:\/\//i.test(id)) return `client ${id} is a client ID metadata document: the document at that URL says what the client is, and only its publisher changes it`;
    return `no client with id ${id} in ${location} (see gatehouse clients list)`;
  }
  if (Object.keys(stored).some((k) => !RECORD_FIELDS.has(k))) {
    return `client ${id} registered itself (dynamic client registration): its metadata is its own, not the operator's to change. Remove it (gatehouse clients remove ${id}; it can register again), or add a client of your own with gatehouse clients add`;
  }
  return undefined;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * `gatehouse clients update ID`: changes a client `clients add` added, keeping its id and (unless
 * --rotate-secret) its secret, under the same rules as `add`. `serve` reads clients from the store
 * at each request, so the change holds from the next one; grants and tokens already issued stay.
 */
export async function clientsUpdate(id: string, flags: ClientsUpdateFlags): Promise<void> {
  if (!id) throw new CliExit(ExitCode.Usage, 'say which client to update: gatehouse clients update ID (see gatehouse clients list)');
  const asked = [flags.name, flags.redirectUri, flags.addRedirectUri, flags.resource, flags.pkce, flags.grants, flags.clientCredentialsResource, flags.rotateSecret];
  if (asked.every((v) => v === undefined)) throw new CliExit(ExitCode.Usage, `say what to change in client ${id}: one or more of ${UPDATE_FLAGS}`);
  const usage = (flags.contradicting ?? []).map((pair) => `${pair}: give one`);
  if (flags.redirectUri !== undefined && flags.addRedirectUri !== undefined) {
    usage.push('--redirect-uri and --add-redirect-uri: give one (--redirect-uri replaces the list, --add-redirect-uri adds to it)');
  }
  await withStore(flags, 'clients', async (store, config) => {
    const adapter = store.oauthAdapter('Client');
    const stored = await adapter.find(id);
    const refused = notUpdatable(id, stored, config, store.location);
    if (refused !== undefined || !stored) throw new CliExit(ExitCode.Usage, [refused ?? '', ...usage].join('\n'));

    const before = settingsOf(stored);
    const uris = flags.redirectUri ?? [...before.redirectUris, ...(flags.addRedirectUri ?? [])];
    const after: ClientSettings = {
      ...before,
      name: flags.name !== undefined ? flags.name.trim() : before.name,
      redirectUris: [...new Set(uris)],
      grants: flags.grants !== undefined ? grantList(flags.grants) : before.grants,
      resource: flags.resource === false ? undefined : (flags.resource ?? before.resource),
      requirePkce: flags.pkce ?? before.requirePkce,
      clientCredentialsResources:
        flags.clientCredentialsResource === false
          ? undefined
          : flags.clientCredentialsResource !== undefined
            ? [...new Set(flags.clientCredentialsResource)]
            : before.clientCredentialsResources,
    };
    const newList = Array.isArray(flags.clientCredentialsResource);
    const problems = [...usage];
    if (flags.rotateSecret && !before.confidential) problems.push(`--rotate-secret: client ${id} is public: it has no secret`);
    problems.push(
      ...settingsProblems(after, {
        uri: (uri) =>
          flags.redirectUri?.includes(uri) ? `--redirect-uri ${uri}` : flags.addRedirectUri?.includes(uri) ? `--add-redirect-uri ${uri}` : `stored redirect URI ${uri}`,
        grants: '--grants',
        needsSecret: ` (client ${id} is public, and stays so: a client with a secret is added with gatehouse clients add --confidential)`,
        clientCredentialsResources: newList ? CC_RESOURCE_FLAG : `its stored ${CC_RESOURCE_FLAG} list (${before.clientCredentialsResources?.join(', ') ?? ''})`,
        needsClientCredentials: newList ? ' (give --grants with client_credentials)' : ' (clear it with --no-client-credentials-resource)',
      }),
    );
    if (typeof flags.resource === 'string' && !problems.some((p) => p.startsWith('--resource '))) {
      // Kept as its path, as `clients add` keeps it (storedResource).
      const checked = await storedResource(flags.resource, config);
      if ('problem' in checked) problems.push(`--resource ${flags.resource}: ${checked.problem}`);
      else after.resource = checked.path;
    }
    if (newList && after.clientCredentialsResources !== undefined) {
      // Kept as paths, as `clients add` keeps them; values the schema refused are named once, by it.
      const listed = after.clientCredentialsResources;
      const wellFormed = listed.filter((r) => !problems.some((p) => p.startsWith(`${CC_RESOURCE_FLAG} ${r}:`)));
      const checked = await storedResources(wellFormed, config);
      problems.push(...checked.problems);
      if (wellFormed.length === listed.length) after.clientCredentialsResources = checked.paths;
    }
    if (problems.length) throw new CliExit(ExitCode.Usage, problems.join('\n'));

    const secret = flags.rotateSecret ? randomBytes(32).toString('base64url') : undefined;
    const changed: string[] = [];
    if (after.name !== before.name) changed.push(`name ${JSON.stringify(after.name)}`);
    if (!sameList(after.redirectUris, before.redirectUris)) changed.push(`redirect URIs ${after.redirectUris.join(', ')}`);
    if (!sameList(after.grants, before.grants)) changed.push(`grants ${after.grants.join(', ')}`);
    if (after.resource !== before.resource) changed.push(after.resource === undefined ? 'no resource' : `resource ${after.resource}`);
    if (after.requirePkce !== before.requirePkce) changed.push(after.requirePkce ? 'PKCE required' : 'PKCE not required');
    const [cc, ccBefore] = [after.clientCredentialsResources, before.clientCredentialsResources];
    if (cc === undefined ? ccBefore !== undefined : ccBefore === undefined || !sameList(cc, ccBefore)) {
      changed.push(cc === undefined ? 'no client_credentials resource list' : `client_credentials tokens only for ${cc.join(', ')}`);
    }
    if (secret) changed.push('a new secret');
    if (changed.length) {
      const issuedAt = typeof stored.client_id_issued_at === 'number' ? stored.client_id_issued_at : Math.floor(Date.now() / 1000);
      const keep = { client_secret: stored.client_secret, client_secret_expires_at: stored.client_secret_expires_at ?? 0 };
      await adapter.upsert(id, clientRecord(id, issuedAt, after, secret ? { client_secret: secret, client_secret_expires_at: 0 } : keep));
    }
    if (flags.json) {
      console.log(JSON.stringify({ ...jsonView(id, after, secret), changed }, null, 2));
    } else if (secret) {
      console.log(`client_id: ${id}`);
      console.log(`client_secret: ${secret}`);
    }
    const name = JSON.stringify(after.name ?? '');
    if (!changed.length) {
      console.error(`client ${name} (${id}) already is so: nothing changed`);
      return;
    }
    console.error(`updated client ${name} (${id}) in ${store.location}: ${changed.join('; ')}`);
    console.error('A running gatehouse serve uses it from the next request; its grants and tokens stay valid.');
    if (after.grants.includes('client_credentials') && changed.some((c) => c.includes('client_credentials') || c.includes('resource'))) {
      // bearer.ts reads the client's current rules whenever it checks a client_credentials token.
      console.error('Its client_credentials tokens open only what it may have now (a token serve checked in the last 10 s may keep its old reach for up to 10 s more).');
    }
    if (secret) {
      console.error(
        `The old secret no longer works. The new one is shown only this once (the store keeps its hash): paste it where the client keeps it. ` +
          `Tokens issued before stay valid until they expire (refreshing them needs the new secret); to end them now: gatehouse tokens revoke --client ${id}`,
      );
    }
  });
}

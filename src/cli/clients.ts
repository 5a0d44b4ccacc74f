// `gatehouse clients add|list|remove` (`update`: clients-update.ts): pre-registered OAuth clients
// kept in the store `serve` would use with the same --config / --data-dir. They are written in the
// shape oidc-provider reads from its `Client` adapter, like the ones dynamic registration creates,
// plus what a config client says in `resource`, `requirePkce` and `clientCredentialsResources`
// (stored-client-rules.ts); a secret is printed once and the store keeps only its hash.
import { randomBytes } from 'node:crypto';
import { CC_RESOURCE_FLAG, clientRecord, CODE_FLOW, grantList, jsonView, settingsOf, settingsProblems, storedResource, storedResources, type ClientSettings } from './clients-settings.js';
import { CliExit, ExitCode } from './exit.js';
import { storeConfig } from './store-command.js';
import { revokeTokens, withStore, type StoreFlags } from './tokens.js';

export { redirectUriProblem } from './clients-settings.js';
export { clientsUpdate, type ClientsUpdateFlags } from './clients-update.js';

export interface ClientsAddFlags extends StoreFlags {
  name?: string | undefined;
  redirectUri?: string[] | undefined;
  confidential?: boolean | undefined;
  /** Grants on top of the code flow (repeatable): `client_credentials`. */
  grant?: string[] | undefined;
  /** The client's grants exactly, comma separated (the config's `grants`). */
  grants?: string | undefined;
  /** The config's `resource`: a protected path such as /api, or its absolute URL (kept as its path). */
  resource?: string | undefined;
  /** `--no-pkce` sets it false (the config's `requirePkce: false`). */
  pkce?: boolean | undefined;
  /** The config's `clientCredentialsResources` (repeatable): paths or their URLs (kept as paths). */
  clientCredentialsResource?: string[] | undefined;
}

export async function clientsAdd(flags: ClientsAddFlags): Promise<void> {
  const problems: string[] = [];
  if (flags.grant !== undefined && flags.grants !== undefined) problems.push('--grant and --grants: give one (--grants lists every grant, --grant adds to the code flow)');
  const grants = flags.grants !== undefined ? grantList(flags.grants) : [...new Set([...CODE_FLOW, ...(flags.grant ?? [])])];
  // client_credentials mints tokens with no user behind them: only when asked for by name, and
  // always with a secret (so it implies --confidential).
  const machine = grants.includes('client_credentials');
  const settings: ClientSettings = {
    name: flags.name?.trim() ?? '',
    redirectUris: [...new Set(flags.redirectUri ?? [])],
    confidential: flags.confidential === true || machine,
    grants,
    resource: flags.resource,
    requirePkce: flags.pkce !== false,
    clientCredentialsResources: flags.clientCredentialsResource === undefined ? undefined : [...new Set(flags.clientCredentialsResource)],
  };
  problems.push(
    ...settingsProblems(settings, {
      uri: (uri) => `--redirect-uri ${uri}`,
      grants: flags.grants !== undefined ? '--grants' : '--grant',
      needsSecret: ' (add --confidential)',
      clientCredentialsResources: CC_RESOURCE_FLAG,
      needsClientCredentials: flags.grants !== undefined ? ' (list client_credentials in --grants)' : ' (add --grant client_credentials)',
    }),
  );
  // Whether --resource and --client-credentials-resource are this gateway's needs its config:
  // read (without the store) before any refusal, so that one refusal names every problem and a
  // refused add creates no store.
  const given = settings.resource;
  const listed = settings.clientCredentialsResources;
  const config = given !== undefined || listed !== undefined ? await storeConfig(flags) : undefined;
  if (config && given !== undefined && !problems.some((p) => p.startsWith('--resource '))) {
    const checked = await storedResource(given, config);
    if ('problem' in checked) problems.push(`--resource ${given}: ${checked.problem}`);
    else settings.resource = checked.path;
  }
  if (config && listed !== undefined) {
    // Values the schema refused (their form) are named once, by the schema.
    const wellFormed = listed.filter((r) => !problems.some((p) => p.startsWith(`${CC_RESOURCE_FLAG} ${r}:`)));
    const checked = await storedResources(wellFormed, config);
    problems.push(...checked.problems);
    if (wellFormed.length === listed.length) settings.clientCredentialsResources = checked.paths;
  }
  if (problems.length) throw new CliExit(ExitCode.Usage, problems.join('\n'));

  // Hex: an id must never start with "-", or `gatehouse clients remove ID` would read it as a flag.
  const clientId = randomBytes(16).toString('hex');
  const secret = settings.confidential ? randomBytes(32).toString('base64url') : undefined;
  const { name, confidential, requirePkce, clientCredentialsResources } = settings;
  await withStore(flags, 'clients', async (store) => {
    const { resource } = settings;
    const payload = clientRecord(clientId, Math.floor(Date.now() / 1000), settings, { client_secret: secret, client_secret_expires_at: 0 });
    await store.oauthAdapter('Client').upsert(clientId, payload);
    if (flags.json) {
      console.log(JSON.stringify(jsonView(clientId, settings, secret), null, 2));
    } else {
      console.log(`client_id: ${clientId}`);
      if (secret) console.log(`client_secret: ${secret}`);
    }
    const kept = resource === given ? '' : ` (${given}, kept as its path: serve resolves it against its issuer)`;
    const machineFor = clientCredentialsResources === undefined ? '' : `; client_credentials tokens only for: ${clientCredentialsResources.join(', ')}`;
    const rules = `${resource !== undefined ? `; resource: ${resource}${kept}` : ''}${requirePkce ? '' : '; PKCE not required'}${machineFor}`;
    console.error(`added ${confidential ? 'confidential' : 'public'} client ${JSON.stringify(name)} to ${store.location}; grants: ${grants.join(', ')}${rules}`);
    if (machine) console.error('client_credentials: anyone holding the secret gets tokens with no sign-in and no consent. Keep it on a machine you control.');
    if (secret) console.error(`The secret is shown only this once: the store keeps its hash. Lost it? gatehouse clients update ${clientId} --rotate-secret gives the client a new one.`);
  });
}

interface ClientView {
  clientId: string;
  name: string | null;
  redirectUris: string[];
  confidential: boolean;
  grants: string[];
  /** The resource its tokens are for when it names none (--resource); null: none. */
  resource: string | null;
  requirePkce: boolean;
  /** What its client_credentials tokens may be for (--client-credentials-resource); null: not set. */
  clientCredentialsResources: string[] | null;
  createdAt: string;
}

export async function clientsList(flags: StoreFlags): Promise<void> {
  await withStore(flags, 'clients', async (store, config) => {
    const adapter = store.oauthAdapter('Client');
    const out: ClientView[] = [];
    for (const record of await store.listOAuth({ models: ['Client'] })) {
      const stored = await adapter.find(record.key);
      if (!stored) continue;
      const c = settingsOf(stored);
      // Only these fields: the stored client_secret (a hash) is never printed.
      out.push({
        clientId: record.key,
        name: c.name,
        redirectUris: [...c.redirectUris],
        confidential: c.confidential,
        grants: [...c.grants],
        resource: c.resource ?? null,
        requirePkce: c.requirePkce,
        clientCredentialsResources: c.clientCredentialsResources === undefined ? null : [...c.clientCredentialsResources],
        createdAt: new Date(typeof stored.client_id_issued_at === 'number' ? stored.client_id_issued_at * 1000 : record.createdAt).toISOString(),
      });
    }
    out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.clientId.localeCompare(b.clientId));
    if (flags.json) {
      console.log(JSON.stringify(out, null, 2));
    } else {
      for (const c of out) {
        const extra = c.grants.filter((g) => !CODE_FLOW.includes(g));
        const codeFlow = CODE_FLOW.every((g) => c.grants.includes(g));
        // The usual grants say nothing; the code flow plus more says what more; anything else, all of them.
        const grants = codeFlow ? extra.map((g) => ` +${g}`).join('') : `  grants ${c.grants.join(',')}`;
        const machineFor = c.clientCredentialsResources === null ? '' : `  client_credentials for ${c.clientCredentialsResources.join(',')}`;
        const rules = `${c.resource === null ? '' : `  resource ${c.resource}`}${c.requirePkce ? '' : '  no PKCE'}${machineFor}`;
        console.log(`${c.clientId}  ${c.name ?? '(no name)'}  ${c.confidential ? 'confidential' : 'public'}${grants}${rules}  created ${c.createdAt}`);
        for (const uri of c.redirectUris) console.log(`    ${uri}`);
      }
      if (out.length === 0) console.error(`no clients in ${store.location}`);
    }
    const fromConfig = config.auth.clients.map((c) => c.clientId);
    if (fromConfig.length) console.error(`also defined in the config file (auth.clients): ${fromConfig.join(', ')}`);
  });
}

export async function clientsRemove(id: string, flags: StoreFlags): Promise<void> {
  if (!id) throw new CliExit(ExitCode.Usage, 'say which client to remove: gatehouse clients remove ID (see gatehouse clients list)');
  await withStore(flags, 'clients', async (store, config) => {
    const adapter = store.oauthAdapter('Client');
    if (!(await adapter.find(id))) {
      const inConfig = config.auth.clients.some((c) => c.clientId === id);
      throw new CliExit(
        ExitCode.Failure,
        inConfig
          ? `client ${id} is defined in the config file (auth.clients): remove it there`
          : `no client with id ${id} in ${store.location} (see gatehouse clients list)`,
      );
    }
    // Its grants and tokens go first, then the client: a removed client must not keep access.
    const revoked = await revokeTokens(store, { clientId: id });
    // Then whatever else names it (the Client record, pending interactions and requests).
    await store.deleteOAuth({ clientId: id });
    await adapter.destroy(id);
    console.error(`removed client ${id}${revoked ? ` and ${revoked} of its grants and tokens` : ''}`);
  });
}

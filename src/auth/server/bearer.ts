import type Provider from 'oidc-provider';
import type { AccessDecision, Authenticator, Credentials } from '../../http/index.js';
import { presentedToken } from '../../http/index.js';
import type { Logger } from '../../observability/index.js';
import { EXTRA_AUDIENCES, type ClientRules } from './provider-configuration.js';
import type { ResolvedResource, ResourceSurface } from './resources.js';

export interface BearerOptions {
  readonly provider: Provider;
  readonly resources: readonly ResolvedResource[];
  /** Which resources' tokens this authenticator accepts (default `mcp`; `rest`: the OpenAPI bridge). */
  readonly surface?: ResourceSurface | undefined;
  /** Every server name: what a token for the aggregate opens. */
  readonly allServers: readonly string[];
  /** Static tokens (auth.tokens, per-server tokens), tried first. */
  readonly staticTokens: Authenticator | undefined;
  readonly tokenInUrl: boolean;
  /** How long a verified token is trusted without asking the store again; revocation elsewhere shows after at most this. */
  readonly cacheMs: number;
  /**
   * The config's rules for a client's client_credentials tokens (`clientCredentialsResources`,
   * `resource`), read when such a token is checked: a token opens what its client may have now,
   * not what it was given when minted (the store keeps tokens across a restart with another config).
   */
  readonly clientRules: Pick<ClientRules, 'clientResource' | 'clientCredentialsResources'>;
  readonly logger: Logger;
}

interface Verified {
  readonly audiences: readonly string[];
  readonly principal: string;
  readonly scopes: ReadonlySet<string>;
  readonly grantId: string | undefined;
  readonly cachedUntil: number;
  /**
   * What this token opens, by server (`decide` is a function of the token's audiences and
   * scopes and of the fixed resource list): worked out once per token and server, so a
   * cached token answers without allocating. Goes with the entry (expiry, forgetGrant).
   */
  readonly decisions: Map<string | undefined, AccessDecision>;
}

const MAX_CACHE = 10_000;

export interface BearerAuthenticator extends Authenticator {
  /** Forgets cached verifications of a grant (revocation, refresh-token reuse). */
  forgetGrant(grantId: string): void;
  forgetToken(token: string): void;
}

/**
 * Checks an opaque access token issued by our provider: it must exist, be unexpired, not be
 * sender-constrained, and carry as audience a resource of the server being called (RFC 8707):
 * a token for `/a/mcp` opens server `a` only; the aggregate `/mcp` is a resource of its own.
 */
export function createBearerAuthenticator(options: BearerOptions): BearerAuthenticator {
  const { provider, allServers, staticTokens, cacheMs } = options;
  const surface = options.surface ?? 'mcp';
  const resources = options.resources.filter((r) => r.surface === surface);
  const serverNames = new Set(allServers);
  // Keyed by the token itself: this map lives in memory only (nothing stored holds a token),
  // and hashing every request's token cost more than the rest of a cached check.
  const cache = new Map<string, Verified>();

  const lookup = async (token: string): Promise<Verified | undefined> => {
    const key = token;
    const hit = cache.get(key);
    const now = Date.now();
    if (hit && hit.cachedUntil > now) return hit;
    if (hit) cache.delete(key);
    const verified = (await userToken(token, now)) ?? (await clientToken(token, now));
    if (!verified) return undefined;
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value!);
    cache.set(key, verified);
    return verified;
  };

  const audiencesOf = (aud: string | string[] | undefined): string[] => (aud === undefined ? [] : Array.isArray(aud) ? aud : [aud]);
  const until = (now: number, exp: number | undefined): number => Math.min(now + cacheMs, (exp ?? 0) * 1000);

  /** An access token from the code flow (or a refresh): bound to a user and a grant. */
  const userToken = async (token: string, now: number): Promise<Verified | undefined> => {
    const at = await provider.AccessToken.find(token);
    if (!at || at.isSenderConstrained()) return undefined;
    // A revoked grant takes its tokens with it; checked here as introspection does.
    const grant = await provider.Grant.find(at.grantId);
    if (!grant || grant.accountId !== at.accountId || grant.clientId !== at.clientId) return undefined;
    return {
      audiences: audiencesOf(at.aud),
      principal: `user:${at.accountId}`,
      scopes: at.scopes,
      grantId: at.grantId,
      cachedUntil: until(now, at.exp),
      decisions: new Map(),
    };
  };

  /**
   * The resources a client's client_credentials tokens may be for now: its
   * `clientCredentialsResources`, else its `resource` (config or store), else any (`undefined`);
   * `null` when it may have none (a stored `resource` this gateway no longer protects).
   */
  const machineAudiences = (client: Parameters<ClientRules['clientResource']>[0]): readonly string[] | undefined | null => {
    try {
      const listed = options.clientRules.clientCredentialsResources(client);
      if (listed !== undefined) return listed;
      const only = options.clientRules.clientResource(client);
      return only === undefined ? undefined : [only];
    } catch {
      return null;
    }
  };

  /**
   * A client_credentials token (confidential clients): the client is the principal. Its client
   * must still exist (config or store) and still have the client_credentials grant, and the
   * token opens only the audiences that client's rules still allow: the store keeps tokens
   * across a restart, the config they were minted under may not be the one in force. There is
   * no grant behind such a token to revoke, so this is where a removed client's tokens die.
   * Only on a cache miss: a cached answer lasts `cacheMs` and dies with the process.
   */
  const clientToken = async (token: string, now: number): Promise<Verified | undefined> => {
    const cc = await provider.ClientCredentials.find(token);
    if (!cc || cc.isSenderConstrained() || !cc.clientId) return undefined;
    const client = await provider.Client.find(cc.clientId);
    if (!client || !client.grantTypeAllowed('client_credentials')) return undefined;
    const allowed = machineAudiences(client);
    if (allowed === null) return undefined;
    // A token of a client's `clientCredentialsResources` that named none is for all of them.
    const extra: unknown = cc.extra?.[EXTRA_AUDIENCES];
    const stored = [...audiencesOf(cc.aud), ...(Array.isArray(extra) ? extra.filter((a): a is string => typeof a === 'string') : [])];
    const audiences = allowed === undefined ? stored : stored.filter((a) => allowed.includes(a));
    if (audiences.length === 0) return undefined;
    return {
      audiences,
      principal: `client:${cc.clientId}`,
      scopes: cc.scopes,
      grantId: undefined,
      cachedUntil: until(now, cc.exp),
      decisions: new Map(),
    };
  };

  const unauthorized = (description: string): AccessDecision => ({ ok: false, status: 401, error: 'invalid_token', description });

  /** What a verified token opens on `server`. */
  const decide = (verified: Verified | undefined, server: string | undefined): AccessDecision => {
    if (!verified) return unauthorized('the token is unknown, expired or revoked');
    const known = verified.decisions.get(server);
    if (known !== undefined) return known;
    const decision = decideAfresh(verified, server);
    // Kept for configured servers only (the listeners answer 404 for others first): bounded.
    if (server === undefined || serverNames.has(server)) verified.decisions.set(server, decision);
    return decision;
  };

  const decideAfresh = (verified: Verified, server: string | undefined): AccessDecision => {
    const opens = resources.some((r) => r.server === server && verified.audiences.includes(r.url));
    if (!opens) return unauthorized('the token was issued for another resource');
    if (!verified.scopes.has('mcp')) {
      return { ok: false, status: 403, error: 'insufficient_scope', description: 'the token lacks the mcp scope' };
    }
    return { ok: true, principal: verified.principal, allowedServers: server === undefined ? allServers : [server] };
  };

  const lookupAndDecide = (token: string, server: string | undefined): Promise<AccessDecision> =>
    lookup(token).then(
      (verified) => decide(verified, server),
      (err: unknown) => {
        options.logger.error({ err: (err as Error).message }, 'access token lookup failed');
        return unauthorized('the token could not be verified');
      },
    );

  return {
    // Synchronous when the answer is known (a static token, a cached bearer token): the
    // common case answers without a promise (docs/decisions/0005-performance.md).
    authenticate(request: Credentials, server: string | undefined): AccessDecision | Promise<AccessDecision> {
      const token = presentedToken(request, options.tokenInUrl);
      if (token === undefined) return { ok: false, status: 401, error: 'invalid_request', description: 'a bearer token is required' };
      if (staticTokens) {
        const decision = staticTokens.authenticate(request, server);
        if (decision instanceof Promise) return decision.then((d) => (d.ok ? d : lookupAndDecide(token, server)));
        if (decision.ok) return decision;
      }
      const hit = cache.get(token);
      if (hit !== undefined && hit.cachedUntil > Date.now()) return decide(hit, server);
      return lookupAndDecide(token, server);
    },
    forgetGrant(grantId) {
      for (const [key, v] of cache) if (v.grantId === grantId) cache.delete(key);
    },
    forgetToken(token) {
      cache.delete(token);
    },
  };
}

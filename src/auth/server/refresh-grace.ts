import { createHash } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { AdapterFactory } from './memory-adapter.js';

/**
 * Refresh tokens rotate on every use, and a consumed one presented again revokes the whole
 * grant (oidc-provider, OAuth 2.1 section 4.3.1). Two tabs or two bridges refreshing with
 * the same token at the same moment would lock their user out; so for `graceSeconds` after
 * its first use a refresh token still reads as unconsumed. The second refresh then gets the
 * same successor as the first (sameSuccessorDuringGrace), never a chain of its own. After the
 * window, reuse revokes as before.
 */
export function withRefreshGrace(factory: AdapterFactory, graceSeconds: number, now: () => number = () => Date.now() / 1000): AdapterFactory {
  return (model) => {
    const inner = factory(model);
    if (model !== 'RefreshToken' || graceSeconds <= 0) return inner;
    const fresh = (payload: AdapterPayload | undefined | void): AdapterPayload | undefined => {
      if (!payload) return undefined;
      const consumed = payload.consumed as number | undefined;
      if (typeof consumed === 'number' && now() - consumed <= graceSeconds) {
        const rest: AdapterPayload = { ...payload };
        delete rest.consumed;
        return rest;
      }
      return payload;
    };
    const adapter: Adapter = {
      upsert: (id, payload, expiresIn) => inner.upsert(id, payload, expiresIn),
      find: async (id) => fresh(await inner.find(id)),
      findByUserCode: async (code) => fresh(await inner.findByUserCode(code)),
      findByUid: async (uid) => fresh(await inner.findByUid(uid)),
      consume: (id) => inner.consume(id),
      destroy: (id) => inner.destroy(id),
      revokeByGrantId: (grantId) => inner.revokeByGrantId(grantId),
    };
    return adapter;
  };
}

type Middleware = Parameters<Provider['use']>[0];

/**
 * Inside the grace window, a refresh token used again is answered with the successor its first
 * use got: the same access and refresh token, so no second token chain comes to exist. Without
 * this, each reuse in the window minted an independent chain that reuse detection never ties
 * back (RFC 9700 §4.14.2: a stolen refresh token, replayed within seconds of the real client's
 * refresh, would have kept a line of its own).
 *
 * The provider still runs the request in full (client authentication, the grant checks), so only
 * the client the token belongs to ever gets the answer; what the second run minted is destroyed
 * and replaced. The first answers are kept in this process's memory, by sha256 of client and
 * token, for the window (plus a second, so the provider never sees a token in grace that this
 * has forgotten); several instances behind a balancer each keep their own.
 */
export function sameSuccessorDuringGrace(provider: Provider, graceSeconds: number, now: () => number = () => Date.now() / 1000): Middleware {
  const keep = graceSeconds + 1;
  // Insertion order is time order: the oldest entries are at the front.
  const successors = new Map<string, { at: number; body: Record<string, unknown> }>();
  return async (ctx, next) => {
    await next();
    if (graceSeconds <= 0 || ctx.status !== 200) return;
    const oidc = (ctx as { oidc?: { route?: string; params?: Record<string, unknown>; client?: { clientId: string } } }).oidc;
    const used = oidc?.params?.refresh_token;
    if (oidc?.route !== 'token' || oidc.params?.grant_type !== 'refresh_token' || typeof used !== 'string') return;
    const body = ctx.body as Record<string, unknown> | undefined;
    if (typeof body?.access_token !== 'string' || typeof body.refresh_token !== 'string') return;
    const t = now();
    for (const [key, entry] of successors) {
      if (t - entry.at <= keep) break;
      successors.delete(key);
    }
    const key = createHash('sha256').update(`${oidc.client?.clientId ?? ''}\n${used}`).digest('base64url');
    const first = successors.get(key);
    if (!first) {
      successors.set(key, { at: t, body: { ...body } });
      return;
    }
    const [access, refresh] = await Promise.all([provider.AccessToken.find(body.access_token), provider.RefreshToken.find(body.refresh_token)]);
    await Promise.all([access?.destroy(), refresh?.destroy()]);
    ctx.body = { ...first.body };
  };
}

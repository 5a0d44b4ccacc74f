import type Provider from 'oidc-provider';
import type { AdapterPayload } from 'oidc-provider';
import type { AdapterFactory, GatehouseAdapter } from './memory-adapter.js';

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
    const adapter: GatehouseAdapter = {
      upsert: (id, payload, expiresIn) => inner.upsert(id, payload, expiresIn),
      insertIfAbsent: (id, payload, expiresIn) => inner.insertIfAbsent(id, payload, expiresIn),
      find: async (id) => fresh(await inner.find(id)),
      findByUserCode: async (code) => fresh(await inner.findByUserCode(code)),
      findByUid: async (uid) => fresh(await inner.findByUid(uid)),
      consume: (id) => inner.consume(id),
      destroy: (id) => inner.destroy(id),
      // A grant's refresh tokens go, and with them the first answers kept for their grace windows
      // (reuse detection, /revoke, a revoked grant): what they hold must not outlive them.
      revokeByGrantId: async (grantId) => {
        await Promise.all([inner.revokeByGrantId(grantId), factory(SUCCESSOR_MODEL).revokeByGrantId(grantId)]);
      },
    };
    return adapter;
  };
}

type Middleware = Parameters<Provider['use']>[0];

/** The store model that keeps a used refresh token's first answer (sealed with that token: store/codec.ts SEALED_MODELS). */
export const SUCCESSOR_MODEL = 'RefreshTokenSuccessor';

/**
 * How much longer than the window a first answer is kept. The window is judged by the clock of the
 * instance that sees the reuse, against the first use's time from another's; the record's expiry by
 * a third. Kept longer, a reuse still in the window always finds it while clocks agree within this.
 */
export const SUCCESSOR_CLOCK_MARGIN_SECONDS = 30;

interface TokenResponse {
  access_token: string;
  refresh_token: string;
  [key: string]: unknown;
}

const isTokenResponse = (v: unknown): v is TokenResponse =>
  typeof v === 'object' && v !== null && typeof (v as TokenResponse).access_token === 'string' && typeof (v as TokenResponse).refresh_token === 'string';

/**
 * Inside the grace window, a refresh token used again is answered with the successor its first
 * use got: the same access and refresh token, so no second token chain comes to exist. Without
 * this, each reuse in the window minted an independent chain that reuse detection never ties
 * back (RFC 9700 §4.14.2: a stolen refresh token, replayed within seconds of the real client's
 * refresh, would have kept a line of its own).
 *
 * The provider still runs the request in full (client authentication, the grant checks, a revoked
 * grant), so only the client the token belongs to, while its grant stands, ever gets the answer.
 * The first answer is kept in the store (`successors`, model SUCCESSOR_MODEL, under the used token:
 * stored under its sha256 and sealed with it), so every instance sharing the store answers alike.
 * Which answer is the first is decided by the store's atomic insertIfAbsent: of two rotations
 * racing on one token, on one instance or two, one is kept, and the other request destroys what it
 * minted before it answers with the kept one; what it minted never leaves the process.
 */
export function sameSuccessorDuringGrace(provider: Provider, graceSeconds: number, successors: GatehouseAdapter): Middleware {
  return async (ctx, next) => {
    await next();
    if (graceSeconds <= 0 || ctx.status !== 200) return;
    const oidc = (ctx as {
      oidc?: { route?: string; params?: Record<string, unknown>; client?: { clientId: string }; entities?: { RefreshToken?: { grantId?: string; accountId?: string } } };
    }).oidc;
    const used = oidc?.params?.refresh_token;
    if (oidc?.route !== 'token' || oidc.params?.grant_type !== 'refresh_token' || typeof used !== 'string') return;
    const body = ctx.body as unknown;
    if (!isTokenResponse(body)) return;
    const clientId = oidc.client?.clientId;
    const successor = oidc.entities?.RefreshToken;
    const minted = body;
    /** Destroys what this rotation minted (the access and refresh token in its answer), so it never lives on undelivered. */
    const destroyMinted = async (): Promise<void> => {
      const [access, refresh] = await Promise.all([provider.AccessToken.find(minted.access_token), provider.RefreshToken.find(minted.refresh_token)]);
      await Promise.all([access?.destroy(), refresh?.destroy()]);
    };
    try {
      const kept = await successors.insertIfAbsent(
        used,
        { clientId, grantId: successor?.grantId, accountId: successor?.accountId, response: { ...body } },
        graceSeconds + SUCCESSOR_CLOCK_MARGIN_SECONDS,
      );
      if (kept.inserted) return;
      const first = kept.payload.response;
      // Keyed by the used token, which the provider has just tied to this client: a record for another
      // client or one that does not open cannot be; should it ever, this rotation's answer stands.
      if (kept.payload.clientId !== clientId || !isTokenResponse(first)) return;
      await destroyMinted();
      ctx.body = { ...first };
    } catch (err) {
      // The store failed while keeping the first answer or destroying a losing rotation's tokens. What
      // was minted is not delivered: destroyed as far as the store lets us (each token on its own).
      await Promise.allSettled([
        provider.AccessToken.find(minted.access_token).then((t) => t?.destroy()),
        provider.RefreshToken.find(minted.refresh_token).then((t) => t?.destroy()),
      ]);
      provider.emit('server_error', ctx, err);
      // temporarily_unavailable (503), not server_error (500): the used token still reads as unused for
      // the rest of its window, so the right move for the client is to retry soon with it. The MCP SDK
      // (client/auth.js) starts a new browser login on server_error (ServerError, like a non-JSON 500)
      // and throws other OAuth errors to its caller, keeping its tokens for the next attempt.
      ctx.status = 503;
      ctx.set('retry-after', '1');
      ctx.body = { error: 'temporarily_unavailable', error_description: 'the refresh could not be completed; retry with the same refresh token' };
    }
  };
}

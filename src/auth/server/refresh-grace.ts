import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
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

/**
 * The first answer is sealed here a second time, under the used token and a key the server holds
 * outside the store: one of its cookie keys (dataDir/keys.json, which instances sharing a store
 * share too). The store seals the record with the used token alone (store/codec.ts SEALED_MODELS),
 * so a copy of the database plus a stolen used refresh token would open it, without the client
 * authentication, window and grant checks the token endpoint makes; with this, it opens nothing.
 */
const answerKey = (serverKey: string | Buffer, used: string): Buffer => createHmac('sha256', serverKey).update(`gatehouse-refresh-grace\u0000${used}`).digest();

function sealAnswer(serverKey: string | Buffer, used: string, response: TokenResponse): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', answerKey(serverKey, used), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(response), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/** The answer sealed under any of the server's keys (the newest first; an older one while keys rotate), or undefined. */
function openAnswer(serverKeys: readonly (string | Buffer)[], used: string, sealed: unknown): unknown {
  if (typeof sealed !== 'string') return undefined;
  const raw = Buffer.from(sealed, 'base64url');
  for (const serverKey of serverKeys) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', answerKey(serverKey, used), raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as unknown;
    } catch {
      // Not this key.
    }
  }
  return undefined;
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
 * stored under its sha256 and sealed with it; the answer inside sealed again under the used token
 * and the server's cookie key, sealAnswer), so every instance sharing the store and keys.json answers alike.
 * Which answer is the first is decided by the store's atomic insertIfAbsent: of two rotations
 * racing on one token, on one instance or two, one is kept, and the other request destroys what it
 * minted before it answers with the kept one; what it minted never leaves the process.
 */
export function sameSuccessorDuringGrace(provider: Provider, graceSeconds: number, successors: GatehouseAdapter): Middleware {
  // The provider's cookie keys (Koa's app.keys, from ServerKeys.cookieKeys): held by the server, never in the store.
  const serverKeys = provider.keys as unknown;
  if (!Array.isArray(serverKeys) || serverKeys.length === 0) throw new Error('the refresh grace needs the provider cookie keys to seal its answers');
  const keys = serverKeys as (string | Buffer)[];
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
        { clientId, grantId: successor?.grantId, accountId: successor?.accountId, response: sealAnswer(keys[0]!, used, body) },
        graceSeconds + SUCCESSOR_CLOCK_MARGIN_SECONDS,
      );
      if (kept.inserted) return;
      const first = openAnswer(keys, used, kept.payload.response);
      // Keyed by the used token, which the provider has just tied to this client: a record for another
      // client cannot be; one that does not open is sealed under a key this server does not have (an
      // instance with another keys.json). Should either happen, this rotation's answer stands.
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

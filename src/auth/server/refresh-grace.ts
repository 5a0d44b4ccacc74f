import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { AdapterFactory } from './memory-adapter.js';

/**
 * Refresh tokens rotate on every use, and a consumed one presented again revokes the whole
 * grant (oidc-provider, OAuth 2.1 section 4.3.1). Two tabs or two bridges refreshing with
 * the same token at the same moment would lock their user out; so for `graceSeconds` after
 * its first use a refresh token still reads as unconsumed, and the second refresh gets its
 * own rotated token. After the window, reuse revokes as before.
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

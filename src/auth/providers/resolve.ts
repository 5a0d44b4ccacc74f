import { defaultCallbackPath, type ResolvedAuth } from '../../config/index.js';
import type { ResolvedProvider } from './types.js';

type ProviderConfig = ResolvedAuth['providers'][number];

const GITHUB_WEB = 'https://github.com';
const GITHUB_API = 'https://api.github.com';
const GOOGLE_ISSUER = 'https://accounts.google.com';
const OIDC_SCOPE = 'openid email profile';

const trimSlash = (url: string): string => url.replace(/\/+$/, '');

/** Defaults filled in (ids, button names, URLs, scopes). Pure. */
export function resolveProviders(providers: readonly ProviderConfig[]): ResolvedProvider[] {
  return providers.map((p) => resolveProvider(p));
}

export function resolveProvider(p: ProviderConfig): ResolvedProvider {
  const id = p.id ?? p.type;
  const common = { type: p.type, id, callbackPath: p.callbackPath ?? defaultCallbackPath(id), clientId: p.clientId, allow: p.allow };
  switch (p.type) {
    case 'github': {
      const web = trimSlash(p.baseUrl ?? GITHUB_WEB);
      // GitHub Enterprise Server serves its REST API under /api/v3 of the same host.
      const api = trimSlash(p.apiUrl ?? (web === GITHUB_WEB ? GITHUB_API : `${web}/api/v3`));
      // Only what the rules look at: addresses need user:email, private org and team memberships read:org.
      const scopes = ['read:user'];
      if (p.allow?.emails?.length || p.allow?.domains?.length) scopes.push('user:email');
      if (p.allow?.orgs?.length || p.allow?.teams?.length) scopes.push('read:org');
      return { ...common, name: p.name ?? 'GitHub', clientSecret: p.clientSecret, issuer: web, apiUrl: api, scope: scopes.join(' ') };
    }
    case 'google':
      return { ...common, name: p.name ?? 'Google', clientSecret: p.clientSecret, issuer: trimSlash(p.issuer ?? GOOGLE_ISSUER), apiUrl: undefined, scope: OIDC_SCOPE };
    case 'oidc':
      return {
        ...common,
        name: p.name ?? new URL(p.issuer).host,
        clientSecret: p.clientSecret,
        // The issuer is compared exactly with discovery's `issuer` (OIDC Discovery §4.3): keep it as written.
        issuer: p.issuer,
        apiUrl: undefined,
        scope: p.scope ?? OIDC_SCOPE,
      };
  }
}

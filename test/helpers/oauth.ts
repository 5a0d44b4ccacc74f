// OAuth test helpers: a cookie-keeping "browser" that follows redirects by hand, the login
// and consent form helpers, and an in-memory SDK OAuthClientProvider.
import type { OAuthClientMetadata, OAuthClientProvider, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';

export const TEST_REDIRECT = 'http://127.0.0.1:47123/callback';

/** A browser of sorts: a cookie jar and manual redirects. */
export class Browser {
  readonly #jar = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#jar.size) headers.set('cookie', [...this.#jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a)) || value === '';
      if (expired) this.#jar.delete(name);
      else this.#jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects from `url` until one leaves `origin` (the client's redirect URI) or a page answers. */
  async follow(url: string, origin: string): Promise<{ url: string; res: Response }> {
    let current = url;
    for (let i = 0; i < 10; i++) {
      const res = await this.request(current);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url: current, res };
      current = new URL(location, current).href;
      if (!current.startsWith(origin)) return { url: current, res };
    }
    throw new Error('too many redirects');
  }
}

export function csrfOf(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error(`no csrf token in page: ${page.slice(0, 300)}`);
  return m[1]!;
}

export function form(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
}

/**
 * Signs `username` in on the login page and allows on the consent page (when one is shown);
 * returns where the authorization server sent the browser back.
 */
export async function loginAndConsent(base: string, authorizationUrl: string, username: string, password: string): Promise<URL> {
  const browser = new Browser();
  let step = await browser.follow(authorizationUrl, base);
  if (!new URL(step.url).pathname.startsWith('/login/')) throw new Error(`expected the login page, got ${step.url}: ${(await step.res.text()).slice(0, 300)}`);
  const login = await step.res.text();
  const posted = await browser.request(step.url, form({ csrf: csrfOf(login), username, password }));
  step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  if (new URL(step.url).pathname.startsWith('/consent/')) {
    const consent = await step.res.text();
    const allowed = await browser.request(step.url, form({ csrf: csrfOf(consent), decision: 'allow' }));
    step = await browser.follow(new URL(allowed.headers.get('location')!, step.url).href, base);
  }
  return new URL(step.url);
}

/** POST /oauth/token with form fields, and client_secret_basic when `basic` is given. */
export async function tokenRequest(
  base: string,
  fields: Record<string, string>,
  basic?: { id: string; secret: string },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  const res = await fetch(`${base}/oauth/token`, { method: 'POST', headers, body: new URLSearchParams(fields).toString() });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** An SDK OAuthClientProvider kept in memory; the redirect is captured, not opened. */
export class TestClient implements OAuthClientProvider {
  info: StoredOAuthClientInformation | undefined;
  saved: StoredOAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  constructor(
    readonly redirect = TEST_REDIRECT,
    readonly clientMetadataUrl?: string,
  ) {}
  get redirectUrl(): string {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Test <Client>',
      redirect_uris: [this.redirect],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.info;
  }
  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.info = info;
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.saved;
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  discovery: unknown;
  saveDiscoveryState(state: unknown): void {
    this.discovery = state;
  }
  discoveryState(): never {
    return this.discovery as never;
  }
  saveCodeVerifier(v: string): void {
    this.verifier = v;
  }
  codeVerifier(): string {
    return this.verifier;
  }
}


// A scripted browser whose cookies keep to their host and path (RFC 6265 §5.4), for flows that
// cross sites: the gateway on 127.0.0.1, stand-in identity providers on 127.0.0.2 and up. The
// simpler Browser of oauth.ts sends every cookie everywhere, which would mix two oidc-provider
// instances' `_session` cookies.

interface Cookie {
  host: string;
  path: string;
  name: string;
  value: string;
}

export class SiteBrowser {
  readonly #jar: Cookie[] = [];

  /** Cookies the browser holds for `host` (test assertions). */
  cookieNames(host: string): string[] {
    return this.#jar.filter((c) => c.host === host).map((c) => c.name);
  }

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url);
    const headers = new Headers(init.headers);
    const send = this.#jar.filter((c) => c.host === u.hostname && (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`)));
    if (send.length) headers.set('cookie', send.map((c) => `${c.name}=${c.value}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) this.#store(u, line);
    return res;
  }

  /** GETs `url` and follows redirects while they stay on `url`'s origin; returns the last URL and its response. */
  async followWithin(url: string): Promise<{ url: string; res: Response }> {
    let current = url;
    const origin = new URL(url).origin;
    for (let i = 0; i < 10; i++) {
      const res = await this.request(current);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url: current, res };
      const next = new URL(location, current).href;
      if (new URL(next).origin !== origin) return { url: next, res };
      current = next;
    }
    throw new Error('too many redirects');
  }

  #store(from: URL, line: string): void {
    const [pair, ...attrs] = line.split(';');
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq).trim();
    const value = pair!.slice(eq + 1).trim();
    let path = from.pathname.slice(0, from.pathname.lastIndexOf('/')) || '/';
    let expired = value === '';
    for (const attr of attrs) {
      const [k, v = ''] = attr.split('=').map((s) => s.trim());
      if (/^path$/i.test(k!)) path = v || '/';
      if (/^max-age$/i.test(k!) && Number(v) <= 0) expired = true;
      if (/^expires$/i.test(k!) && Date.parse(v) <= Date.now()) expired = true;
    }
    const at = this.#jar.findIndex((c) => c.host === from.hostname && c.path === path && c.name === name);
    if (at !== -1) this.#jar.splice(at, 1);
    if (!expired) this.#jar.push({ host: from.hostname, path, name, value });
  }
}

export function csrfIn(page: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(page);
  if (!m) throw new Error(`no csrf token in page: ${page.slice(0, 300)}`);
  return m[1]!;
}

export function postForm(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() };
}

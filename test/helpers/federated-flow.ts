// Steps of a federated sign-in as a browser takes them: from the MCP client's authorization URL
// to the gateway's login page, a provider button, the stand-in provider's page, the callback,
// consent, and back to the client's redirect URI.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { TestClient } from './oauth.js';
import { csrfIn, postForm, SiteBrowser } from './site-browser.js';

/** The SDK client meets the 401, discovers, registers (DCR) and asks to redirect: the URL it would open. */
export async function authorizationUrlFor(endpoint: string, client: TestClient): Promise<URL> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint), { authProvider: client });
  await new Client({ name: 'federated-test', version: '1' }).connect(transport).then(
    () => {
      throw new Error('connected without authorization');
    },
    () => undefined,
  );
  if (!client.authorizationUrl) throw new Error('the client was not asked to authorize');
  return client.authorizationUrl;
}

/**
 * Clients that share one DCR registration: registration is limited to 20 a minute per address,
 * and a test file that starts many sign-ins would otherwise meet 429.
 */
export function sharedRegistration(redirect?: string): () => TestClient {
  let shared: TestClient['info'];
  return () => {
    const client = new TestClient(redirect);
    client.clientInformation = () => shared;
    client.saveClientInformation = (info) => {
      shared = info;
      client.info = info;
    };
    return client;
  };
}

export interface Page {
  readonly url: string;
  readonly status: number;
  readonly html: string;
}

/** GET the authorization URL and follow it to the gateway's login page. */
export async function openLoginPage(browser: SiteBrowser, authorizationUrl: URL | string): Promise<Page> {
  const { url, res } = await browser.followWithin(String(authorizationUrl));
  return { url, status: res.status, html: await res.text() };
}

/** What pressing a provider button sends: the providers form is a GET form carrying the CSRF token. */
export function providerButtonRequest(browser: SiteBrowser, login: Page, providerId: string, csrf = csrfIn(login.html)): Promise<Response> {
  const url = new URL(login.url);
  url.search = new URLSearchParams({ csrf, provider: providerId }).toString();
  return browser.request(url.href);
}

/** Presses the provider's button on the login page: the URL of the provider the browser is sent to. */
export async function pressProviderButton(browser: SiteBrowser, login: Page, providerId: string): Promise<string> {
  if (!login.html.includes(`name="provider" value="${providerId}"`)) throw new Error(`no button for ${providerId} on ${login.html.slice(0, 500)}`);
  if (!/<form method="get" class="providers">/.test(login.html)) throw new Error('the provider buttons are not in their GET form');
  const res = await providerButtonRequest(browser, login, providerId);
  const location = res.headers.get('location');
  if (res.status !== 303 || !location) throw new Error(`pressing ${providerId}: HTTP ${res.status} ${await res.text()}`);
  return new URL(location, login.url).href;
}

/** At the stand-in GitHub: authorize (or cancel) as `login`; returns the callback URL it redirects to. */
export async function answerAtGitHub(browser: SiteBrowser, authorizeUrl: string, login: string, action: 'authorize' | 'cancel' = 'authorize'): Promise<string> {
  const page = await browser.request(authorizeUrl);
  const html = await page.text();
  const fields: Record<string, string> = { login, action };
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = decodeEntities(m[2]!);
  const res = await browser.request(new URL('/login/oauth/authorize', authorizeUrl).href, postForm(fields));
  const location = res.headers.get('location');
  if (!location) throw new Error(`stand-in GitHub: HTTP ${res.status} ${await res.text()}`);
  return location;
}

/** At the stand-in OpenID Provider: sign in as `login` (or cancel); returns the callback URL it redirects to. */
export async function answerAtStandInIdp(browser: SiteBrowser, authorizeUrl: string, login: string, action: 'login' | 'cancel' = 'login'): Promise<string> {
  const first = await browser.followWithin(authorizeUrl);
  const html = await first.res.text();
  const actionPath = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!actionPath) throw new Error(`stand-in IdP: no sign-in form at ${first.url}: ${html.slice(0, 300)}`);
  const posted = await browser.request(new URL(decodeEntities(actionPath), first.url).href, postForm({ login, action }));
  let next = new URL(posted.headers.get('location') ?? '', first.url).href;
  const origin = new URL(authorizeUrl).origin;
  while (new URL(next).origin === origin) {
    const step = await browser.followWithin(next);
    if (step.url === next || new URL(step.url).origin === origin) throw new Error(`stand-in IdP stopped at ${step.url}: HTTP ${step.res.status}`);
    next = step.url;
  }
  return next;
}

export interface Outcome {
  /** The redirect to the MCP client, when the flow got back to it. */
  readonly redirect?: URL;
  /** The page the flow stopped at otherwise. */
  readonly page?: Page;
  /** The consent page, when one was shown and allowed. */
  readonly consent?: Page;
}

/** Follows the provider's callback at the gateway; allows on the consent page; stops at the client's redirect or at a page. */
export async function returnToGateway(browser: SiteBrowser, callbackUrl: string, decision: 'allow' | 'deny' = 'allow'): Promise<Outcome> {
  const origin = new URL(callbackUrl).origin;
  let step = await browser.followWithin(callbackUrl);
  if (new URL(step.url).origin !== origin) return { redirect: new URL(step.url) };
  let html = await step.res.text();
  if (step.res.status === 200 && new URL(step.url).pathname.startsWith('/consent/')) {
    const consent = { url: step.url, status: 200, html };
    const res = await browser.request(step.url, postForm({ csrf: csrfIn(html), decision }));
    step = await browser.followWithin(new URL(res.headers.get('location') ?? '', step.url).href);
    if (new URL(step.url).origin !== origin) return { redirect: new URL(step.url), consent };
    html = await step.res.text();
  }
  return { page: { url: step.url, status: step.res.status, html } };
}

/** Follows a same-origin link (an error page's "Return to the app") to where it leads outside the gateway. */
export async function followLink(browser: SiteBrowser, page: Page): Promise<URL | undefined> {
  const href = /<a class="button" href="([^"]+)"/.exec(page.html)?.[1];
  if (!href) return undefined;
  const step = await browser.followWithin(new URL(decodeEntities(href), page.url).href);
  return new URL(step.url).origin !== new URL(page.url).origin ? new URL(step.url) : undefined;
}

function decodeEntities(v: string): string {
  return v.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

export { SiteBrowser, TestClient };

// Federated sign-in in a real browser: the SDK client registers, headless Chromium opens the
// authorization URL, presses the provider's button on the login page, signs in at the stand-in
// OpenID Provider (a second oidc-provider on its own loopback host), allows on the consent page
// and lands on the client's loopback callback; the SDK then gets its token and calls a tool.
// Fails (never skips) without Chromium.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { launchChromium, startCallbackServer, type CallbackServer, type HeadlessChromium } from './helpers/chromium.js';
import { authorizationUrlFor, TestClient } from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startStandInOidc, type StandInOidc } from './helpers/stand-in-oidc.js';

const SECRET = 'chromium-client-secret-0123456789';
let idp: StandInOidc;
let gw: Awaited<ReturnType<typeof startTestGateway>>;
let callback: CallbackServer;
let browser: HeadlessChromium | undefined;

beforeAll(async () => {
  idp = await startStandInOidc([{ sub: 'alice-sub', claims: { email: 'alice@acme.test', email_verified: true, preferred_username: 'alice', name: 'Alice' } }]);
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      users: { admin: { passwordHash: hashPassword('a long enough passphrase') } },
      providers: [{ type: 'oidc', id: 'acme', name: 'Acme SSO', issuer: idp.issuer, clientId: 'gatehouse', clientSecret: SECRET, allow: { domains: ['acme.test'] } }],
    },
    servers: { raw: rawStdio() },
  });
  idp.configure([{ clientId: 'gatehouse', clientSecret: SECRET, redirectUri: `${gw.base}/oauth/callback/acme` }]);
  callback = await startCallbackServer();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await callback?.close();
  await gw?.close();
  await idp?.close();
});

const onOrigin = (origin: string, path: string) => (u: URL) => u.origin === origin && u.pathname.startsWith(path);

describe('federated sign-in in headless Chromium', () => {
  it('provider button -> stand-in IdP sign-in -> consent -> the client gets its token and calls a tool', async () => {
    const client = new TestClient(callback.url);
    const authorizationUrl = await authorizationUrlFor(`${gw.base}/raw/mcp`, client);
    browser = await launchChromium();
    const page: Page = await browser.context.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });

    // The login page: the local form (a local user exists) and the provider's button.
    const login = await page.goto(authorizationUrl.href, { waitUntil: 'load', timeout: 10_000 });
    expect(login?.status()).toBe(200);
    expect((await login!.allHeaders())['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(await page.locator('input[name=password]').count()).toBe(1);
    const button = page.getByRole('button', { name: 'Continue with Acme SSO' });
    expect(await button.count()).toBe(1);
    await button.click();

    // The stand-in IdP's own page, on its own host.
    await page.waitForURL(onOrigin(idp.issuer, '/interaction/'), { timeout: 10_000 });
    await page.fill('input[name=login]', 'alice-sub');
    await page.getByRole('button', { name: 'Sign in at the IdP' }).click();

    // Back at the gateway: consent names the federated identity.
    await page.waitForURL(onOrigin(gw.base, '/consent/'), { timeout: 10_000 });
    const text = await page.locator('body').innerText();
    expect(text).toContain('acme|alice-sub');
    await page.click('button[name=decision][value=allow]');

    await page.waitForURL((u) => u.href.startsWith(callback.url), { timeout: 10_000 }).catch((err: unknown) => {
      throw new Error(`the browser stayed at ${page.url()}; Chromium reported: ${refused.join(' | ') || 'nothing'}`, { cause: err });
    });
    const query = await callback.received;
    expect(query.get('error')).toBeNull();
    const code = query.get('code');
    expect(code).toBeTruthy();
    await page.close();

    const endpoint = new URL(`${gw.base}/raw/mcp`);
    await new StreamableHTTPClientTransport(endpoint, { authProvider: client }).finishAuth(code!, query.get('iss') ?? undefined);
    expect(client.tokens()?.token_type).toBe('Bearer');
    const mcp = new Client({ name: 'federated-chromium', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: client }));
    try {
      const echoed = await mcp.callTool({ name: 'echo', arguments: { via: 'chromium' } });
      expect(JSON.stringify(echoed.content)).toContain('chromium');
    } finally {
      await mcp.close();
    }
  }, 60_000);
});

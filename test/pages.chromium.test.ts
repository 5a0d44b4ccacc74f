// The real login and consent pages in a real browser: the official SDK client registers (DCR)
// against the in-process gateway, headless Chromium (Debian's, driven by playwright-core)
// opens the authorization URL, signs in, allows, and lands on the client's loopback callback;
// the SDK then finishes the exchange and calls a tool. Fails (never skips) without Chromium.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { launchChromium, startCallbackServer, type CallbackServer, type HeadlessChromium } from './helpers/chromium.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { TestClient } from './helpers/oauth.js';

const PASSWORD = 'a long enough passphrase';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let gw: Awaited<ReturnType<typeof startTestGateway>> | undefined;
let callback: CallbackServer | undefined;
let browser: HeadlessChromium | undefined;

beforeAll(async () => {
  gw = await startTestGateway({
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio() },
  });
  callback = await startCallbackServer();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await callback?.close();
  await gw?.close();
});

/** Waits for the next top-level document from the gateway whose path starts with `prefix`. */
function nextDocument(page: Page, prefix: string): Promise<Response> {
  return page.waitForResponse(
    (r) => r.request().resourceType() === 'document' && r.status() === 200 && new URL(r.url()).pathname.startsWith(prefix),
    { timeout: 10_000 },
  );
}

/** What every interaction page must carry: the CSP against framing and a mobile viewport. */
async function expectHardenedPage(page: Page, res: Response): Promise<void> {
  const csp = (await res.allHeaders())['content-security-policy'];
  expect(csp, 'Content-Security-Policy header').toBeDefined();
  expect(csp).toContain("frame-ancestors 'none'");
  expect(await page.locator('meta[name="viewport"]').getAttribute('content')).toContain('width=device-width');
}

async function screenshot(page: Page, path: string): Promise<void> {
  await page.screenshot({ path, fullPage: true });
  expect(readFileSync(path).subarray(0, 8).equals(PNG_SIGNATURE), `${path} is a PNG`).toBe(true);
}

describe('login and consent pages in headless Chromium', () => {
  it('signs in, consents and returns to the loopback callback; the SDK then calls a tool', async () => {
    const { base } = gw!;
    const cb = callback!;
    browser = await launchChromium();
    const shots = mkdtempSync(join(tmpdir(), 'gh-pages-shots-'));

    // 1. The SDK meets a 401, discovers the AS, registers (DCR) and asks to redirect.
    const provider = new TestClient(cb.url);
    const endpoint = new URL(`${base}/raw/mcp`);
    await expect(new Client({ name: 'chromium-e2e', version: '1' }).connect(new StreamableHTTPClientTransport(endpoint, { authProvider: provider }))).rejects.toThrow();
    expect(provider.info?.client_id).toBeTruthy();
    const authorizationUrl = provider.authorizationUrl;
    expect(authorizationUrl?.href.startsWith(base)).toBe(true);

    // 2. The login page, reached through the authorization endpoint's redirects.
    const page = await browser.context.newPage();
    // What the browser itself refuses (a CSP violation, a blocked redirect) shows only here.
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    page.on('requestfailed', (r) => refused.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText ?? 'failed'}`));
    const login = await page.goto(authorizationUrl!.href, { waitUntil: 'load', timeout: 10_000 });
    expect(login?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toMatch(/^\/login\//);
    await expectHardenedPage(page, login!);
    await screenshot(page, join(shots, 'login.png'));
    await page.fill('input[name=username]', 'alice');
    await page.fill('input[name=password]', PASSWORD);
    const consentLoaded = nextDocument(page, '/consent/');
    await page.click('button[type=submit]');

    // 3. The consent page names the client and where its answer goes.
    const consent = await consentLoaded;
    await page.waitForURL((u) => u.pathname.startsWith('/consent/'), { timeout: 10_000 });
    await expectHardenedPage(page, consent);
    const text = await page.locator('body').innerText();
    expect(text).toContain('Test <Client>'); // the client_name, shown as text, not markup
    expect(text).toContain(new URL(cb.url).host);
    await screenshot(page, join(shots, 'consent.png'));
    await page.click('button[name=decision][value=allow]');

    // 4. The browser lands on the client's loopback callback with a code and the issuer.
    await page.waitForURL((u) => u.href.startsWith(cb.url), { timeout: 5_000 }).catch((err: unknown) => {
      throw new Error(`the browser did not reach the client's callback ${cb.url}; it stayed at ${page.url()}. Chromium reported: ${refused.join(' | ') || 'nothing'}`, { cause: err });
    });
    const query = await cb.received;
    expect(query.get('error')).toBeNull();
    const code = query.get('code');
    expect(code).toBeTruthy();
    const { issuer } = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as { issuer: string };
    expect(query.get('iss')).toBe(issuer); // RFC 9207
    const iss = query.get('iss');
    await page.close();

    // 5. The SDK exchanges the code and calls a tool through the gateway.
    await new StreamableHTTPClientTransport(endpoint, { authProvider: provider }).finishAuth(code!, iss ?? undefined);
    expect(provider.tokens()?.token_type).toBe('Bearer');
    const client = new Client({ name: 'chromium-e2e', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: provider }));
    try {
      const echoed = await client.callTool({ name: 'echo', arguments: { hello: 'chromium' } });
      expect(JSON.stringify(echoed.content)).toContain('chromium');
    } finally {
      await client.close();
    }
    console.log(`login and consent screenshots: ${shots}`);
  }, 30_000);
});

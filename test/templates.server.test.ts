// Ejected page templates in the running gateway: `gatehouse templates eject` writes them to
// <dataDir>/templates, where serve reads them; an edit shows on the next page without a
// restart; a broken template gives the built-in page (never a 500); values stay escaped
// whatever the template (a self-registered client chooses its own name).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auth } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { runCli } from './helpers/cli.js';
import { Browser, csrfOf, form, TestClient } from './helpers/oauth.js';

const PASSWORD = 'templates passphrase 7';
const XSS_NAME = '<img src=x onerror=alert(1)>"\'';

/** An SDK client named `XSS_NAME`, registered by DCR; returns its authorization URL. */
class HostileName extends TestClient {
  override get clientMetadata() {
    return { ...super.clientMetadata, client_name: XSS_NAME };
  }
}

let root: string;
let dataDir: string;
let templates: string;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'gh-templates-server-'));
  dataDir = join(root, 'data');
  templates = join(dataDir, 'templates');
  gw = await startTestGateway({
    store: 'memory',
    dataDir,
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A fresh authorization request: the login page, as a browser gets it. */
async function loginPage(client: TestClient = new TestClient()): Promise<{ browser: Browser; url: string; status: number; body: string; csp: string | null }> {
  expect(await auth(client, { serverUrl: `${gw.base}/raw/mcp` })).toBe('REDIRECT');
  const browser = new Browser();
  const step = await browser.follow(client.authorizationUrl!.href, gw.base);
  expect(new URL(step.url).pathname).toMatch(/^\/login\//);
  return { browser, url: step.url, status: step.res.status, body: await step.res.text(), csp: step.res.headers.get('content-security-policy') };
}

describe('ejected templates in the running gateway', () => {
  let builtin: string;

  it('serves the built-in pages before anything is ejected', async () => {
    const page = await loginPage();
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>Sign in to Gatehouse</h1>');
    builtin = page.body;
  });

  it('serves ejected templates from <dataDir>/templates, and an edit from the next page on', async () => {
    const run = await runCli(['templates', 'eject', '--data-dir', dataDir], { cwd: root });
    expect(run.status, run.stderr).toBe(0);
    // Ejected as they are: the same page.
    const same = await loginPage();
    expect(same.body.replace(/value="[^"]*"/g, '')).toBe(builtin.replace(/value="[^"]*"/g, ''));

    const file = join(templates, 'login.html');
    writeFileSync(file, readFileSync(file, 'utf8').replace('<h1>Sign in to Gatehouse</h1>', '<h1 class="acme">Sign in to ACME tools</h1>'));
    const edited = await loginPage();
    expect(edited.body).toContain('<h1 class="acme">Sign in to ACME tools</h1>');
    // The pages' security headers do not depend on the template.
    expect(edited.csp).toContain("frame-ancestors 'none'");

    // The edited page still signs people in (its form and CSRF field are the template's).
    const posted = await edited.browser.request(edited.url, form({ csrf: csrfOf(edited.body), username: 'alice', password: PASSWORD }));
    expect(posted.status).toBe(303);
    expect(new URL(posted.headers.get('location')!, gw.base).pathname).toMatch(/^\/oauth\/authorize\//);
  });

  it('escapes values in an ejected template: a client name cannot inject markup', async () => {
    writeFileSync(join(templates, 'login.html'), '<h1>Custom</h1><p id="client">{{clientName}}</p><p title="{{clientName}}">x</p><input name="csrf" value="{{csrf}}">');
    const page = await loginPage(new HostileName());
    expect(page.body).toContain('<p id="client">&lt;img src=x onerror=alert(1)&gt;&quot;&#39;</p>');
    expect(page.body).toContain('<p title="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;">x</p>');
    expect(page.body).not.toContain('<img');
  });

  it('falls back to the built-in page when the template is broken, and uses the file again once fixed', async () => {
    writeFileSync(join(templates, 'login.html'), '<h1>Broken {{#localLogin}} never closed <input name="csrf" value="{{csrf}}">');
    for (let i = 0; i < 2; i++) {
      const page = await loginPage();
      expect(page.status).toBe(200);
      expect(page.body).toContain('<h1>Sign in to Gatehouse</h1>');
      expect(page.body).not.toContain('Broken');
    }
    writeFileSync(join(templates, 'login.html'), '<h1>Fixed</h1><form method="post"><input name="csrf" value="{{csrf}}"></form>');
    expect((await loginPage()).body).toContain('<h1>Fixed</h1>');

    // A broken layout too: every page still renders, with the built-in layout.
    writeFileSync(join(templates, 'layout.html'), '<html>{{#title}}</html>');
    const page = await loginPage();
    expect(page.status).toBe(200);
    expect(page.body).toContain('<h1>Fixed</h1>');
    expect(page.body).toContain('<meta name="viewport"');
  });
});

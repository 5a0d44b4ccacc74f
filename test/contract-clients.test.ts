// CLIENTS.md, held against a real gateway:
// - "Stale client ids: clients replay a client_id for ever after an AS forgets it ... answer
//   `invalid_client` clearly so that good clients re-register": at /oauth/authorize (an error
//   page, never a 500 and never a redirect to the client's URI) and at /oauth/token.
// - VS Code registers (DCR) `https://insiders.vscode.dev/redirect` besides
//   `https://vscode.dev/redirect` and loopback: the default redirect presets accept them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { authorizeUrl, codeFlowTokens, pkcePair, registerClient } from './helpers/contract.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { Browser, TEST_REDIRECT, tokenRequest } from './helpers/oauth.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const PASSWORD = 'contract clients password, long enough';

function doc(port = 0): Record<string, unknown> {
  return {
    listen: `127.0.0.1:${port}`,
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { raw: rawStdio() },
  };
}

/** What /oauth/authorize answers for `clientId`, without following any redirect. */
async function authorizeAnswer(base: string, clientId: string): Promise<{ status: number; location: string | null; body: string }> {
  const res = await fetch(authorizeUrl(base, clientId, `${base}/raw/mcp`, pkcePair().challenge), { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}

describe('a stale DCR client_id (the gateway restarted with store: memory)', () => {
  let gw: Gateway;
  let stale: { clientId: string; refreshToken: string };

  beforeAll(async () => {
    gw = await startTestGateway(doc());
    // A client registers and gets tokens; then the gateway restarts on the same address and forgets it.
    const issued = await codeFlowTokens(gw.base, '/raw/mcp', 'alice', PASSWORD);
    if (issued.status !== 200) throw new Error(`code flow failed: ${JSON.stringify(issued.json)}`);
    stale = { clientId: issued.clientId, refreshToken: issued.json.refresh_token as string };
    const port = gw.port;
    await gw.close();
    gw = await startTestGateway(doc(port));
  }, 60_000);
  afterAll(() => gw?.close());

  it('/oauth/authorize answers invalid_client itself: no 500, no redirect to the client', async () => {
    const answer = await authorizeAnswer(gw.base, stale.clientId);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    // Not sent back to the (unverifiable) redirect URI, nor on to the login page.
    if (answer.location !== null) {
      expect(answer.location.startsWith(TEST_REDIRECT)).toBe(false);
      expect(new URL(answer.location, gw.base).origin).toBe(gw.base);
    }
    const page = answer.location === null ? answer.body : await (await new Browser().follow(new URL(answer.location, gw.base).href, gw.base)).res.text();
    expect(page).toContain('invalid_client');
  });

  it('/oauth/token answers invalid_client to the code and the refresh grants', async () => {
    const code = await tokenRequest(gw.base, {
      grant_type: 'authorization_code',
      code: 'a-code-from-before-the-restart',
      redirect_uri: TEST_REDIRECT,
      code_verifier: pkcePair().verifier,
      client_id: stale.clientId,
    });
    expect([400, 401]).toContain(code.status);
    expect(code.json.error).toBe('invalid_client');

    const refresh = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: stale.refreshToken, client_id: stale.clientId });
    expect([400, 401]).toContain(refresh.status);
    expect(refresh.json.error).toBe('invalid_client');
  });

  it('the same client can register again and sign in (what a good client does next)', async () => {
    const again = await codeFlowTokens(gw.base, '/raw/mcp', 'alice', PASSWORD);
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(again.clientId).not.toBe(stale.clientId);
  });
});

describe('VS Code redirect URIs under the default presets', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway(doc());
  }, 60_000);
  afterAll(() => gw?.close());

  it('registers https://insiders.vscode.dev/redirect (with VS Code\u2019s other URIs) and authorizes with it', async () => {
    const uris = ['https://vscode.dev/redirect', 'https://insiders.vscode.dev/redirect', 'http://127.0.0.1/', 'http://127.0.0.1:33418/'];
    const reg = await registerClient(gw.base, { client_name: 'Visual Studio Code - Insiders', redirect_uris: uris });
    expect(reg.status, JSON.stringify(reg.json)).toBe(201);
    expect(reg.json.redirect_uris).toEqual(expect.arrayContaining(['https://insiders.vscode.dev/redirect']));

    // The authorization endpoint takes it too: on to the login page, not an error.
    const res = await fetch(authorizeUrl(gw.base, reg.json.client_id as string, `${gw.base}/raw/mcp`, pkcePair().challenge, 'https://insiders.vscode.dev/redirect'), {
      redirect: 'manual',
    });
    await res.body?.cancel();
    expect(res.status).toBeGreaterThanOrEqual(300);
    expect(res.status).toBeLessThan(400);
    const location = new URL(res.headers.get('location')!, gw.base);
    expect(location.origin).toBe(gw.base);
    const landed = await new Browser().follow(location.href, gw.base);
    expect(new URL(landed.url).pathname).toMatch(/^\/login\//);
  });

  it('only that exact host: a look-alike is refused with invalid_redirect_uri', async () => {
    for (const uri of ['https://insiders.vscode.dev.attacker.example/redirect', 'https://attacker.example/insiders.vscode.dev/redirect']) {
      const reg = await registerClient(gw.base, { redirect_uris: [uri] });
      expect(reg.status, uri).toBe(400);
      expect(reg.json.error).toBe('invalid_redirect_uri');
    }
  });
});

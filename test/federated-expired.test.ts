// The authorization request a federated sign-in belongs to can expire while the person is at the
// provider: the callback then ends on the "expired" page, with no code and no way into the
// request. Run against the authorization server alone, whose interactions the test can reach.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationServer, type AuthorizationServer } from '../src/auth/server/index.js';
import { resolveConfig } from '../src/config/index.js';
import { silentLogger } from '../src/observability/index.js';
import { openLoginPage, pressProviderButton, returnToGateway, SiteBrowser, TestClient } from './helpers/federated-flow.js';
import { startHandBuiltIdp, type HandBuiltIdp } from './helpers/hand-built-idp.js';

let idp: HandBuiltIdp;
let as: AuthorizationServer;
let server: Server;
let base: string;

beforeAll(async () => {
  idp = await startHandBuiltIdp('127.0.0.6');
  server = createServer((req, res) => {
    if (!as.listener(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = resolveConfig(
    {
      format: 'native',
      location: undefined,
      baseDir: process.cwd(),
      doc: {
        publicUrl: base,
        auth: {
          providers: [
            { type: 'oidc', id: 'hand', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, allow: { domains: ['acme.test'] } },
            { type: 'oidc', id: 'strict', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, allow: { domains: ['elsewhere.test'] } },
          ],
        },
        servers: { a: { command: 'true' } },
      },
    },
    {},
  );
  as = await createAuthorizationServer({ config, logger: silentLogger(), resources: [{ path: '/a/mcp', server: 'a' }] });
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await idp.close();
});

/** To the provider's callback, then the authorization request is made to expire. */
async function callbackOfExpiredRequest(providerId: string): Promise<{ browser: SiteBrowser; callback: string }> {
  const client = new TestClient();
  expect(await auth(client, { serverUrl: `${base}/a/mcp` })).toBe('REDIRECT');
  const browser = new SiteBrowser();
  const login = await openLoginPage(browser, client.authorizationUrl!);
  const uid = new URL(login.url).pathname.split('/')[2]!;
  const res = await browser.request(await pressProviderButton(browser, login, providerId));
  const interaction = await as.provider.Interaction.find(uid);
  expect(interaction, 'the interaction exists before it is made to expire').toBeDefined();
  await interaction!.destroy();
  return { browser, callback: res.headers.get('location')! };
}

describe('a federated sign-in whose authorization request expired', () => {
  it('ends on the expired page, with no code', async () => {
    const { browser, callback } = await callbackOfExpiredRequest('hand');
    const outcome = await returnToGateway(browser, callback);
    expect(outcome.redirect).toBeUndefined();
    expect(outcome.page?.status).toBe(400);
    expect(outcome.page?.html).toContain('This sign-in has expired');
  });

  it('tells someone not admitted so, without a link into the gone request', async () => {
    const { browser, callback } = await callbackOfExpiredRequest('strict');
    const outcome = await returnToGateway(browser, callback);
    expect(outcome.redirect).toBeUndefined();
    expect(outcome.page?.status).toBe(403);
    expect(outcome.page?.html).toContain('Not allowed');
    expect(outcome.page?.html).not.toContain('class="button"');
  });
});

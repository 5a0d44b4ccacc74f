// `callbackPath` end to end: someone coming from a GitHub-login proxy that served its callback at
// /auth/callback (seed 004) keeps their GitHub OAuth app as it is registered. The stand-in GitHub
// redeems a code only with the redirect_uri the code was given for, as GitHub does; a second
// provider without the key keeps /oauth/callback/{id}.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerAtGitHub,
  authorizationUrlFor,
  openLoginPage,
  providerButtonRequest,
  returnToGateway,
  sharedRegistration,
  SiteBrowser,
} from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startStandInGitHub, type StandInGitHub } from './helpers/stand-in-github.js';

const CALLBACK = 'https://chatgpt.com/connector/oauth/c-callback-path';
const OCTOCAT = { id: 583231, login: 'octocat', emails: [], orgs: [], teams: [] };
const newClient = sharedRegistration(CALLBACK);

let github: StandInGitHub;
let gw: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  github = await startStandInGitHub([OCTOCAT]);
  const common = { type: 'github', clientId: github.clientId, clientSecret: github.clientSecret, baseUrl: github.url, apiUrl: github.apiUrl, allow: { users: ['octocat'] } };
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      // The loopback peer is a trusted proxy (the default): X-Forwarded-For names the client.
      allowedIps: ['127.0.0.0/8'],
      providers: [
        { ...common, callbackPath: '/auth/callback' },
        { ...common, id: 'ghe', name: 'Other GitHub' },
      ],
    },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await github?.close();
});

/** Up to the provider button: the response that sends the browser to GitHub, and where it goes. */
async function pressButton(providerId: string) {
  const client = newClient();
  const browser = new SiteBrowser();
  const login = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, client));
  const res = await providerButtonRequest(browser, login, providerId);
  expect(res.status).toBe(303);
  return { client, browser, res, atGitHub: new URL(res.headers.get('location')!, login.url).href };
}

describe('auth.providers[].callbackPath', () => {
  it('sends its redirect_uri, scopes the binding cookie to it, and finishes the sign-in there', async () => {
    const { client, browser, res, atGitHub } = await pressButton('github');
    expect(new URL(atGitHub).searchParams.get('redirect_uri')).toBe(`${gw.base}/auth/callback`);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_fed_'));
    expect(cookie).toMatch(/; Path=\/auth\/callback; HttpOnly; SameSite=Lax;/);

    const callback = await answerAtGitHub(browser, atGitHub, 'octocat');
    expect(new URL(callback).pathname).toBe('/auth/callback');
    // The SiteBrowser sends the binding cookie only under its Path: a wrong Path fails as another browser.
    const outcome = await returnToGateway(browser, callback);
    expect(outcome.consent?.html).toContain('github|583231');
    expect(outcome.redirect?.href.startsWith(CALLBACK)).toBe(true);
    const code = outcome.redirect!.searchParams.get('code')!;
    expect(code).toBeTruthy();

    const endpoint = new URL(`${gw.base}/raw/mcp`);
    await new StreamableHTTPClientTransport(endpoint, { authProvider: client }).finishAuth(code, outcome.redirect!.searchParams.get('iss') ?? undefined);
    const mcp = new Client({ name: 'callback-path', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: client }));
    try {
      const echoed = await mcp.callTool({ name: 'echo', arguments: { via: 'auth-callback' } });
      expect(JSON.stringify(echoed.content)).toContain('auth-callback');
    } finally {
      await mcp.close();
    }
  });

  it('leaves a provider without the key at /oauth/callback/{id}', async () => {
    const { browser, res, atGitHub } = await pressButton('ghe');
    expect(new URL(atGitHub).searchParams.get('redirect_uri')).toBe(`${gw.base}/oauth/callback/ghe`);
    expect(res.headers.getSetCookie().find((c) => c.startsWith('gatehouse_fed_'))).toContain('; Path=/oauth/callback/ghe;');
    const callback = await answerAtGitHub(browser, atGitHub, 'octocat');
    expect(new URL(callback).pathname).toBe('/oauth/callback/ghe');
    const outcome = await returnToGateway(browser, callback);
    expect(outcome.consent?.html).toContain('ghe|583231');
    expect(outcome.redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('does not take the callback at the default path of a provider that has its own', async () => {
    const { browser, atGitHub } = await pressButton('github');
    const callback = new URL(await answerAtGitHub(browser, atGitHub, 'octocat'));
    callback.pathname = '/oauth/callback/github';
    const res = await browser.request(callback.href);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('Unknown sign-in provider');
    // The state was not spent there: the real callback still finishes the sign-in.
    callback.pathname = '/auth/callback';
    expect((await returnToGateway(browser, callback.href)).redirect?.searchParams.get('code')).toBeTruthy();
  });

  it('puts the custom path behind the same edge checks as the authorization server', async () => {
    const refused = await fetch(`${gw.base}/auth/callback?code=x&state=y`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(refused.status).toBe(403);
    const unknownState = await fetch(`${gw.base}/auth/callback?code=x&state=y`);
    expect(unknownState.headers.get('content-type')).toContain('text/html');
    expect(await unknownState.text()).not.toContain('no route for');
    // Nothing else moved: the path is no MCP route, and other paths are not callbacks.
    expect((await fetch(`${gw.base}/auth/callbackx`)).status).toBe(404);
  });
});

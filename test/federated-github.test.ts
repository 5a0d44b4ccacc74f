// The seed case of issue 5, end to end: only listed GitHub users reach a stdio MCP server
// through the gateway, from a client registered the way ChatGPT registers (DCR with its
// per-connector callback). GitHub is a local stand-in speaking its OAuth and REST shapes, on
// its own loopback host; the gateway runs with its SQLite store so that what it keeps can be read.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import {
  answerAtGitHub,
  authorizationUrlFor,
  followLink,
  openLoginPage,
  pressProviderButton,
  returnToGateway,
  SiteBrowser,
  TestClient,
} from './helpers/federated-flow.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { startStandInGitHub, type StandInGitHub } from './helpers/stand-in-github.js';

const CHATGPT_CALLBACK = 'https://chatgpt.com/connector/oauth/c-5e3d2a';
const OCTOCAT = { id: 583231, login: 'octocat', emails: [{ email: 'octocat@github.test', verified: true, primary: true }], orgs: ['acme'], teams: [] };
const HUBOT = { id: 2, login: 'hubot', emails: [{ email: 'hubot@github.test', verified: true }], orgs: ['acme'], teams: [] };

let github: StandInGitHub;
let gw: Awaited<ReturnType<typeof startTestGateway>>;
let dataDir: string;

beforeAll(async () => {
  github = await startStandInGitHub([OCTOCAT, HUBOT]);
  dataDir = join(mkdtempSync(join(tmpdir(), 'gh-federated-')), 'data');
  gw = await startTestGateway({
    store: 'sqlite',
    dataDir,
    auth: {
      mode: 'oauth',
      providers: [{ type: 'github', clientId: github.clientId, clientSecret: github.clientSecret, baseUrl: github.url, apiUrl: github.apiUrl, allow: { users: ['OctoCat'] } }],
    },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await github?.close();
});

/** ChatGPT's way in: DCR with its connector callback, then the browser part with GitHub as `login`. */
async function signInAs(login: string) {
  const chatgpt = new TestClient(CHATGPT_CALLBACK);
  const authorizationUrl = await authorizationUrlFor(`${gw.base}/raw/mcp`, chatgpt);
  const browser = new SiteBrowser();
  const loginPage = await openLoginPage(browser, authorizationUrl);
  const atGitHub = await pressProviderButton(browser, loginPage, 'github');
  const callback = await answerAtGitHub(browser, atGitHub, login);
  const outcome = await returnToGateway(browser, callback);
  return { chatgpt, loginPage, atGitHub, callback, outcome, browser };
}

describe('GitHub sign-in (seed case: only listed GitHub users reach a stdio server)', () => {
  it('lets a listed GitHub user in: ChatGPT-style client gets a token and calls a tool on the stdio server', async () => {
    const { chatgpt, loginPage, atGitHub, callback, outcome } = await signInAs('octocat');
    expect(chatgpt.info?.client_id, 'registered by DCR').toBeTruthy();

    // The login page: a GitHub button, and no password form (there are no local users).
    expect(loginPage.html).toMatch(/<button[^>]*name="provider" value="github"[^>]*>Continue with GitHub<\/button>/);
    expect(loginPage.html).not.toContain('name="password"');

    // Off to GitHub with PKCE S256, a state, the scope for the user, our callback.
    const sent = new URL(atGitHub).searchParams;
    expect(new URL(atGitHub).origin).toBe(github.url);
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(sent.get('state')).toBeTruthy();
    // Only what the rules look at: a users rule needs neither addresses nor memberships.
    expect(sent.get('scope')).toBe('read:user');
    expect(sent.get('redirect_uri')).toBe(`${gw.base}/oauth/callback/github`);
    expect(new URL(callback).pathname).toBe('/oauth/callback/github');

    // Consent names the person by their stable identity; the client gets a code at its callback.
    expect(outcome.consent?.html).toContain('github|583231');
    expect(outcome.consent?.html).toContain('octocat');
    expect(outcome.redirect?.href.startsWith(CHATGPT_CALLBACK)).toBe(true);
    const code = outcome.redirect!.searchParams.get('code');
    expect(code).toBeTruthy();

    const endpoint = new URL(`${gw.base}/raw/mcp`);
    await new StreamableHTTPClientTransport(endpoint, { authProvider: chatgpt }).finishAuth(code!, outcome.redirect!.searchParams.get('iss') ?? undefined);
    const tokens = chatgpt.tokens();
    expect(tokens?.token_type).toBe('Bearer');
    // GitHub's token is never handed on: nothing in the client's token response is one of them.
    const handed = JSON.stringify(tokens);
    for (const t of github.issuedTokens) expect(handed).not.toContain(t);
    expect(github.issuedTokens.length).toBeGreaterThan(0);

    const client = new Client({ name: 'chatgpt-like', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(endpoint, { authProvider: chatgpt }));
    try {
      const echoed = await client.callTool({ name: 'echo', arguments: { via: 'github' } });
      expect(JSON.stringify(echoed.content)).toContain('github');
    } finally {
      await client.close();
    }
  });

  it('refuses a GitHub user who is not listed: a clear page, no code, and the client gets access_denied', async () => {
    const { outcome, browser } = await signInAs('hubot');
    expect(outcome.redirect, 'no redirect to the client with a code').toBeUndefined();
    const page = outcome.page!;
    expect(page.status).toBe(403);
    expect(page.html).toContain('Not allowed');
    expect(page.html).toContain('github|2');
    expect(page.html).not.toMatch(/at \w+ \(|node:internal|Error:/); // no stack trace
    const back = await followLink(browser, page);
    expect(back?.href.startsWith(CHATGPT_CALLBACK)).toBe(true);
    expect(back!.searchParams.get('error')).toBe('access_denied');
    expect(back!.searchParams.get('code')).toBeNull();
  });

  it('shows a clear page when the person cancels at GitHub, with a way back to the sign-in page', async () => {
    const chatgpt = new TestClient(CHATGPT_CALLBACK);
    const browser = new SiteBrowser();
    const loginPage = await openLoginPage(browser, await authorizationUrlFor(`${gw.base}/raw/mcp`, chatgpt));
    const callback = await answerAtGitHub(browser, await pressProviderButton(browser, loginPage, 'github'), 'octocat', 'cancel');
    expect(new URL(callback).searchParams.get('error')).toBe('access_denied');
    const { page } = await returnToGateway(browser, callback);
    expect(page?.status).toBe(403);
    expect(page?.html).toContain('Sign-in cancelled');
    expect(page?.html).toContain(`href="${new URL(loginPage.url).pathname}"`);
  });

  it('records the identity on the grants (gatehouse tokens list) and keeps no GitHub token on disk', async () => {
    const list = await runCli(['tokens', 'list', '--json', '--data-dir', dataDir], { cwd: dataDir });
    expect(list.status, list.stderr).toBe(0);
    const rows = JSON.parse(list.stdout) as { model: string; user: string | null }[];
    expect(rows.filter((r) => r.model === 'Grant').map((r) => r.user)).toContain('github|583231');
    expect(rows.map((r) => r.user)).not.toContain('github|2');
    const text = await runCli(['tokens', 'list', '--data-dir', dataDir], { cwd: dataDir });
    expect(text.stdout).toContain('github|583231');

    // The identity is what `tokens revoke --user` takes, too.
    const revoke = await runCli(['tokens', 'revoke', '--user', 'github|583231', '--json', '--data-dir', dataDir], { cwd: dataDir });
    expect(revoke.status, revoke.stderr).toBe(0);
    expect((JSON.parse(revoke.stdout) as { revoked: number }).revoked).toBeGreaterThan(0);

    expect(github.issuedTokens.length).toBeGreaterThan(0);
    for (const file of readdirSync(dataDir)) {
      const bytes = readFileSync(join(dataDir, file)).toString('latin1');
      for (const t of github.issuedTokens) expect(bytes.includes(t), `${file} holds a GitHub token`).toBe(false);
    }
  });
});

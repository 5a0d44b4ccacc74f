// Gatehouse under the path of its public URL (docs/decisions/0019-base-path.md): with publicUrl
// http://127.0.0.1:PORT/proxy, a real gateway serves every route under /proxy as well as at
// the root (a reverse proxy that strips the path), advertises only URLs under /proxy (SSE
// endpoint events, OpenAPI servers, OAuth metadata, login pages, cookie paths), answers the
// RFC 9728 / RFC 8414 metadata at the well-known paths with the issuer's path inserted, and
// takes /proxy/... on segment boundaries only, byte for byte, logging the path as requested.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatehouse, type GatehouseApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { hashPassword } from '../src/crypto/index.js';
import { createLogger, silentLogger } from '../src/observability/index.js';
import { connectClient } from './helpers/client.js';
import { freePort } from './helpers/free-port.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { answerAtStandInIdp, authorizationUrlFor, openLoginPage, pressProviderButton } from './helpers/federated-flow.js';
import { csrfOf, form, TestClient } from './helpers/oauth.js';
import { SiteBrowser } from './helpers/site-browser.js';
import { openSse } from './helpers/sse.js';
import { startStandInOidc, type StandInOidc } from './helpers/stand-in-oidc.js';

const TOKEN = 'base-path-token-6c2f9e1a';
const PASSWORD = 'a long enough passphrase';
const bearer = { authorization: `Bearer ${TOKEN}` };

/** A request sent as written: fetch() would resolve `..` and tidy the path before sending it. */
function raw(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const initRaw = (base: string, path: string, headers: Record<string, string> = bearer) =>
  raw(base, path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(INIT()) });

const logged: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) logged.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('static tokens, publicUrl http://127.0.0.1:PORT/proxy', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let publicUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}/proxy`;
    gw = await startTestGateway(
      {
        listen: `127.0.0.1:${port}`,
        publicUrl,
        auth: { mode: 'tokens', tokens: [TOKEN], tokenInUrl: true },
        openapi: { enabled: true },
        servers: { echo: rawStdio() },
      },
      { logger: createLogger({ level: 'debug', destination: sink }) },
    );
  }, 60_000);
  afterAll(() => gw?.close());

  it('lets the SDK client connect to /proxy/echo/mcp and call a tool, and still at the root', async () => {
    for (const url of [`${publicUrl}/echo/mcp`, `${gw.base}/echo/mcp`]) {
      const client = await connectClient(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: bearer } }));
      try {
        const { tools } = await client.listTools();
        expect(tools.map((t) => t.name)).toContain('echo');
        const echoed = await client.callTool({ name: 'echo', arguments: { said: `hi via ${url}` } });
        expect(JSON.stringify(echoed.content)).toContain(`hi via ${url}`);
      } finally {
        await client.close();
      }
    }
  });

  it('names the prefixed message URL in the legacy SSE endpoint event, and the SDK SSE client works through it', async () => {
    const sse = await openSse(`${publicUrl}/echo/sse`, bearer);
    try {
      expect(sse.status).toBe(200);
      expect(sse.endpoint).toMatch(new RegExp(`^${publicUrl}/echo/message\\?sessionId=[^&]+$`));
    } finally {
      sse.close();
    }
    // Behind a proxy that strips /proxy, the event still names the public URL.
    const stripped = await openSse(`${gw.base}/echo/sse`, bearer);
    try {
      expect(stripped.endpoint?.startsWith(`${publicUrl}/echo/message?sessionId=`)).toBe(true);
    } finally {
      stripped.close();
    }
    const client = new Client({ name: 'base-path-sse', version: '1' });
    await client.connect(new SSEClientTransport(new URL(`${publicUrl}/echo/sse?token=${TOKEN}`)));
    try {
      const echoed = await client.callTool({ name: 'echo', arguments: { said: 'over sse' } });
      expect(JSON.stringify(echoed.content)).toContain('over sse');
    } finally {
      await client.close();
    }
  });

  it('serves REST, the OpenAPI document (servers: publicUrl) and health under /proxy', async () => {
    const doc = (await (await fetch(`${publicUrl}/openapi.json`, { headers: bearer })).json()) as { servers: { url: string }[] };
    expect(doc.servers.map((s) => s.url)).toEqual([publicUrl]);
    const call = await fetch(`${publicUrl}/echo/api/tools/echo`, { method: 'POST', headers: { 'content-type': 'application/json', ...bearer }, body: '{"said":"rest"}' });
    expect(call.status).toBe(200);
    expect(JSON.stringify(await call.json())).toContain('rest');
    expect((await fetch(`${publicUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
    // Without a token, under the path as at the root.
    expect((await rawPost(`${publicUrl}/echo/mcp`, INIT())).status).toBe(401);
  });

  it('takes /proxy/ on segment boundaries, byte for byte: no spelling reaches what the root would not serve', async () => {
    // Each of these is served as the root serves the same target: none is taken as under /proxy.
    for (const path of ['/proxyX/echo/mcp', '/%70roxy/echo/mcp', '/PROXY/echo/mcp', '//proxy/echo/mcp', '/proxy%2Fecho/mcp', '/proxy/proxy/echo/mcp', '/proxy']) {
      expect((await initRaw(gw.base, path)).status, path).toBe(404);
    }
    // Under /proxy/, what follows is served as the root serves it: dot segments reach no more.
    for (const rest of ['/../echo/mcp', '/%2e%2e/echo/mcp', '/./echo/mcp', '/echo/../echo/mcp', '/../healthz', '/nothing']) {
      const under = await initRaw(gw.base, `/proxy${rest}`);
      const atRoot = await initRaw(gw.base, rest);
      expect(under.status, `/proxy${rest}`).toBe(atRoot.status);
    }
    // And a credential is still needed whichever way the route is reached.
    expect((await initRaw(gw.base, '/proxy/echo/mcp', {})).status).toBe(401);
    expect((await initRaw(gw.base, '/proxy/echo/mcp')).status).toBe(200);
  });

  it('logs each request with its path as requested, the tokens in it redacted', async () => {
    await fetch(`${publicUrl}/healthz`);
    await rawPost(`${publicUrl}/echo/mcp?token=${TOKEN}`, INIT());
    await rawPost(`${publicUrl}/echo/${TOKEN}/mcp`, INIT());
    await fetch(`${publicUrl}/openapi.json?token=${TOKEN}`);
    await fetch(`${gw.base}/echo/${TOKEN}/nothing`);
    await settle();
    const paths = logged.filter((l) => l.msg === 'request').map((l) => l.path);
    expect(paths).toContain('/proxy/healthz');
    expect(paths).toContain('/proxy/echo/mcp?token=[REDACTED]');
    expect(paths).toContain('/proxy/echo/[REDACTED]/mcp');
    expect(paths).toContain('/proxy/openapi.json?token=[REDACTED]');
    expect(paths).toContain('/echo/[REDACTED]/nothing');
    expect(JSON.stringify(logged)).not.toContain(TOKEN);
  });
});

describe('OAuth, publicUrl http://127.0.0.1:PORT/proxy', () => {
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let origin: string;
  let publicUrl: string;
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    publicUrl = `${origin}/proxy`;
    gw = await startTestGateway({
      listen: `127.0.0.1:${port}`,
      publicUrl,
      store: 'memory',
      auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } }, registration: { allowedIps: ['192.0.2.1'] } },
      servers: { echo: rawStdio() },
    });
  }, 60_000);
  afterAll(() => gw?.close());

  it('points a 401 at the RFC 9728 metadata, the well-known path inserted before the resource\u2019s', async () => {
    for (const url of [`${publicUrl}/echo/mcp`, `${gw.base}/echo/mcp`]) {
      const res = await rawPost(url, INIT());
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${origin}/.well-known/oauth-protected-resource/proxy/echo/mcp"`);
    }
    const prm = (await (await fetch(`${origin}/.well-known/oauth-protected-resource/proxy/echo/mcp`)).json()) as Record<string, unknown>;
    expect(prm.resource).toBe(`${publicUrl}/echo/mcp`);
    expect(prm.authorization_servers).toEqual([publicUrl]);
    // The resource without the path is no resource of this gateway.
    expect((await fetch(`${origin}/.well-known/oauth-protected-resource/echo/mcp`)).status).toBe(404);
  });

  it('serves the authorization server metadata at RFC 8414\u2019s path for issuer /proxy, every endpoint under it', async () => {
    const at = [
      `${origin}/.well-known/oauth-authorization-server/proxy`,
      `${origin}/.well-known/openid-configuration/proxy`,
      // OpenID Connect Discovery's own form, {issuer}/.well-known/openid-configuration, and the same for RFC 8414.
      `${publicUrl}/.well-known/openid-configuration`,
      `${publicUrl}/.well-known/oauth-authorization-server`,
    ];
    for (const url of at) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      const meta = (await res.json()) as Record<string, unknown>;
      expect(meta.issuer, url).toBe(publicUrl);
      for (const key of ['authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'jwks_uri', 'revocation_endpoint', 'introspection_endpoint']) {
        expect(String(meta[key]), `${url} ${key}`).toMatch(new RegExp(`^${publicUrl}/oauth/`));
      }
    }
    // Another issuer's path is not this one's.
    expect((await fetch(`${origin}/.well-known/oauth-authorization-server/other`)).status).toBe(404);
  });

  it('keeps its guards on the prefixed paths: registration.allowedIps, and exact spellings', async () => {
    const register = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:47123/callback'] }) };
    expect((await fetch(`${publicUrl}/oauth/register`, register)).status).toBe(403);
    // The guard compares the spelling the provider would route, so this one is refused too.
    expect((await fetch(`${publicUrl}/oauth/reGister`, register)).status).toBe(403);
  });

  it('lets the SDK client discover, sign in on pages under /proxy (cookies scoped to it) and call a tool', async () => {
    const gwNoRegistrationLimit = await startPlainOAuth();
    try {
      const { base, publicUrl: pub } = gwNoRegistrationLimit;
      const url = new URL(`${pub}/echo/mcp`);
      const provider = new TestClient();
      await expect(new Client({ name: 'base-path-oauth', version: '1' }).connect(new StreamableHTTPClientTransport(url, { authProvider: provider }))).rejects.toThrow();
      const authorize = provider.authorizationUrl!;
      expect(authorize.href.startsWith(`${pub}/oauth/authorize?`)).toBe(true);
      expect(authorize.searchParams.get('resource')).toBe(`${pub}/echo/mcp`);

      const { back, setCookies, pages, otherPage } = await signIn(base, authorize.href);
      expect(pages.map((p) => new URL(p).pathname.split('/').slice(0, 3).join('/'))).toEqual(['/proxy/login', '/proxy/consent']);
      expect(otherPage).toBe(new URL(pages[1]!).pathname);
      const paths = setCookies.map((c) => `${c.split('=', 1)[0]} ${/;\s*path=([^;]*)/i.exec(c)?.[1]}`);
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) expect(p, 'every cookie is scoped under /proxy').toMatch(/ \/proxy(?:\/|$)/);
      expect(paths).toContainEqual(expect.stringMatching(/^_session \/proxy$/));
      expect(paths).toContainEqual(expect.stringMatching(/^_interaction \/proxy\/login\/[\w-]+$/));
      expect(paths).toContainEqual(expect.stringMatching(/^_interaction_resume \/proxy\/oauth\/authorize\/[\w-]+$/));
      expect(back.searchParams.get('iss')).toBe(pub);

      const transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
      await transport.finishAuth(back.searchParams.get('code')!, back.searchParams.get('iss') ?? undefined);
      const client = new Client({ name: 'base-path-oauth', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(url, { authProvider: provider }));
      try {
        const echoed = await client.callTool({ name: 'echo', arguments: { said: 'signed in under /proxy' } });
        expect(JSON.stringify(echoed.content)).toContain('signed in under /proxy');
      } finally {
        await client.close();
      }
      // The same token opens the route where a stripping proxy sends it.
      const atRoot = await rawPost(`${base}/echo/mcp`, INIT(), { authorization: `Bearer ${provider.tokens()!.access_token}` });
      expect(atRoot.status).toBe(200);
    } finally {
      await gwNoRegistrationLimit.gw.close();
    }
  });
});

/** An OAuth gateway under /proxy that lets anyone register (the SDK client registers itself). */
async function startPlainOAuth(): Promise<{ gw: GatehouseApp; base: string; publicUrl: string }> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}/proxy`;
  const gw = await startTestGateway({
    listen: `127.0.0.1:${port}`,
    publicUrl,
    store: 'memory',
    auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } } },
    servers: { echo: rawStdio() },
  });
  return { gw, base: gw.url, publicUrl };
}

/**
 * The browser's part: the login page, then consent, following each redirect by hand; every
 * Set-Cookie and every page visited is kept. The browser sends a cookie only where its Path
 * says (SiteBrowser), so the flow gets through only if each cookie names the path it is used on.
 */
async function signIn(base: string, authorizationUrl: string): Promise<{ back: URL; setCookies: string[]; pages: string[]; otherPage: string | null }> {
  const browser = new SiteBrowser();
  const setCookies: string[] = [];
  const pages: string[] = [];
  const request = async (url: string, init?: RequestInit) => {
    const res = await browser.request(url, init);
    setCookies.push(...res.headers.getSetCookie());
    return res;
  };
  const follow = async (url: string): Promise<{ url: string; res: Response }> => {
    let current = url;
    for (let i = 0; i < 10; i++) {
      const res = await request(current);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return { url: current, res };
      current = new URL(location, current).href;
      if (!current.startsWith(base)) return { url: current, res };
    }
    throw new Error('too many redirects');
  };
  let step = await follow(authorizationUrl);
  pages.push(step.url);
  const login = await step.res.text();
  const posted = await request(step.url, form({ csrf: csrfOf(login), username: 'alice', password: PASSWORD }));
  step = await follow(new URL(posted.headers.get('location')!, step.url).href);
  pages.push(step.url);
  const consent = await step.res.text();
  // The login page of an interaction waiting for consent sends a browser that has its cookie to
  // the consent page (the cookie's path is the consent page's, so it is handed over here).
  const interactionCookies = setCookies.filter((c) => /^_interaction(?:\.sig)?=/.test(c)).slice(-2).map((c) => c.split(';', 1)[0]).join('; ');
  const otherPage = (await fetch(step.url.replace('/consent/', '/login/'), { headers: { cookie: interactionCookies }, redirect: 'manual' })).headers.get('location');
  const allowed = await request(step.url, form({ csrf: csrfOf(consent), decision: 'allow' }));
  step = await follow(new URL(allowed.headers.get('location')!, step.url).href);
  return { back: new URL(step.url), setCookies, pages, otherPage };
}

describe('a TBXark mcp-proxy file whose baseURL has a path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-base-path-tbxark-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is converted (publicUrl = baseURL) and served under the path, as mcp-proxy serves {baseURL}/{name}/sse and /mcp', async () => {
    const port = await freePort();
    const file = join(dir, 'proxy.json');
    writeFileSync(
      file,
      JSON.stringify({
        mcpProxy: { baseURL: `http://127.0.0.1:${port}/proxy/`, addr: `127.0.0.1:${port}`, name: 'MCP Proxy', version: '1.0.0', type: 'streamable-http' },
        mcpServers: { echo: rawStdio() },
      }),
    );
    const config = (await loadConfig({ location: file, cwd: dir, env: {} }))!;
    expect(config.publicUrl).toBe(`http://127.0.0.1:${port}/proxy`);
    const app = await startGatehouse({ config, logger: silentLogger() });
    try {
      const client = await connectClient(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/proxy/echo/mcp`)));
      try {
        const echoed = await client.callTool({ name: 'echo', arguments: { said: 'migrated' } });
        expect(JSON.stringify(echoed.content)).toContain('migrated');
      } finally {
        await client.close();
      }
      const sse = await openSse(`http://127.0.0.1:${port}/proxy/echo/sse`);
      try {
        expect(sse.endpoint?.startsWith(`http://127.0.0.1:${port}/proxy/echo/message?sessionId=`)).toBe(true);
      } finally {
        sse.close();
      }
    } finally {
      await app.close();
    }
  });
});

describe('at start', () => {
  it('refuses a publicUrl whose path cannot be served as written, naming it', async () => {
    await expect(startTestGateway({ publicUrl: 'https://mcp.example.test/.well-known/x', servers: { echo: rawStdio() } })).rejects.toThrow(/publicUrl https:\/\/mcp\.example\.test\/\.well-known\/x .*\.well-known/);
    await expect(startTestGateway({ publicUrl: 'https://mcp.example.test/a/../b', servers: { echo: rawStdio() } })).rejects.toThrow(/publicUrl .* path/);
  });

  it('warns when the path takes root routes away (a server of that name)', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({
      level: 'warn',
      destination: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    });
    const gw = await startTestGateway({ publicUrl: 'https://mcp.example.test/proxy', servers: { proxy: rawStdio() } }, { logger });
    try {
      const warned = lines.filter((l) => l.event === 'base_path_shadows_routes');
      expect(warned).toHaveLength(1);
      expect(warned[0]!.msg).toContain('server "proxy"');
      expect(warned[0]!.msg).toContain('/proxy/proxy/...');
      // Under the path, the server's routes are where publicUrl says: /proxy/proxy/mcp.
      expect((await initRaw(gw.base, '/proxy/proxy/mcp', {})).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});

describe('federated sign-in, publicUrl http://127.0.0.1:PORT/proxy', () => {
  const SECRET = 'stand-in-client-secret-base-path-01';
  let idp: StandInOidc;
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  let publicUrl: string;
  beforeAll(async () => {
    idp = await startStandInOidc([{ sub: 'alice-sub', claims: { preferred_username: 'alice', name: 'Alice' } }]);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}/proxy`;
    gw = await startTestGateway({
      listen: `127.0.0.1:${port}`,
      publicUrl,
      store: 'memory',
      auth: { mode: 'oauth', providers: [{ type: 'oidc', id: 'acme', issuer: idp.issuer, clientId: 'gatehouse-acme', clientSecret: SECRET, allow: { users: ['alice'] } }] },
      servers: { echo: rawStdio() },
    });
    idp.configure([{ clientId: 'gatehouse-acme', clientSecret: SECRET, redirectUri: `${publicUrl}/oauth/callback/acme` }]);
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await idp?.close();
  });

  it('sends the provider back to {publicUrl}/oauth/callback/{id}, whose binding cookie is scoped there, and on to consent under /proxy', async () => {
    const client = new TestClient();
    const browser = new SiteBrowser();
    const login = await openLoginPage(browser, await authorizationUrlFor(`${publicUrl}/echo/mcp`, client));
    expect(new URL(login.url).pathname).toMatch(/^\/proxy\/login\//);
    const pressed = await pressProviderButton(browser, login, 'acme');
    expect(new URL(pressed).searchParams.get('redirect_uri')).toBe(`${publicUrl}/oauth/callback/acme`);
    const callback = await answerAtStandInIdp(browser, pressed, 'alice-sub');
    expect(callback.startsWith(`${publicUrl}/oauth/callback/acme?`)).toBe(true);
    let step = await browser.followWithin(callback);
    expect(new URL(step.url).pathname, await step.res.clone().text()).toMatch(/^\/proxy\/consent\//);
    const allowed = await browser.request(step.url, form({ csrf: csrfOf(await step.res.text()), decision: 'allow' }));
    step = await browser.followWithin(new URL(allowed.headers.get('location')!, step.url).href);
    const back = new URL(step.url);
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(back.searchParams.get('iss')).toBe(publicUrl);
  });

  it('links a cancelled sign-in back to the login page under /proxy', async () => {
    const browser = new SiteBrowser();
    const login = await openLoginPage(browser, await authorizationUrlFor(`${publicUrl}/echo/mcp`, new TestClient()));
    const callback = await answerAtStandInIdp(browser, await pressProviderButton(browser, login, 'acme'), 'alice-sub', 'cancel');
    const page = await browser.followWithin(callback);
    const html = await page.res.text();
    expect(html).toContain('Sign-in cancelled');
    expect(/<a class="button" href="([^"]+)"/.exec(html)?.[1]).toBe(new URL(login.url).pathname);
  });
});

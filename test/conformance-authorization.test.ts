// The official MCP conformance suite's authorization-server scenarios (conformance-next,
// `authorization`) against the real gateway's authorization server: the metadata document,
// then the code grant, whose login and consent pages are filled by the test's browser.
// scripts/conformance/run-authorization.mjs runs the CLI and judges its checks.json files
// against expected-failures-authorization.yaml.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { rawStdio, startTestGateway } from './helpers/gateway.js';
import { Browser, csrfOf, form } from './helpers/oauth.js';

const runner = fileURLToPath(new URL('../scripts/conformance/run-authorization.mjs', import.meta.url));
const baseline = fileURLToPath(new URL('../scripts/conformance/expected-failures-authorization.yaml', import.meta.url));
const PASSWORD = 'conformance passphrase 42';
const CLIENT_ID = 'conformance-suite';

/** A port free right now, for the suite's callback server. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Signs in and consents on our pages, then delivers the redirect to the suite's callback server. */
async function signIn(base: string, authorizationUrl: string): Promise<URL> {
  const browser = new Browser();
  let step = await browser.follow(authorizationUrl, base);
  expect(new URL(step.url).pathname).toMatch(/^\/login\//);
  const login = await step.res.text();
  const posted = await browser.request(step.url, form({ csrf: csrfOf(login), username: 'alice', password: PASSWORD }));
  step = await browser.follow(new URL(posted.headers.get('location')!, step.url).href, base);
  expect(new URL(step.url).pathname).toMatch(/^\/consent\//);
  const consent = await step.res.text();
  const allowed = await browser.request(step.url, form({ csrf: csrfOf(consent), decision: 'allow' }));
  step = await browser.follow(new URL(allowed.headers.get('location')!, step.url).href, base);
  const back = new URL(step.url);
  // The suite's callback server answers "OK" and then judges what it received.
  expect((await fetch(back)).status).toBe(200);
  return back;
}

let gw: Awaited<ReturnType<typeof startTestGateway>>;
let port: number;

beforeAll(async () => {
  port = await freePort();
  gw = await startTestGateway({
    store: 'memory',
    auth: {
      mode: 'oauth',
      users: { alice: { passwordHash: hashPassword(PASSWORD) } },
      clients: [{ clientId: CLIENT_ID, name: 'MCP conformance suite', redirectUris: [`http://127.0.0.1:${port}/callback`] }],
    },
    servers: { raw: rawStdio() },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe('conformance: authorization server scenarios', () => {
  it('passes authorization-server-metadata-endpoint and authorization-code-grant', async () => {
    const child = spawn(
      process.execPath,
      [runner, '--url', gw.base, '--client-id', CLIENT_ID, '--resource', `${gw.base}/raw/mcp`, '--port', String(port), '--expected-failures', baseline],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    let signedIn: Promise<URL> | undefined;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
      const url = /run-authorization: authorize (\S+)/.exec(output)?.[1];
      if (url && !signedIn) {
        // A sign-in that goes wrong would leave the suite waiting 5 minutes for its callback.
        signedIn = signIn(gw.base, url);
        signedIn.catch(() => child.kill('SIGTERM'));
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0 || process.env.CONFORMANCE_VERBOSE) console.error(output.slice(-4000));
    expect(signedIn, 'the suite never printed an authorization URL').toBeDefined();
    const back = await signedIn!;
    expect(back.searchParams.get('iss')).toBe(gw.base);
    expect(output).toMatch(/run-authorization: 2 scenarios, 3 checks: 3 passed, 0 failed, 0 warnings, 0 skipped/);
    expect(code).toBe(0);
  });
});

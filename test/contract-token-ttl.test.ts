// CONTRACT: `auth.accessTokenTtl` and `auth.refreshTokenTtl`. The token response's
// `expires_in` is the configured access-token lifetime (on the code exchange and on refresh),
// and a refresh token older than its lifetime is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/crypto/index.js';
import { codeFlowTokens } from './helpers/contract.js';
import { INIT, rawPost, rawStdio, startTestGateway } from './helpers/gateway.js';
import { tokenRequest } from './helpers/oauth.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;

const PASSWORD = 'contract ttl password, long enough';

function doc(auth: Record<string, unknown>): Record<string, unknown> {
  return { store: 'memory', auth: { mode: 'oauth', users: { alice: { passwordHash: hashPassword(PASSWORD) } }, ...auth }, servers: { raw: rawStdio() } };
}

describe('accessTokenTtl', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startTestGateway(doc({ accessTokenTtl: '7m', refreshTokenTtl: '3h' }));
  }, 60_000);
  afterAll(() => gw?.close());

  it('is the expires_in of the code exchange and of every refresh; the token opens its resource', async () => {
    const issued = await codeFlowTokens(gw.base, '/raw/mcp', 'alice', PASSWORD);
    expect(issued.status, JSON.stringify(issued.json)).toBe(200);
    expect(issued.json.token_type).toBe('Bearer');
    expect(issued.json.expires_in).toBe(420);
    expect(issued.json.refresh_token).toEqual(expect.any(String));
    expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), { authorization: `Bearer ${issued.json.access_token as string}` })).status).toBe(200);

    // Well within refreshTokenTtl (3h): the refresh token works, and the new access token has the same lifetime.
    const refreshed = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: issued.json.refresh_token as string, client_id: issued.clientId });
    expect(refreshed.status, JSON.stringify(refreshed.json)).toBe(200);
    expect(refreshed.json.expires_in).toBe(420);
    expect((await rawPost(`${gw.base}/raw/mcp`, INIT(), { authorization: `Bearer ${refreshed.json.access_token as string}` })).status).toBe(200);
  });
});

describe('refreshTokenTtl', () => {
  let gw: Gateway;
  beforeAll(async () => {
    // Seconds, so that the test can wait it out.
    gw = await startTestGateway(doc({ accessTokenTtl: '90s', refreshTokenTtl: '2s' }));
  }, 60_000);
  afterAll(() => gw?.close());

  it('refuses a refresh token past its lifetime with invalid_grant', async () => {
    const issued = await codeFlowTokens(gw.base, '/raw/mcp', 'alice', PASSWORD);
    const issuedAt = Date.now();
    expect(issued.status, JSON.stringify(issued.json)).toBe(200);
    expect(issued.json.expires_in).toBe(90);
    const refreshToken = issued.json.refresh_token as string;
    expect(refreshToken).toEqual(expect.any(String));

    // Wait out the 2 s lifetime without using the token (a refresh attempt would rotate it,
    // and a reused token is refused for another reason). Polled, with no bound on how late.
    await expect.poll(() => Date.now() - issuedAt, { timeout: 15_000, interval: 250 }).toBeGreaterThan(3_000);

    const late = await tokenRequest(gw.base, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: issued.clientId });
    expect(late.status, JSON.stringify(late.json)).toBe(400);
    expect(late.json.error).toBe('invalid_grant');
    expect(late.json.access_token).toBeUndefined();
  });
});

// Helpers for the contract tests (test/contract-*.test.ts): dynamic registration and the
// authorization code flow by hand, through the routes CONTRACT.md names.
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { loginAndConsent, TEST_REDIRECT, tokenRequest } from './oauth.js';

/** POST /oauth/register (RFC 7591) of a public client; returns the status and the answer. */
export async function registerClient(
  base: string,
  metadata: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      client_name: 'contract test',
      redirect_uris: [TEST_REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The /oauth/authorize URL of a code flow with PKCE for `resource` (an absolute URL). */
export function authorizeUrl(base: string, clientId: string, resource: string, challenge: string, redirect = TEST_REDIRECT): string {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirect,
    state: 'contract-state',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'mcp',
    resource,
  });
  return `${base}/oauth/authorize?${q.toString()}`;
}

/**
 * The whole flow of a dynamically registered public client: register, authorize with PKCE,
 * sign in and consent, exchange the code. Returns the token response and the client_id.
 */
export async function codeFlowTokens(
  base: string,
  resourcePath: string,
  user: string,
  password: string,
): Promise<{ clientId: string; status: number; json: Record<string, unknown> }> {
  const reg = await registerClient(base);
  if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${JSON.stringify(reg.json)}`);
  const clientId = reg.json.client_id as string;
  const { verifier, challenge } = pkcePair();
  const back = await loginAndConsent(base, authorizeUrl(base, clientId, `${base}${resourcePath}`, challenge), user, password);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code in the redirect back: ${back.href}`);
  const exchanged = await tokenRequest(base, { grant_type: 'authorization_code', code, redirect_uri: TEST_REDIRECT, code_verifier: verifier, client_id: clientId });
  return { clientId, ...exchanged };
}

/**
 * One HTTP request on a connection of its own (no keep-alive pool), so that a test can tell
 * whether the server still accepts new connections. Resolves with the status, or the
 * connection error's code.
 */
export function freshRequest(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status?: number; error?: string; text: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: res.statusCode, error: err.code ?? err.message, text }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message, text: '' }));
    req.end(init.body);
  });
}

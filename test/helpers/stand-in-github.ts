// A local stand-in for GitHub (real GitHub is unreachable from these machines): its OAuth web
// flow (/login/oauth/authorize, /login/oauth/access_token, with PKCE S256) and the REST calls
// Gatehouse makes, under /api/v3 as on GitHub Enterprise Server. Shapes follow GitHub's docs,
// including its quirks: errors of the token endpoint come with HTTP 200, JSON only when asked.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, requestText } from './http-stub.js';

export interface GitHubUser {
  readonly id: number;
  readonly login: string;
  readonly emails: readonly { email: string; verified: boolean; primary?: boolean }[];
  readonly orgs: readonly string[];
  /** `org/slug` */
  readonly teams: readonly string[];
}

export interface StandInGitHub {
  /** The web base: configure it as the provider's `baseUrl`. */
  readonly url: string;
  /** `{url}/api/v3`, as GitHub Enterprise Server serves it. */
  readonly apiUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Every access token handed out (to prove Gatehouse keeps and forwards none). */
  readonly issuedTokens: string[];
  /** The authorization requests received (to check PKCE, scope, state). */
  readonly authorizeRequests: URLSearchParams[];
  close(): Promise<void>;
}

interface PendingCode {
  login: string;
  scopes: string[];
  redirectUri: string;
  challenge: string;
  used: boolean;
}

const sha256url = (v: string): string => createHash('sha256').update(v).digest('base64url');
const esc = (v: string): string => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startStandInGitHub(users: readonly GitHubUser[], host = '127.0.0.3'): Promise<StandInGitHub> {
  const clientId = 'Iv1.standin0000000';
  const clientSecret = randomBytes(20).toString('hex');
  const codes = new Map<string, PendingCode>();
  const tokens = new Map<string, { login: string; scopes: string[] }>();
  const issuedTokens: string[] = [];
  const authorizeRequests: URLSearchParams[] = [];
  const byLogin = new Map(users.map((u) => [u.login, u]));

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', url);
    if (u.pathname === '/login/oauth/authorize' && req.method === 'GET') {
      const q = u.searchParams;
      authorizeRequests.push(q);
      if (q.get('client_id') !== clientId) return void res.writeHead(404).end('unknown client');
      // GitHub's "Authorize application" page, reduced to who is signed in and two buttons.
      const hidden = ['redirect_uri', 'state', 'scope', 'code_challenge', 'code_challenge_method']
        .map((k) => `<input type="hidden" name="${k}" value="${esc(q.get(k) ?? '')}">`)
        .join('');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><title>Authorize</title><form method="post" action="/login/oauth/authorize">${hidden}` +
          `<label>GitHub login <input name="login"></label>` +
          `<button type="submit" name="action" value="authorize">Authorize</button>` +
          `<button type="submit" name="action" value="cancel">Cancel</button></form>`,
      );
      return;
    }
    if (u.pathname === '/login/oauth/authorize' && req.method === 'POST') {
      const f = new URLSearchParams(await requestText(req));
      const redirect = new URL(f.get('redirect_uri') ?? '');
      redirect.searchParams.set('state', f.get('state') ?? '');
      if (f.get('action') !== 'authorize') {
        redirect.searchParams.set('error', 'access_denied');
        redirect.searchParams.set('error_description', 'The user has denied your application access.');
      } else {
        const login = f.get('login') ?? '';
        if (!byLogin.has(login)) return void res.writeHead(400).end('no such user');
        const code = randomBytes(10).toString('hex');
        const scopes = (f.get('scope') ?? '').split(/[ ,]+/).filter(Boolean);
        codes.set(code, { login, scopes, redirectUri: f.get('redirect_uri') ?? '', challenge: f.get('code_challenge') ?? '', used: false });
        redirect.searchParams.set('code', code);
      }
      res.writeHead(302, { location: redirect.href }).end();
      return;
    }
    if (u.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const f = new URLSearchParams(await requestText(req));
      const json = (req.headers.accept ?? '').includes('application/json');
      const answer = (payload: Record<string, string>): void => {
        if (json) res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(payload));
        else res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end(new URLSearchParams(payload).toString());
      };
      const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
      const [id, secret] = basic ? Buffer.from(basic[1]!, 'base64').toString().split(':').map(decodeURIComponent) : [f.get('client_id'), f.get('client_secret')];
      if (id !== clientId || secret !== clientSecret) return answer({ error: 'incorrect_client_credentials' });
      const pending = codes.get(f.get('code') ?? '');
      if (!pending || pending.used || pending.redirectUri !== f.get('redirect_uri')) return answer({ error: 'bad_verification_code' });
      pending.used = true;
      if (!pending.challenge || sha256url(f.get('code_verifier') ?? '') !== pending.challenge) return answer({ error: 'bad_verification_code' });
      const token = `gho_${randomBytes(18).toString('hex')}`;
      tokens.set(token, { login: pending.login, scopes: pending.scopes });
      issuedTokens.push(token);
      return answer({ access_token: token, token_type: 'bearer', scope: pending.scopes.join(',') });
    }
    if (u.pathname.startsWith('/api/v3/') && req.method === 'GET') {
      const auth = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '');
      const grant = auth ? tokens.get(auth[1]!) : undefined;
      const user = grant ? byLogin.get(grant.login) : undefined;
      if (!user) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"message":"Bad credentials"}');
      if (!req.headers['user-agent']) return void res.writeHead(403).end('{"message":"User-Agent required"}');
      const send = (v: unknown): void => void res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(v));
      switch (u.pathname.slice('/api/v3'.length)) {
        case '/user':
          return send({ login: user.login, id: user.id, name: null, type: 'User' });
        // As on GitHub: addresses need user:email; memberships without read:org show only public
        // ones (here: none).
        case '/user/emails':
          if (!grant!.scopes.includes('user:email')) return void res.writeHead(404).end('{"message":"Not Found"}');
          return send(user.emails.map((e) => ({ primary: false, visibility: null, ...e })));
        case '/user/orgs':
          return send(grant!.scopes.includes('read:org') ? user.orgs.map((login, i) => ({ login, id: 1000 + i })) : []);
        case '/user/teams':
          if (!grant!.scopes.includes('read:org')) return send([]);
          return send(
            user.teams.map((t, i) => {
              const [org, slug] = t.split('/');
              return { id: 2000 + i, slug, name: slug, organization: { login: org, id: 1 } };
            }),
          );
        default:
          return void res.writeHead(404).end('{"message":"Not Found"}');
      }
    }
    res.writeHead(404).end();
  }

  return {
    url,
    apiUrl: `${url}/api/v3`,
    clientId,
    clientSecret,
    issuedTokens,
    authorizeRequests,
    close: () => closeServer(server),
  };
}

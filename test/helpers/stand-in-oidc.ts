// A real OpenID Provider in-process: a second oidc-provider instance on its own loopback host,
// standing in for Google and for any OIDC issuer. Its sign-in page is a one-field form (the
// login of a known person) with a Cancel button; consent is given at once.
//
// It prints nothing of oidc-provider's own: every setting the library would otherwise announce as a
// default in plain text on the console (its development adapter, TTLs, error page) is given, and
// the library is loaded the way Gatehouse loads it (oidc-provider-module.ts), which holds back the
// Node 20 runtime notice for the authorization server to log (runtime-notice.ts). Nothing here
// touches the console itself, so the gateway's provider, in the same process, is heard as before.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateServerKeys } from '../../src/auth/server/index.js';
import { createMemoryAdapter } from '../../src/auth/server/memory-adapter.js';
import { Provider } from '../../src/auth/server/oidc-provider-module.js';
import { closeServer, requestText } from './http-stub.js';

export interface StandInPerson {
  readonly sub: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface StandInClient {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
}

export interface StandInOidc {
  readonly issuer: string;
  /** Starts the provider with the clients (their callbacks are known only once the gateway listens). */
  configure(clients: readonly StandInClient[]): void;
  /** Tokens issued by the token endpoint (to prove Gatehouse keeps and forwards none). */
  readonly issuedTokens: string[];
  close(): Promise<void>;
}

const esc = (v: string): string => v.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startStandInOidc(people: readonly StandInPerson[], host = '127.0.0.2'): Promise<StandInOidc> {
  const bySub = new Map(people.map((p) => [p.sub, p]));
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => (handler ? handler(req, res) : res.writeHead(503).end('not configured')));
  await new Promise<void>((r) => server.listen(0, host, r));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const issuedTokens: string[] = [];

  const configure = (clients: readonly StandInClient[]): void => {
    const keys = generateServerKeys();
    const provider = new Provider(issuer, {
      clients: clients.map((c) => ({
        client_id: c.clientId,
        client_secret: c.clientSecret,
        redirect_uris: [c.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
      jwks: keys.jwks,
      cookies: { keys: [...keys.cookieKeys] },
      pkce: { required: () => true },
      // hd: Google's hosted-domain claim, for the google type's `domains` rule.
      claims: { openid: ['sub'], email: ['email', 'email_verified', 'hd'], profile: ['name', 'preferred_username', 'groups'] },
      findAccount: (_ctx, sub) => {
        const person = bySub.get(sub);
        return person ? { accountId: sub, claims: () => ({ sub, ...person.claims }) } : undefined;
      },
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      adapter: createMemoryAdapter(),
      ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
      renderError: (ctx, out) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><title>Stand-in IdP</title><h1>Stand-in identity provider</h1><p>${esc(String(out.error))}: ${esc(String(out.error_description ?? ''))}</p>`;
      },
    });
    provider.on('access_token.saved', (token: { jti: string }) => issuedTokens.push(token.jti));
    const callback = provider.callback();

    const interaction = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const details = await provider.interactionDetails(req, res);
      const finish = async (result: Parameters<Provider['interactionResult']>[2]): Promise<void> => {
        const to = await provider.interactionResult(req, res, result, { mergeWithLastSubmission: false });
        res.writeHead(303, { location: to }).end();
      };
      if (details.prompt.name === 'consent') {
        const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
        grant.addOIDCScope(String(details.params.scope));
        await finish({ consent: { grantId: await grant.save() } });
        return;
      }
      if (req.method === 'POST') {
        const form = new URLSearchParams(await requestText(req));
        if (form.get('action') === 'cancel') return finish({ error: 'access_denied', error_description: 'the person cancelled' });
        const login = form.get('login') ?? '';
        if (!bySub.has(login)) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('unknown person');
          return;
        }
        return finish({ login: { accountId: login } });
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
        `<!doctype html><title>Stand-in IdP</title><h1>Stand-in identity provider</h1>` +
          `<form method="post" action="/interaction/${esc(details.uid)}"><label>Login <input name="login"></label>` +
          `<button type="submit" name="action" value="login">Sign in at the IdP</button>` +
          `<button type="submit" name="action" value="cancel">Cancel</button></form>`,
      );
    };

    handler = (req, res) => {
      if ((req.url ?? '').startsWith('/interaction/')) {
        interaction(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
        return;
      }
      void callback(req, res);
    };
  };

  return {
    issuer,
    configure,
    issuedTokens,
    close: () => closeServer(server),
  };
}

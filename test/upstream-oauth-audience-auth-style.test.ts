// `servers.NAME.oauth.audience` and `.authStyle`: the gateway's own client_credentials token
// requests carry them as `gatehouse connect --audience / --auth-style` do (seed 001's
// oauth2.audience / authStyle). A real gateway in front of a real stand-in authorization server
// (test/helpers/oauth-stand-in.ts), which records every request to its token endpoint as it
// arrived: the audience parameter, and where the secret went (HTTP Basic or the form).
import { StreamableHTTPClientTransport, type Client } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ConfigError, configJsonSchema, resolveConfig } from '../src/config/index.js';
import { connectClient } from './helpers/client.js';
import { startTestGateway } from './helpers/gateway.js';
import { OAuthStandIn } from './helpers/oauth-stand-in.js';

const SECRET = `aud-secret-${Math.random().toString(36).slice(2)}`;
process.env.GATEHOUSE_TEST_AUDIENCE_SECRET = SECRET;
const AUDIENCE = 'https://api.example.com/';

let as: OAuthStandIn;
let gw: Awaited<ReturnType<typeof startTestGateway>>;
const clients: Client[] = [];

beforeAll(async () => {
  as = await new OAuthStandIn().start();
  // One client per server entry, so that each token request says which entry sent it.
  for (const id of ['body-client', 'header-client', 'plain-client', 'body-url-client']) as.addClient(id, SECRET);
  const oauth = (clientId: string, extra: Record<string, unknown> = {}) => ({ grant: 'client_credentials', clientId, clientSecret: 'env:GATEHOUSE_TEST_AUDIENCE_SECRET', scope: 'mcp', issuer: as.base, ...extra });
  gw = await startTestGateway({
    servers: {
      // Discovery: the metadata lists client_secret_basic, client_secret_post and none; body is listed, so it is used.
      body: { url: as.mcpUrl, transport: 'streamable-http', oauth: oauth('body-client', { audience: AUDIENCE, authStyle: 'body' }) },
      // No metadata (tokenUrl): authStyle alone decides.
      header: { url: as.mcpUrl, transport: 'streamable-http', oauth: oauth('header-client', { audience: AUDIENCE, authStyle: 'header', tokenUrl: `${as.base}/token` }) },
      plain: { url: as.mcpUrl, transport: 'streamable-http', oauth: oauth('plain-client') },
      // No metadata, and body: the one case where ignoring authStyle would show (the default is HTTP Basic).
      bodyurl: { url: as.mcpUrl, transport: 'streamable-http', oauth: oauth('body-url-client', { authStyle: 'body', tokenUrl: `${as.base}/token` }) },
    },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await as?.close();
});

beforeEach(() => {
  as.discovery = true;
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
});

async function whoami(server: string): Promise<string> {
  const client = await connectClient(new StreamableHTTPClientTransport(new URL(`${gw.base}/${server}/mcp`)));
  clients.push(client);
  const result = await client.callTool({ name: 'whoami', arguments: {} });
  return (result.content as { text: string }[])[0]!.text;
}

const basic = (id: string) => `Basic ${Buffer.from(`${id}:${SECRET}`).toString('base64')}`;

/** The token requests a client sent, by its id in the form or in HTTP Basic. */
function tokenRequests(clientId: string) {
  return as.requests.filter((r) => r.path === '/token' && (r.form.get('client_id') === clientId || r.authorization === basic(clientId)));
}

describe('servers.NAME.oauth audience and authStyle reach the token endpoint', () => {
  it('authStyle body: client_id and client_secret in the form (client_secret_post), no Authorization header, and the audience', async () => {
    expect(await whoami('body')).toBe('client body-client');
    const [request] = tokenRequests('body-client');
    expect(request).toBeDefined();
    expect(request!.authorization).toBeUndefined();
    expect(request!.form.get('grant_type')).toBe('client_credentials');
    expect(request!.form.get('audience')).toBe(AUDIENCE);
    expect(request!.form.get('client_id')).toBe('body-client');
    expect(request!.form.get('client_secret')).toBe(SECRET);
  });

  it('authStyle header with tokenUrl (no metadata): HTTP Basic (client_secret_basic), the secret not in the form, and the audience', async () => {
    as.discovery = false;
    expect(await whoami('header')).toBe('client header-client');
    const [request] = tokenRequests('header-client');
    expect(request).toBeDefined();
    expect(request!.authorization).toBe(basic('header-client'));
    expect(request!.form.get('audience')).toBe(AUDIENCE);
    expect(request!.form.has('client_secret')).toBe(false);
    expect(request!.form.has('client_id')).toBe(false);
  });

  it('authStyle body with tokenUrl (no metadata): the form, not HTTP Basic, which would be the default', async () => {
    as.discovery = false;
    expect(await whoami('bodyurl')).toBe('client body-url-client');
    const [request] = tokenRequests('body-url-client');
    expect(request).toBeDefined();
    expect(request!.authorization).toBeUndefined();
    expect(request!.form.get('client_secret')).toBe(SECRET);
  });

  it('without them: HTTP Basic and no audience, as before', async () => {
    expect(await whoami('plain')).toBe('client plain-client');
    const [request] = tokenRequests('plain-client');
    expect(request).toBeDefined();
    expect(request!.authorization).toBe(basic('plain-client'));
    expect(request!.form.has('audience')).toBe(false);
  });
});

describe('servers.NAME.oauth audience and authStyle in the configuration', () => {
  const server = (oauth: Record<string, unknown>) => ({ url: 'https://corp.example/mcp', oauth: { clientId: 'a', ...oauth } });
  const issuesOf = (servers: Record<string, unknown>) => {
    try {
      resolveConfig({ format: 'native', location: 'test.yaml', baseDir: process.cwd(), doc: { auth: { mode: 'none' }, servers } }, {});
    } catch (error) {
      if (error instanceof ConfigError) return [...error.issues];
      throw error;
    }
    return [];
  };

  it('is validated as connect validates --auth-style (header or body; not with a private key)', () => {
    expect(issuesOf({ query: server({ clientSecret: 's', authStyle: 'query' }), jwt: server({ privateKey: 'k', authStyle: 'header' }), empty: server({ clientSecret: 's', audience: '' }) })).toEqual(
      expect.arrayContaining([
        { path: 'servers.query.oauth.authStyle', message: 'must be header (HTTP Basic, client_secret_basic) or body (client_secret_post)' },
        { path: 'servers.jwt.oauth.authStyle', message: 'is for a client secret; privateKey signs a JWT instead' },
        expect.objectContaining({ path: 'servers.empty.oauth.audience' }),
      ]),
    );
    const ok = resolveConfig({ format: 'native', location: 'test.yaml', baseDir: process.cwd(), doc: { auth: { mode: 'none' }, servers: { a: server({ clientSecret: 's', audience: AUDIENCE, authStyle: 'body' }) } } }, {});
    expect(ok.servers[0]!.kind === 'remote' && ok.servers[0]!.oauth).toMatchObject({ audience: AUDIENCE, authStyle: 'body' });
  });

  it('is described in `gatehouse config schema`', () => {
    const text = JSON.stringify(configJsonSchema());
    expect(text).toContain('Sent as audience=VALUE on every token request');
    expect(text).toContain('How clientSecret goes to the token endpoint: header is HTTP Basic (client_secret_basic), body puts client_id and client_secret in the form (client_secret_post)');
  });
});

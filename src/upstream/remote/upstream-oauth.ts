import { readFileSync } from 'node:fs';

import type { AuthProvider, FetchLike } from '@modelcontextprotocol/client';

import { MachineSession, parsePrivateKey, staticDiscoveryState, type Tracer } from '../../auth/client/index.js';
import type { ResolvedRemoteServer } from '../../config/resolved.js';
import type { Logger } from '../../observability/index.js';
import { RemoteLinkError } from './errors.js';

/**
 * `servers.NAME.oauth` (CONTRACT.md): the gateway's own credentials for a remote upstream,
 * from the same outbound OAuth client as `gatehouse connect --grant client_credentials`.
 * A gateway has no browser, so client_credentials is the grant it can use.
 */
export function createUpstreamAuthProvider(
  server: ResolvedRemoteServer,
  options: { readonly fetchFn: FetchLike; readonly logger: Logger; readonly tracer?: Tracer | undefined },
): AuthProvider | undefined {
  const oauth = server.oauth;
  if (oauth === undefined) return undefined;
  const where = `servers.${server.name}.oauth`;
  if (oauth.grant !== 'client_credentials') {
    throw new RemoteLinkError('bad-config', `${where}.grant: a gateway upstream can only use client_credentials (no person is there to log in)`);
  }
  if (oauth.clientId === undefined) throw new RemoteLinkError('bad-config', `${where}.clientId: required for client_credentials`);
  if (oauth.clientSecret === undefined && oauth.privateKey === undefined) {
    throw new RemoteLinkError('bad-config', `${where}.clientSecret: required for client_credentials (or privateKey)`);
  }
  if (oauth.authStyle !== undefined && oauth.privateKey !== undefined) {
    throw new RemoteLinkError('bad-config', `${where}.authStyle: is for a client secret; privateKey signs a JWT instead`);
  }
  let privateKey;
  if (oauth.privateKey !== undefined) {
    try {
      privateKey = parsePrivateKey(keyText(oauth.privateKey));
    } catch (error) {
      throw new RemoteLinkError('bad-config', `${where}.privateKey: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  // With a token URL the authorization server is known: the secret goes nowhere else. With
  // `issuer`, discovery must find exactly that authorization server (RFC 8414 §3.3): the
  // MCP server's metadata cannot send the secret elsewhere. Without either, the first one its
  // metadata names (logged as a warning) is kept for the whole serve process: naming another
  // later is refused, until a restart or `issuer` is set (machine-session.ts).
  const discovery = oauth.tokenUrl === undefined ? undefined : staticDiscoveryState({ tokenUrl: oauth.tokenUrl, issuer: oauth.issuer });
  return new MachineSession({
    serverUrl: server.url,
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    // As connect's --audience and --auth-style (machine-session.ts, token-request.ts).
    audience: oauth.audience,
    authStyle: oauth.authStyle,
    privateKey,
    scope: oauth.scope,
    resource: oauth.resource,
    expectedIssuer: oauth.issuer ?? discovery?.authorizationServerMetadata?.issuer,
    expectedIssuerSetting: `servers.${server.name}.oauth.issuer`,
    discovery,
    fetchFn: options.fetchFn,
    tracer: options.tracer,
    logger: options.logger.child({ component: 'oauth' }),
  });
}

/** The key itself (PEM or JWK, e.g. from `file:key.pem`), or a path to it. */
function keyText(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('-----BEGIN') || trimmed.startsWith('{')) return trimmed;
  return readFileSync(trimmed, 'utf8');
}

import { discoverOAuthServerInfo, refreshAuthorization, registerClient, selectResourceURL, type FetchLike, type OAuthClientProvider } from '@modelcontextprotocol/client';

import type { Logger } from '../../observability/index.js';
import { DEVICE_CODE_GRANT, deviceGrantNotOffered, runDeviceAuthorization, type DeviceFlowEndpoints } from './device-flow.js';

/** The session the device login keeps its discovery, client and tokens in (an OAuthSession). */
export type DeviceLoginSession = OAuthClientProvider & Required<Pick<OAuthClientProvider, 'discoveryState' | 'saveDiscoveryState' | 'saveClientInformation'>>;

export interface DeviceLoginOptions {
  /** The MCP server (the protected resource). */
  readonly serverUrl: string;
  /** Unset: the resource metadata's `scopes_supported`. */
  readonly scope: string | undefined;
  readonly resourceMetadataUrl: URL | undefined;
  /** Skip the stored refresh token. */
  readonly force: boolean;
  readonly fetchFn: FetchLike | undefined;
  readonly clientName: string;
  readonly logger: Logger;
  /** Shows the verification URI and user code. */
  readonly notify: (line: string) => void;
  /** The client is --client-id's: its secret is the user's, held to the metadata's methods (else registered: device-flow.ts publicFallback). */
  readonly preRegistered?: boolean;
}

/**
 * RFC 8628 device authorization: the stored refresh token when there is one, else a new
 * device code for the person to approve elsewhere. The SDK's `auth()` knows only the
 * redirect flow, so discovery, registration and refresh are its exported steps, called here.
 * `refreshed`: the stored refresh token gave the tokens; `authorized`: a device code did.
 */
export async function deviceLogin(session: DeviceLoginSession, o: DeviceLoginOptions): Promise<'refreshed' | 'authorized'> {
  const fetchFn = o.fetchFn;
  let state = await session.discoveryState();
  if (!state?.authorizationServerMetadata) {
    const info = await discoverOAuthServerInfo(o.serverUrl, { resourceMetadataUrl: o.resourceMetadataUrl, fetchFn });
    state = { ...info, resourceMetadataUrl: o.resourceMetadataUrl?.href };
    await session.saveDiscoveryState(state);
  }
  const metadata = state.authorizationServerMetadata;
  if (!metadata) throw new Error(`no authorization server metadata for ${state.authorizationServerUrl}: the device flow needs its device_authorization_endpoint`);
  const issuer = metadata.issuer;
  const resource = await selectResourceURL(o.serverUrl, session, state.resourceMetadata);
  const scope = o.scope ?? state.resourceMetadata?.scopes_supported?.join(' ');

  let client = await session.clientInformation({ issuer });
  const stored = await session.tokens({ issuer });
  if (!o.force && client && stored?.refresh_token) {
    try {
      const tokens = await refreshAuthorization(state.authorizationServerUrl, {
        metadata,
        clientInformation: client,
        refreshToken: stored.refresh_token,
        resource,
        addClientAuthentication: session.addClientAuthentication,
        fetchFn,
      });
      await session.saveTokens({ ...tokens, issuer }, { issuer });
      return 'refreshed';
    } catch (error) {
      o.logger.info({ reason: error instanceof Error ? error.message : String(error) }, 'refresh failed; starting a new device authorization');
    }
  }
  // Before registering: a server without the grant would refuse (or accept) a registration
  // for it, and either way the person should hear that the grant is not offered.
  if (!(metadata as DeviceFlowEndpoints).device_authorization_endpoint) throw deviceGrantNotOffered(metadata);
  if (!client) {
    const registered = await registerClient(state.authorizationServerUrl, {
      metadata,
      clientMetadata: {
        client_name: o.clientName,
        redirect_uris: [],
        grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
        response_types: [],
        token_endpoint_auth_method: 'none',
        ...(scope ? { scope } : {}),
      },
      fetchFn,
    });
    client = { ...registered, issuer };
    await session.saveClientInformation(client, { issuer });
  }
  const tokens = await runDeviceAuthorization({
    metadata,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    // --auth-style for a --client-id client (oauth-session.ts stamps it), else what registration gave.
    authMethod: (client as { token_endpoint_auth_method?: string }).token_endpoint_auth_method,
    publicFallback: o.preRegistered !== true,
    scope,
    resource: resource?.href,
    fetchFn: fetchFn ?? fetch,
    notify: o.notify,
  });
  await session.saveTokens({ ...tokens, issuer }, { issuer });
  return 'authorized';
}

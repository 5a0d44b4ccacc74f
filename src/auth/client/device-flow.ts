import type { FetchLike, OAuthTokens } from '@modelcontextprotocol/client';

import { assertSecretMethodAccepted, clientAuthMethod, isSecureOAuthEndpoint } from './token-request.js';

/** RFC 8628 §3.4: the grant type of the token request. */
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The parts of authorization-server metadata the device flow needs (RFC 8414, RFC 8628 §4). */
export interface DeviceFlowEndpoints {
  readonly issuer: string;
  readonly token_endpoint: string;
  readonly device_authorization_endpoint?: string | undefined;
  readonly grant_types_supported?: readonly string[] | undefined;
  readonly token_endpoint_auth_methods_supported?: readonly string[] | undefined;
}

export interface DeviceFlowOptions {
  readonly metadata: DeviceFlowEndpoints;
  readonly clientId: string;
  /** A confidential client's secret: HTTP Basic or the form (RFC 6749 §2.3.1), by `authMethod` and the metadata. */
  readonly clientSecret?: string | undefined;
  /**
   * The client's `token_endpoint_auth_method`: `--auth-style`'s (token-request.ts authMethodOf)
   * for a `--client-id` client, what registration gave for a registered one. Chosen as the other
   * flows choose it (token-request.ts clientAuthMethod): used when the metadata lists it or lists
   * none; unset, client_secret_basic, else client_secret_post, as the metadata allows.
   */
  readonly authMethod?: string | undefined;
  /**
   * A client registered with the server (not --client-id): a secret the server gave it is
   * dropped, and the client goes as a public one, when the metadata lists no secret method
   * (token-request.ts SecretOptions), as the browser flow does.
   */
  readonly publicFallback?: boolean | undefined;
  readonly scope?: string | undefined;
  /** RFC 8707 resource indicator, on both requests. */
  readonly resource?: string | undefined;
  readonly fetchFn: FetchLike;
  /** Shows the person where to go and what to type (stderr). */
  readonly notify: (line: string) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The device flow ended without tokens; `code` is the OAuth error (RFC 8628 §3.5) or ours. */
export class DeviceFlowError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DeviceFlowError';
    this.code = code;
  }
}

interface DeviceAuthorizationResponse {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

/**
 * The authorization server has no device authorization endpoint: says so, and which of the
 * other grants (of those it lists, when it lists them) to use instead.
 */
export function deviceGrantNotOffered(metadata: DeviceFlowEndpoints): DeviceFlowError {
  const listed = metadata.grant_types_supported;
  const offers = (grant: string) => listed === undefined || listed.includes(grant);
  const instead = [
    ...(offers('authorization_code') ? ['--grant authorization_code (the browser login; on a machine without a browser, open the printed URL on one that has, and forward the --callback-port with ssh -L)'] : []),
    ...(offers('client_credentials') ? ['--grant client_credentials with --client-id and --client-secret (or --private-key) of a client registered for it'] : []),
  ];
  return new DeviceFlowError(
    'unsupported',
    `the authorization server ${metadata.issuer} does not offer the device authorization grant (RFC 8628): its metadata has no device_authorization_endpoint` +
      (instead.length > 0 ? `; use ${instead.join(', or ')}` : ''),
  );
}

/** RFC 8628 §3.2: default polling interval. */
const DEFAULT_INTERVAL_S = 5;
/** RFC 8628 §3.5: slow_down adds 5 seconds to the interval, for this and every later request. */
const SLOW_DOWN_S = 5;

/**
 * RFC 8628, the device authorization grant, for machines without a browser: asks for a
 * device code, tells the person the verification URI and user code, then polls the token
 * endpoint at the interval the server gave until the person approved, denied, or the code
 * expired.
 */
export async function runDeviceAuthorization(options: DeviceFlowOptions): Promise<OAuthTokens> {
  const o = withoutUnusableSecret(options);
  const endpoint = o.metadata.device_authorization_endpoint;
  if (!endpoint) throw deviceGrantNotOffered(o.metadata);
  refuseUnsafeEndpoints(o, endpoint);
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  const start = formFor(o, {});
  if (o.scope) start.body.set('scope', o.scope);
  const started = await o.fetchFn(endpoint, { method: 'POST', headers: start.headers, body: start.body });
  const device = (await readJson(started)) as Partial<DeviceAuthorizationResponse> & { error?: string };
  if (!started.ok || typeof device.device_code !== 'string' || typeof device.user_code !== 'string' || typeof device.verification_uri !== 'string') {
    throw new DeviceFlowError(device.error ?? 'invalid_response', `the device authorization request failed (HTTP ${started.status}${device.error ? `, ${device.error}` : ''})`);
  }
  const verification = httpUrl(device.verification_uri, 'verification_uri');
  const complete = device.verification_uri_complete === undefined ? undefined : httpUrl(device.verification_uri_complete, 'verification_uri_complete');
  o.notify(`gatehouse: to authorize this device, open ${verification} and enter the code ${device.user_code}`);
  if (complete) o.notify(`gatehouse: or open ${complete}`);

  const expiresAt = Date.now() + (positive(device.expires_in) ?? 600) * 1000;
  let intervalS = positive(device.interval) ?? DEFAULT_INTERVAL_S;
  for (;;) {
    await sleep(intervalS * 1000);
    if (Date.now() > expiresAt) throw new DeviceFlowError('expired_token', 'the device code expired before the authorization was approved');
    const poll = formFor(o, { grant_type: DEVICE_CODE_GRANT, device_code: device.device_code });
    const answer = await o.fetchFn(o.metadata.token_endpoint, { method: 'POST', headers: poll.headers, body: poll.body });
    const body = (await readJson(answer)) as Partial<OAuthTokens> & { error?: string };
    if (answer.ok && typeof body.access_token === 'string') {
      if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
        throw new DeviceFlowError('invalid_response', `the token endpoint issued a ${String(body.token_type)} token, not a Bearer token`);
      }
      return body as OAuthTokens;
    }
    switch (body.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        intervalS += SLOW_DOWN_S;
        continue;
      case 'expired_token':
        throw new DeviceFlowError('expired_token', 'the device code expired before the authorization was approved');
      case 'access_denied':
        throw new DeviceFlowError('access_denied', 'the authorization was denied');
      default:
        throw new DeviceFlowError(body.error ?? 'invalid_response', `the token endpoint refused the device code (HTTP ${answer.status}${body.error ? `, ${body.error}` : ''})`);
    }
  }
}

/**
 * Before anything is sent: both endpoints by the SDK's rule for token requests (token-request.ts
 * isSecureOAuthEndpoint: https, or this machine), since the secret, the device code and the
 * tokens would cross the network in clear; and a secret only to a server that accepts a secret
 * method (assertSecretMethodAccepted).
 */
function refuseUnsafeEndpoints(o: DeviceFlowOptions, deviceEndpoint: string): void {
  const endpoints: Array<[string, string]> = [
    ['device authorization endpoint', deviceEndpoint],
    ['token endpoint', o.metadata.token_endpoint],
  ];
  for (const [what, url] of endpoints) {
    if (isSecureOAuthEndpoint(url)) continue;
    throw new DeviceFlowError(
      'insecure_endpoint',
      `refusing to send ${o.clientSecret !== undefined ? 'the client secret' : 'the device code'} to the non-https ${what} ${url} of the authorization server ${o.metadata.issuer}: ` +
        'OAuth requests must use TLS (only this machine, localhost / 127.0.0.1 / ::1, may use plain http; --allow-http is for the MCP server and does not cover OAuth endpoints)',
    );
  }
  if (o.clientSecret === undefined) return;
  try {
    assertSecretMethodAccepted(o.metadata.token_endpoint_auth_methods_supported);
  } catch (error) {
    throw new DeviceFlowError('unsupported_auth_method', (error as Error).message);
  }
}

/** The options, without a registered client's secret when the server takes it by no method (publicFallback). */
function withoutUnusableSecret(o: DeviceFlowOptions): DeviceFlowOptions {
  if (!o.publicFallback || o.clientSecret === undefined) return o;
  const method = clientAuthMethod({ client_id: o.clientId, client_secret: o.clientSecret }, o.metadata.token_endpoint_auth_methods_supported, { publicFallback: true });
  return method === 'none' ? { ...o, clientSecret: undefined } : o;
}

/**
 * A form body with client authentication and the resource: the device authorization request
 * (RFC 8628 §3.1: authenticated as at the token endpoint) and every poll go the same way,
 * client_secret_basic, client_secret_post or none (client_id only), as clientAuthMethod chooses.
 */
function formFor(o: DeviceFlowOptions, fields: Record<string, string>): { headers: Record<string, string>; body: URLSearchParams } {
  const body = new URLSearchParams(fields);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const info = { client_id: o.clientId, client_secret: o.clientSecret, ...(o.authMethod === undefined ? {} : { token_endpoint_auth_method: o.authMethod }) };
  const method = clientAuthMethod(info, o.metadata.token_endpoint_auth_methods_supported);
  if (method === 'client_secret_basic' && o.clientSecret !== undefined) {
    // RFC 6749 §2.3.1: form-urlencode id and secret before Base64.
    const credentials = `${encodeURIComponent(o.clientId)}:${encodeURIComponent(o.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  } else if (method === 'client_secret_post' && o.clientSecret !== undefined) {
    body.set('client_id', o.clientId);
    body.set('client_secret', o.clientSecret);
  } else {
    body.set('client_id', o.clientId);
  }
  if (o.resource) body.set('resource', o.resource);
  return { headers, body };
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
  try {
    const value: unknown = await response.json();
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Only an http(s) URL is shown to the person as a place to go. */
function httpUrl(value: string, field: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) throw new DeviceFlowError('invalid_response', `${field} is not an http(s) URL`);
  return value;
}

function positive(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

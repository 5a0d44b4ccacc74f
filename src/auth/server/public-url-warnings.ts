// Warnings for an authorization server whose issuer is not the address clients use.
//
// Without publicUrl the issuer is `http://{listen}` (issuerFor), and it must stay fixed
// (RFC 8414 §3.3, RFC 9207): it is not worked out from each request's headers. The URLs that
// do follow a trusted proxy's X-Forwarded-* (the legacy SSE endpoint event, the OpenAPI
// servers) then name the public address while WWW-Authenticate's resource_metadata, the
// authorization server metadata and the OpenAPI authorizationUrl name the listen address:
// a client behind the proxy cannot get through discovery. These say so, and what to set.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { ResolvedConfig } from '../../config/index.js';
import { headerView, IpSet, resolveBaseUrl } from '../../http/index.js';
import type { Logger } from '../../observability/index.js';

/**
 * At start: auth.mode oauth, no publicUrl and a wildcard bind (`0.0.0.0`, `::`), which other
 * machines reach by names the gateway cannot know, while the issuer (`issuer`) names localhost
 * (issuerFor): every client elsewhere is told an address that is not the one it used. A bind to
 * one address or name (`192.168.1.5:8080`) gives the issuer `http://192.168.1.5:8080`, the
 * address clients use: nothing to say at start. A trusted proxy in front of such a bind that
 * names another host is caught per request (forwardedHostWatch).
 */
export function unreachableIssuerWarning(
  config: Pick<ResolvedConfig, 'publicUrl' | 'listen' | 'auth' | 'source'>,
  issuer: string,
): string | undefined {
  if (config.auth.mode !== 'oauth' || config.publicUrl || !isWildcardBind(config.listen.host)) return undefined;
  // PUBLIC_URL is read only when the whole setup comes from the environment (no config file).
  const how = config.source.format === 'environment' ? '(or --public-url, PUBLIC_URL)' : '(or --public-url)';
  return (
    `publicUrl is not set and listen is ${config.listen.host}:${config.listen.port}, which other machines can reach: ` +
    `the OAuth issuer and the URLs clients discover (WWW-Authenticate's resource_metadata, the authorization server metadata) are ${issuer}; ` +
    `set publicUrl ${how} to the address clients use, such as https://mcp.example.com`
  );
}

/** `0.0.0.0`, `::` (any spelling of the all-zero IPv6 address) or no host (`:8080`): every interface. */
function isWildcardBind(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1');
  return h === '' || h === '0.0.0.0' || (isIP(h) === 6 && /^[0:]+$/.test(h));
}

/**
 * Per request until it has spoken once: a request from a trusted proxy (trustProxy) naming
 * another host in X-Forwarded-Host or Forwarded `host=` than the issuer's. Undefined when
 * there is nothing to watch for (publicUrl set, or not auth.mode oauth).
 */
export function forwardedHostWatch(
  config: Pick<ResolvedConfig, 'publicUrl' | 'auth' | 'trustProxy'>,
  issuer: string,
  logger: Logger,
): ((req: IncomingMessage) => void) | undefined {
  if (config.auth.mode !== 'oauth' || config.publicUrl) return undefined;
  const trusted = new IpSet(config.trustProxy);
  const issuerOrigin = new URL(issuer).origin;
  let said = false;
  return (req) => {
    if (said) return;
    const forwarded = req.headers.forwarded;
    if (req.headers['x-forwarded-host'] === undefined && !(typeof forwarded === 'string' && /host=/i.test(forwarded))) return;
    if (!trusted.has(req.socket.remoteAddress)) return;
    // The base URL the SSE endpoint event and the OpenAPI servers are given for this request.
    const base = resolveBaseUrl(undefined, `http://${req.headers.host ?? 'localhost'}/`, headerView(req), true);
    let origin: string;
    try {
      origin = new URL(base).origin;
    } catch {
      return;
    }
    if (origin === issuerOrigin) return;
    said = true;
    logger.warn(
      { event: 'issuer_not_public', issuer, forwarded: base },
      `a request through a trusted proxy is for ${base}, but publicUrl is not set, so the OAuth issuer is ${issuer}: ` +
        "clients there are sent to it by WWW-Authenticate's resource_metadata, the authorization server metadata and the OpenAPI authorizationUrl, " +
        `so they cannot get through discovery; set publicUrl to the address clients use (this request names ${base}). Said once.`,
    );
  };
}

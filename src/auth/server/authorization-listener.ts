// The Node listener in front of oidc-provider: it answers the authorization server's paths
// (the provider's routes spelled exactly, RFC 8414 and RFC 9728 metadata, the login, consent
// and federated callback pages) and hands the provider its requests with the issuer's
// forwarding headers, a JSON token request as the form it stands for.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { Logger } from '../../observability/index.js';
import { renderErrorPage, PAGE_HEADERS } from '../../web/index.js';
import type { FederatedLogin } from './federated-login.js';
import { sendJson } from './http-util.js';
import type { createInteractionHandler } from './interactions.js';
import { isJsonContentType, jsonTokenRequest, PROVIDER_BODY_LIMIT, tokenEndpointCors } from './json-token-request.js';
import type { ProviderContextGate } from './provider-context.js';
import { OIDC_DISCOVERY, PRM_PATH, providerPaths, ROUTES } from './provider-routes.js';
import { protectedResourceMetadata, RESOURCE_SCOPE, type ResolvedResource } from './resources.js';

export interface AuthorizationListenerOptions {
  readonly issuer: string;
  readonly provider: Provider;
  /** Wraps every provider request (provider-context.ts). */
  readonly context: ProviderContextGate;
  readonly resources: readonly ResolvedResource[];
  /** Whether dynamic registration is on (`/oauth/register` exists). */
  readonly registration: boolean;
  /** The gateway's `maxBodySize`: a JSON token body is held to it too. */
  readonly maxBodySize: number;
  readonly interact: ReturnType<typeof createInteractionHandler>;
  readonly federatedLogin: FederatedLogin | undefined;
  readonly logger: Logger;
}

const AS_METADATA = '/.well-known/oauth-authorization-server';

/** Handles the authorization server's routes on raw Node req/res; false for any other path. */
export function createAuthorizationListener(options: AuthorizationListenerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { issuer, provider, context, resources, interact, federatedLogin, logger } = options;
  const issuerUrl = new URL(issuer);
  const callback = provider.callback();
  // RFC 8414 §3 (and §5 for openid-configuration): the metadata of issuer https://h/proxy is at
  // /.well-known/oauth-authorization-server/proxy, the well-known path inserted before the
  // issuer's. At /.well-known/oauth-authorization-server too: an issuer at the root has it
  // there, and `{issuer}/.well-known/...` (OIDC's appended form) arrives as that, its path taken off.
  const mount = issuerUrl.pathname.replace(/\/+$/, '');
  const metadataPaths = new Set([AS_METADATA, ...(mount ? [`${AS_METADATA}${mount}`, `${OIDC_DISCOVERY}${mount}`] : [])]);

  const toProvider = (req: IncomingMessage, res: ServerResponse): void => {
    req.headers['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1);
    req.headers['x-forwarded-host'] = issuerUrl.host;
    delete req.headers.forwarded;
    context.around(() => callback(req, res)).catch((err: unknown) => {
      logger.error({ err: (err as Error).message }, 'authorization server error');
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
  };

  // A JSON token request reaches the provider as the form it stands for (json-token-request.ts),
  // held to the provider's own body limit or the gateway's, whichever is smaller.
  const jsonBodyLimit = Math.min(PROVIDER_BODY_LIMIT, options.maxBodySize);
  const fromJson = (req: IncomingMessage, res: ServerResponse): void => {
    jsonTokenRequest(req, jsonBodyLimit).then(
      (read) => {
        if (read.ok) {
          toProvider(read.request, res);
          return;
        }
        // RFC 6749 §5.2, with §5.1's no-store like every token endpoint answer, and the CORS
        // headers the provider gives a body it cannot read, so a browser page can read this one too.
        sendJson(res, 400, { error: 'invalid_request', error_description: read.description }, {
          ...tokenEndpointCors(req.headers.origin),
          'cache-control': 'no-store',
          ...(read.close ? { connection: 'close' } : {}),
        });
      },
      (err: unknown) => {
        // The client went away while sending: nobody is left to answer.
        logger.debug({ err: (err as Error).message }, 'token request body not read');
        res.destroy();
      },
    );
  };

  const metadataFor = (path: string): ResolvedResource | undefined => {
    if (path === '' || path === '/') return resources.find((r) => r.server === undefined && r.path === '/mcp') ?? resources[0];
    return resources.find((r) => new URL(r.url).pathname === path);
  };

  const serveResourceMetadata = (req: IncomingMessage, res: ServerResponse, rest: string): void => {
    const cors = { 'access-control-allow-origin': '*', 'cache-control': 'max-age=300' };
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'access-control-allow-methods': 'GET', 'access-control-allow-headers': 'mcp-protocol-version' });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET' });
      return;
    }
    const resource = metadataFor(rest);
    if (!resource) {
      sendJson(res, 404, { error: 'not_found', error_description: 'no protected resource at this path' }, cors);
      return;
    }
    sendJson(res, 200, protectedResourceMetadata(resource, issuer), cors);
  };

  const isProviderPath = providerPaths(options.registration);
  const listener = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? '' : url.slice(q);
    if (federatedLogin?.handles(path)) {
      federatedLogin.callback(req, res).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'federated sign-in failed');
        if (!res.headersSent) {
          res.writeHead(500, PAGE_HEADERS);
          res.end(renderErrorPage({ title: 'Something went wrong', message: 'Go back to your app and try again.' }));
        }
      });
      return true;
    }
    if (path.startsWith('/oauth/') || path === OIDC_DISCOVERY) {
      if (!isProviderPath(path)) {
        sendJson(res, 404, { error: 'not_found', error_description: 'no such endpoint (the authorization server\'s paths are case-sensitive, without a trailing slash)' });
        return true;
      }
      if (path === ROUTES.authorization && req.method === 'GET') req.url = withDefaultScope(path, query);
      if (path === ROUTES.token && req.method === 'POST' && isJsonContentType(req.headers['content-type'])) {
        fromJson(req, res);
        return true;
      }
      toProvider(req, res);
      return true;
    }
    if (metadataPaths.has(path)) {
      // RFC 8414 metadata: the same document as OIDC discovery.
      req.url = `${OIDC_DISCOVERY}${query}`;
      toProvider(req, res);
      return true;
    }
    if (path === PRM_PATH || path.startsWith(`${PRM_PATH}/`)) {
      serveResourceMetadata(req, res, path.slice(PRM_PATH.length));
      return true;
    }
    const page = /^\/(login|consent)(?:\/([A-Za-z0-9_-]{1,64}))?\/?$/.exec(path);
    if (page) {
      const kind = page[1] as 'login' | 'consent';
      const uid = page[2];
      if (!uid) {
        res.writeHead(400, PAGE_HEADERS);
        res.end(renderErrorPage({ title: 'Nothing to do here', message: 'Sign-in starts from your app: connect it to this server and it will bring you here.' }));
        return true;
      }
      interact(req, res, kind, uid).catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'interaction failed');
        if (!res.headersSent) {
          res.writeHead(500, PAGE_HEADERS);
          res.end(renderErrorPage({ title: 'Something went wrong', message: 'Go back to your app and try again.' }));
        }
      });
      return true;
    }
    return false;
  };
  return listener;
}

/**
 * Most MCP clients send no scope; the resource's scope is what they need (and what consent shows).
 * An empty `scope=` counts as none: ChatGPT Actions send that when the Scope field is left blank.
 */
function withDefaultScope(path: string, query: string): string {
  const params = new URLSearchParams(query);
  if ((params.get('scope') ?? '').trim() !== '' || params.has('request_uri') || params.has('request')) return `${path}${query}`;
  params.set('scope', RESOURCE_SCOPE);
  return `${path}?${params.toString()}`;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedConfig } from '../config/index.js';
import { problemBody, type Edge } from './edge.js';
import { IpSet } from './ip.js';

const AUTH_PATH = /^\/(?:oauth\/|\.well-known\/|login(?:\/|$)|consent(?:\/|$))/;
const API_PATH = /^\/(?:oauth\/|\.well-known\/)/;

/**
 * Puts the edge checks (IP allowlist, DNS-rebinding guard) and `registration.allowedIps`
 * in front of the authorization server's own listener, which runs on raw Node req/res.
 */
export function guardAuthRoutes(
  config: Pick<ResolvedConfig, 'auth'>,
  edge: Edge,
  listener: (req: IncomingMessage, res: ServerResponse) => boolean,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const registrants = config.auth.registration.allowedIps.length ? new IpSet(config.auth.registration.allowedIps) : undefined;
  const refuse = (res: ServerResponse, status: number, error: string, description: string): true => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' }).end(problemBody(error, description));
    return true;
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (!AUTH_PATH.test(path)) return false;
    const headers = { get: (n: string) => headerOf(req, n) };
    const admitted = edge(req.socket.remoteAddress, headers, { checkOrigin: !API_PATH.test(path) });
    if (!admitted.ok) return refuse(res, admitted.status, admitted.error, admitted.description);
    if (registrants && path === '/oauth/register' && req.method === 'POST' && !registrants.has(admitted.ip)) {
      return refuse(res, 403, 'access_denied', 'your address may not register clients');
    }
    return listener(req, res);
  };
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name.toLowerCase()];
  return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
}

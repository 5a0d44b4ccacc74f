// What `serve` would refuse in a document the schema accepts, checked when the config is
// resolved, so that `config check` says it too, every problem at once and at its path: a
// remote URL the URL policy refuses, a header that cannot be sent, a `tls.ca` that cannot be
// read, a pre-registered client's `resource` that the gateway does not protect.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { issuerFor } from './issuer.js';
import { remoteUrlProblem } from './remote-url.js';
import { parseListen } from './units.js';

/** What the checks read from files, for the resolved config: `tls.ca` as PEM text, by server name. */
export interface ServeFiles {
  readonly ca: ReadonlyMap<string, string>;
}

type Doc = Record<string, unknown>;

/** Checks `doc` (references resolved, schema not yet applied: each check looks only at values of the right type). */
export function checkWhatServeRefuses(
  doc: unknown,
  baseDir: string,
  issues: ConfigIssue[],
  /** How a person allows plain http for a server in the source they wrote (default: its allowHttp key). */
  howToAllowHttp?: (server: string) => string,
): ServeFiles {
  const ca = new Map<string, string>();
  const servers = isRecord(doc) && isRecord(doc.servers) ? doc.servers : {};
  for (const [name, server] of Object.entries(servers)) {
    if (!isRecord(server)) continue;
    const at = (...path: string[]) => formatPath(['servers', name, ...path]);
    if (typeof server.url === 'string' && /^https?:/i.test(server.url)) {
      // The schema says what is wrong with another scheme; this is the policy for http(s).
      const problem = remoteUrlProblem(server.url, { allowHttp: server.allowHttp === true, howToAllowHttp: howToAllowHttp?.(name) ?? `set ${at('allowHttp')}: true` });
      if (problem !== undefined) issues.push({ path: at('url'), message: problem });
    }
    if (isRecord(server.headers)) {
      for (const [header, value] of Object.entries(server.headers)) {
        if (typeof value === 'string' && !sendable(header, value)) {
          issues.push({ path: at('headers', header), message: 'not a valid HTTP header name, or its value holds characters a header cannot carry' });
        }
      }
    }
    const tls = server.tls;
    if (isRecord(tls) && typeof tls.ca === 'string') {
      const pem = readCa(tls.ca, baseDir, (message) => issues.push({ path: at('tls', 'ca'), message }));
      if (pem !== undefined) ca.set(name, pem);
    }
  }
  checkClientResources(isRecord(doc) ? doc : {}, Object.keys(servers), issues);
  return { ca };
}

function sendable(name: string, value: string): boolean {
  try {
    new Headers([[name, value]]);
    return true;
  } catch {
    return false;
  }
}

/**
 * `tls.ca`: PEM text, or a file of it (relative to the config file), read once here so that a
 * wrong path is a config problem, not every connection's. The PEM text, or undefined (blank, or a problem).
 */
function readCa(ca: string, baseDir: string, problem: (message: string) => void): string | undefined {
  if (ca.trim() === '') return undefined;
  if (ca.trimStart().startsWith('-----BEGIN')) return ca;
  const file = resolve(baseDir, ca);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problem(`cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return undefined;
  }
  const begin = text.indexOf('-----BEGIN');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    problem(`${file} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
    return undefined;
  }
  // From the first block on: text before it (a bundle's comments) is not PEM.
  return text.slice(begin);
}

/** The resources the authorization server protects, by server and surface: each server's and the aggregate (with the `/mcp/sse` alias), MCP and (with openapi) REST. app.ts hands this list to the authorization server. */
export function protectedResourceList(serverNames: readonly string[], openapiEnabled: boolean): { path: string; server?: string; surface?: 'mcp' | 'rest' }[] {
  return [
    ...serverNames.flatMap((server) => [
      { path: `/${server}/mcp`, server },
      { path: `/${server}/sse`, server },
    ]),
    { path: '/mcp' },
    { path: '/sse' },
    // `/mcp/sse` (seed 000's connector URL) is the aggregate's legacy SSE under another name
    // (http/mcp-listener.ts). RFC 9728 §3.3: the metadata's `resource` must be the URL the client
    // used, so the alias is a resource of its own, with its own metadata and audience. Unless a
    // server is named mcp: then it is that server's `/{server}/sse`, listed above.
    ...(serverNames.includes('mcp') ? [] : [{ path: '/mcp/sse' }]),
    ...(openapiEnabled ? [...serverNames.map((server) => ({ path: `/${server}/api`, server, surface: 'rest' as const })), { path: '/api', surface: 'rest' as const }] : []),
  ];
}

/** The issuer `serve` uses (issuer.ts), from the document before the schema applies its defaults. */
function issuerOf(doc: Doc): string | undefined {
  const listen = doc.listen === undefined ? { host: '127.0.0.1', port: 8080 } : typeof doc.listen === 'string' || typeof doc.listen === 'number' ? parseListen(doc.listen) : undefined;
  if (!listen) return undefined;
  return issuerFor({ publicUrl: typeof doc.publicUrl === 'string' ? doc.publicUrl : undefined, listen });
}

/**
 * `auth.clients[].resource`, and each `clientCredentialsResources` entry, must be a resource
 * the gateway protects (`serve` refuses to start otherwise): a path such as /api, or its URL
 * under the issuer. Only where the authorization
 * server runs (auth.mode oauth, the default).
 */
function checkClientResources(doc: Doc, serverNames: readonly string[], issues: ConfigIssue[]): void {
  const auth = isRecord(doc.auth) ? doc.auth : {};
  if ((auth.mode ?? 'oauth') !== 'oauth' || !Array.isArray(auth.clients)) return;
  const openapiEnabled = !(isRecord(doc.openapi) && doc.openapi.enabled === false);
  const paths = protectedResourceList(serverNames, openapiEnabled).map((r) => r.path);
  const issuer = issuerOf(doc);
  const hasPublicUrl = typeof doc.publicUrl === 'string';
  const checkOne = (resource: string, at: (string | number)[], clientId: unknown, key: string): void => {
    if (resource.startsWith('/')) {
      if (paths.includes(resource)) return;
    } else if (/^https?:\/\//.test(resource)) {
      if (issuer === undefined || paths.some((p) => `${issuer}${p}` === resource)) return;
      // Without publicUrl in the document, `serve --public-url` (or PUBLIC_URL) may set the
      // issuer, which this document cannot know: judge the URL by its path only.
      const path = pathOf(resource);
      if (!hasPublicUrl && path !== undefined && paths.includes(path)) return;
    } else {
      return; // the schema says what a resource looks like
    }
    const why = !openapiEnabled && /^(?:.*\/)?api$/.test(resource) ? '; REST paths (/api) are served only with openapi.enabled' : '';
    const under = resource.startsWith('/') ? '' : hasPublicUrl ? ` under ${issuer}` : ` under the public URL (publicUrl, --public-url; ${issuer} without one)`;
    issues.push({
      path: formatPath(at),
      message: `${typeof clientId === 'string' ? `client ${clientId}: ` : ''}${key} ${resource} is not a protected resource of this gateway; give one of ${paths.join(', ')}${under}${why}`,
    });
  };
  auth.clients.forEach((client: unknown, i) => {
    if (!isRecord(client)) return;
    if (typeof client.resource === 'string') checkOne(client.resource, ['auth', 'clients', i, 'resource'], client.clientId, 'resource');
    // clientCredentialsResources: serve refuses an unprotected one at start too (client-policy.ts).
    if (Array.isArray(client.clientCredentialsResources)) {
      client.clientCredentialsResources.forEach((r: unknown, j) => {
        if (typeof r === 'string') checkOne(r, ['auth', 'clients', i, 'clientCredentialsResources', j], client.clientId, 'clientCredentialsResources entry');
      });
    }
  });
}

/** A URL's path, exactly as written after its origin (undefined with a query or fragment, which serve never matches). */
function pathOf(url: string): string | undefined {
  const m = /^https?:\/\/[^/?#]*(\/[^?#]*)$/i.exec(url);
  return m?.[1];
}

function isRecord(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// The OpenAPI bridge's routes (docs CONTRACT.md, "HTTP routes of serve").

export type OpenApiRoute =
  /** `/openapi.json` (server undefined: every server the caller may use) and `/{name}/openapi.json`. */
  | { readonly kind: 'document'; readonly server: string | undefined }
  /** `POST /api/tools/{tool}`, `POST /api/tools/call/{tool}` (aggregate names) and `POST /{name}/api/tools/{tool}`. */
  | { readonly kind: 'call'; readonly server: string | undefined; readonly tool: string };

export function matchOpenApiRoute(pathname: string): OpenApiRoute | undefined {
  // Every request asks here first (app.ts): a path that cannot be one of ours is let go before
  // it is split and decoded. Segments spelled with percent escapes ('%61pi') are not routes.
  if (!pathname.startsWith('/') || (!pathname.endsWith('/openapi.json') && !pathname.includes('/tools/'))) return undefined;
  const parts = pathname.slice(1).split('/').map(safeDecode);
  if (parts.some((p) => p === undefined || p === '')) return undefined;
  const segments = parts as string[];
  const [first, second, third, fourth] = segments;
  switch (segments.length) {
    case 1:
      return first === 'openapi.json' ? { kind: 'document', server: undefined } : undefined;
    case 2:
      return second === 'openapi.json' ? { kind: 'document', server: first } : undefined;
    case 3:
      return first === 'api' && second === 'tools' ? { kind: 'call', server: undefined, tool: third! } : undefined;
    case 4:
      if (first === 'api' && second === 'tools' && third === 'call') return { kind: 'call', server: undefined, tool: fourth! };
      return second === 'api' && third === 'tools' ? { kind: 'call', server: first, tool: fourth! } : undefined;
    default:
      return undefined;
  }
}

/** The protected resource a route belongs to (RFC 9728 path; the token audience). */
export function resourcePathOf(server: string | undefined): string {
  return server === undefined ? '/api' : `/${encodeURIComponent(server)}/api`;
}

/** The path of a tool's operation. */
export function toolPath(server: string | undefined, exposedName: string): string {
  return `${server === undefined ? '' : `/${encodeURIComponent(server)}`}/api/tools/${encodeURIComponent(exposedName)}`;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

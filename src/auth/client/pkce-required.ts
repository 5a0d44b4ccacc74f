import type { AuthorizationServerMetadata } from '@modelcontextprotocol/client';

export class PkceNotSupportedError extends Error {
  constructor(issuer: string) {
    super(`the authorization server ${issuer} does not advertise PKCE S256 (code_challenge_methods_supported); refusing to log in (MCP authorization requires it)`);
    this.name = 'PkceNotSupportedError';
  }
}

/**
 * MCP authorization requires PKCE S256 before a person is sent to `authorizationUrl`.
 * LIBRARY-NOTES: the SDK does not refuse an AS that lists no S256. When the AS published
 * no metadata at all (2025-03-26 fallback endpoints) PKCE S256 is still sent.
 */
export function assertPkceS256(metadata: AuthorizationServerMetadata | undefined, authorizationUrl: URL): void {
  if (metadata && !(metadata.code_challenge_methods_supported ?? []).includes('S256')) {
    throw new PkceNotSupportedError(metadata.issuer);
  }
  if (authorizationUrl.searchParams.get('code_challenge_method') !== 'S256') throw new PkceNotSupportedError(metadata?.issuer ?? authorizationUrl.origin);
}

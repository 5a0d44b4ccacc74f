import type { AuthorizationServerMetadata } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';

import { assertPkceS256, PkceNotSupportedError } from './pkce-required.js';

const ISSUER = 'https://as.example';
const metadata = (methods: string[] | undefined): AuthorizationServerMetadata => ({
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/authorize`,
  token_endpoint: `${ISSUER}/token`,
  response_types_supported: ['code'],
  ...(methods === undefined ? {} : { code_challenge_methods_supported: methods }),
});
const url = (method: string | undefined) => new URL(`${ISSUER}/authorize?response_type=code${method === undefined ? '' : `&code_challenge=abc&code_challenge_method=${method}`}`);

describe('assertPkceS256', () => {
  it('lets an authorization server that lists S256 and a request that sends it through', () => {
    expect(() => assertPkceS256(metadata(['plain', 'S256']), url('S256'))).not.toThrow();
  });

  it('refuses an authorization server that lists no S256, or no methods at all, naming its issuer', () => {
    for (const methods of [['plain'], [], undefined]) {
      expect(() => assertPkceS256(metadata(methods), url('S256'))).toThrow(PkceNotSupportedError);
      expect(() => assertPkceS256(metadata(methods), url('S256'))).toThrow(ISSUER);
    }
  });

  it('without metadata (2025-03-26 fallback endpoints): the request itself must carry S256', () => {
    expect(() => assertPkceS256(undefined, url('S256'))).not.toThrow();
    for (const method of ['plain', undefined]) expect(() => assertPkceS256(undefined, url(method))).toThrow(PkceNotSupportedError);
  });
});

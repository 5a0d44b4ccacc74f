// openid-client's errors mapped onto our failure kinds. The detail stays in the logs; the
// person sees only the page of the kind.
import { AuthorizationResponseError, ClientError, ResponseBodyError } from 'openid-client';
import { FederationError } from './types.js';

/** Error codes oauth4webapi uses for a JWT whose claims, times, key or signature do not hold. */
const ID_TOKEN_CODES = new Set(['OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'OAUTH_KEY_SELECTION_FAILED']);

export function toFederationError(err: unknown, step: string): FederationError {
  if (err instanceof FederationError) return err;
  if (err instanceof AuthorizationResponseError) {
    // RFC 6749 §4.1.2.1: the provider's own error answer.
    return err.error === 'access_denied'
      ? new FederationError({ kind: 'denied_upstream' }, `${step}: the person declined at the provider`)
      : new FederationError({ kind: 'upstream_error', code: err.error }, `${step}: provider answered ${err.error}`);
  }
  if (err instanceof ResponseBodyError) {
    return new FederationError({ kind: 'bad_response' }, `${step}: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`);
  }
  // oauth4webapi's own OperationProcessingError (not re-exported by openid-client) escapes
  // openid-client's wrapping in the signature check of enableNonRepudiationChecks.
  if (err instanceof ClientError || isCodedError(err)) {
    const message = `${step}: ${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`;
    if (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT') return new FederationError({ kind: 'unreachable' }, message, { cause: err });
    if (isIdTokenProblem(err)) return new FederationError({ kind: 'bad_id_token' }, message, { cause: err });
    return new FederationError({ kind: 'bad_response' }, message, { cause: err });
  }
  // fetch() rejects with a TypeError when it cannot connect.
  if (err instanceof TypeError && /fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN/i.test(`${err.message} ${String((err.cause as Error | undefined)?.message)}`)) {
    return new FederationError({ kind: 'unreachable' }, `${step}: ${err.message}`, { cause: err });
  }
  return new FederationError({ kind: 'bad_response' }, `${step}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

function isCodedError(err: unknown): err is Error & { code?: string } {
  return err instanceof Error && err.name === 'OperationProcessingError' && typeof (err as { code?: unknown }).code === 'string';
}

function isIdTokenProblem(err: Error & { code?: string }): boolean {
  if (err.code !== undefined && ID_TOKEN_CODES.has(err.code)) return true;
  const text = `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}`;
  return /id_token|ID Token|JWT|signature/i.test(text);
}

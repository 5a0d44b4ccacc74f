// One page per failure kind: what a person reads when a federated sign-in does not finish.
// Exhaustive over FederationFailure, so a new kind cannot reach the browser without its words.
import type { FederationFailure } from './types.js';

export interface FailurePage {
  readonly status: number;
  readonly title: string;
  readonly message: string;
}

export function failurePage(failure: FederationFailure, providerName: string | undefined): FailurePage {
  const at = providerName ?? 'the identity provider';
  switch (failure.kind) {
    case 'unknown_provider':
      return { status: 404, title: 'Unknown sign-in provider', message: 'This server has no such sign-in provider. Go back to your app and connect again.' };
    case 'bad_state':
      return {
        status: 400,
        title: 'This sign-in link is not valid',
        message: 'The answer from the sign-in provider was already used, has expired, or does not belong to a sign-in started here. Go back to your app and connect again.',
      };
    case 'other_browser':
      return {
        status: 400,
        title: 'Sign-in started elsewhere',
        message: 'This sign-in was started in another browser (or its cookie was removed). Start again from your app, in this browser.',
      };
    case 'interaction_expired':
      return { status: 400, title: 'This sign-in has expired', message: 'The request from your app is no longer valid. Go back to your app and connect again.' };
    case 'denied_upstream':
      return { status: 403, title: 'Sign-in cancelled', message: `You did not allow the sign-in at ${at}.` };
    case 'upstream_error':
      return { status: 502, title: 'Sign-in failed', message: `${at} refused the sign-in (${failure.code}). Try again, or ask the administrator of this server.` };
    case 'unreachable':
      return { status: 504, title: 'Sign-in provider unreachable', message: `${at} did not answer in time. Try again in a moment.` };
    case 'bad_id_token':
      return { status: 502, title: 'Sign-in could not be verified', message: `The identity sent by ${at} failed verification, so it was not accepted. Try again, or ask the administrator of this server.` };
    case 'bad_response':
      return { status: 502, title: 'Sign-in failed', message: `${at} sent an answer that could not be used (perhaps an expired or already used code). Try again.` };
    case 'issuer_changed':
      return {
        status: 503,
        title: 'Sign-in switched off',
        message: `Sign-in through ${at} is switched off until the administrator of this server fixes its settings. Sign in another way, or ask them.`,
      };
    case 'not_allowed':
      return {
        status: 403,
        title: 'Not allowed',
        message: `You signed in at ${at} as ${failure.identity}, but this server does not admit that account. Ask its administrator to add you.`,
      };
  }
}

// Binds a callback to the browser that started the sign-in. Without it, a person lured into
// finishing someone else's upstream sign-in (a link to the provider carrying the attacker's
// state) would complete the attacker's authorization request with the victim's identity
// (RFC 9700 §4.7.1, CSRF on the redirect URI; OIDC Core §15.5.2). One cookie per pending sign-in,
// named after its state, so that two sign-ins in two tabs do not overwrite each other.
import { constantTimeEqual, randomToken, sha256 } from '../../crypto/index.js';

const PREFIX = 'gatehouse_fed_';

export interface BindingCookie {
  /** Set-Cookie value to send with the redirect to the provider. */
  readonly setCookie: string;
  /** What to keep server-side: sha256 of the cookie's value. */
  readonly binding: string;
}

function cookieName(state: string): string {
  return `${PREFIX}${sha256(`binding\n${state}`).slice(0, 16)}`;
}

export function newBindingCookie(state: string, callbackPath: string, secure: boolean, maxAgeSeconds: number): BindingCookie {
  const value = randomToken();
  // SameSite=Lax: the provider's redirect back is a top-level GET navigation, which carries it.
  const attributes = [`Path=${callbackPath}`, 'HttpOnly', 'SameSite=Lax', `Max-Age=${maxAgeSeconds}`, ...(secure ? ['Secure'] : [])];
  return { setCookie: [`${cookieName(state)}=${value}`, ...attributes].join('; '), binding: sha256(value) };
}

/** Whether the request's cookies hold the binding cookie of `state` with the value whose hash is `binding`. */
export function bindingMatches(cookieHeader: string | undefined, state: string, binding: string): boolean {
  const value = readCookie(cookieHeader, cookieName(state));
  return value !== undefined && constantTimeEqual(sha256(value), binding);
}

/** Set-Cookie that removes the binding cookie of `state`. */
export function clearBindingCookie(state: string, callbackPath: string, secure: boolean): string {
  return [`${cookieName(state)}=`, `Path=${callbackPath}`, 'HttpOnly', 'SameSite=Lax', 'Max-Age=0', ...(secure ? ['Secure'] : [])].join('; ');
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

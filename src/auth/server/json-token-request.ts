// A token request with a JSON body, as seed 000 documents (`curl -H "Content-Type: application/json"
// -d '{"grant_type":"client_credentials",...}'`). RFC 6749 §3.2 wants a form body and oidc-provider
// reads nothing else, so the listener turns a flat JSON object of strings into that form and hands
// the provider a request carrying it: every check after this (client authentication, grants,
// resources) is the provider's, exactly as for a form (docs/decisions/0016-json-token-requests.md).
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/** oidc-provider's own limit on a request body (lib/shared/selective_body.js). */
export const PROVIDER_BODY_LIMIT = 56 * 1024;

export type JsonTokenRequest =
  | { readonly ok: true; readonly request: IncomingMessage }
  /** `close`: the body was not read to its end, so the connection cannot carry another request. */
  | { readonly ok: false; readonly description: string; readonly close: boolean };

export type FormFromJson = { readonly ok: true; readonly form: string } | { readonly ok: false; readonly description: string };

/**
 * The CORS headers oidc-provider's token route puts on every answer it gives before it knows the
 * client (lib/shared/cors.js under the route's `clientWithDPoP` policy, lib/helpers/initialize_app.js):
 * the Origin as sent, `*` without one, whatever the origin; `WWW-Authenticate` exposed (DPoP and client
 * attestation are off: provider-configuration.ts); `Vary: Origin`. A form it cannot parse gets these,
 * so our refusals of a JSON body, which also come before any client is known, get the same: a browser
 * page then reads why it was refused, as it would for a form. `cors.origins` is not consulted: it
 * governs the MCP and REST routes, and the provider answers every origin here (decision 0015). The
 * provider's client-based check (a confidential client's token requests get no
 * Access-Control-Allow-Origin) needs the client, so it applies only once the request reaches it.
 */
export function tokenEndpointCors(origin: string | undefined): Record<string, string> {
  return { 'access-control-allow-origin': origin || '*', 'access-control-expose-headers': 'WWW-Authenticate', vary: 'Origin' };
}

/** `application/json` or a `+json` type (RFC 6839), whatever its parameters. */
export function isJsonContentType(value: string | undefined): boolean {
  const type = (value ?? '').split(';', 1)[0]!.trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * The form body for a JSON one: an object whose values are all strings, each member one
 * parameter. Anything else would need a rule of ours for what it means (an array for a repeated
 * parameter, a number for a string), and the provider would then check something other than
 * what the client sent: refused, with the reason.
 */
export function formFromJson(body: Buffer): FormFromJson {
  let text: string;
  let parsed: unknown;
  try {
    // RFC 8259 §8.1: JSON between systems is UTF-8.
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, description: 'the JSON body is not valid UTF-8' };
  }
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, description: 'the body is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, description: 'a JSON body must be an object of string parameters, or send a form (application/x-www-form-urlencoded)' };
  }
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      return { ok: false, description: `parameter ${JSON.stringify(name)} must be a string in a JSON body (got ${kindOf(value)})` };
    }
    // A lone surrogate (`"\ud800"`) has no UTF-8 form: the form would carry U+FFFD instead.
    if (LONE_SURROGATE.test(name) || LONE_SURROGATE.test(value)) {
      return { ok: false, description: `parameter ${JSON.stringify(name)} holds an unpaired surrogate (\\uD800-\\uDFFF), which no form can carry` };
    }
    form.append(name, value);
  }
  // JSON.parse keeps the last of two members with one name; the provider refuses a parameter
  // given twice in a form, so the JSON body gets the same refusal.
  const twice = repeatedMember(text);
  if (twice !== undefined) return { ok: false, description: `parameter ${JSON.stringify(twice)} must not be provided twice` };
  return { ok: true, form: form.toString() };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A member name that appears twice in `text`, a valid JSON object: its top-level names read in
 * order (JSON.parse keeps only the last of a repeated name, whatever the earlier value was).
 */
function repeatedMember(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // A string literal: a member name when it is the first thing after `{` or `,` at the top.
      const end = closingQuote(text, i);
      if (depth === 1 && nameNext) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (seen.has(name)) return name;
        seen.add(name);
        nameNext = false;
      }
      i = end;
    } else if (c === 123 || c === 91) {
      depth++;
      if (depth === 1) nameNext = true;
    } else if (c === 125 || c === 93) {
      depth--;
    } else if (c === 44 && depth === 1) {
      nameNext = true;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string literal opening at `start`. */
function closingQuote(text: string, start: number): number {
  for (let j = start + 1; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c === 92) j++;
    else if (c === 34) return j;
  }
  return text.length - 1;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Reads a JSON token request (at most `limit` bytes) and returns a request for the provider
 * with the same method, URL, headers and socket whose body is the equivalent form.
 */
export async function jsonTokenRequest(req: IncomingMessage, limit: number): Promise<JsonTokenRequest> {
  const tooLarge = { ok: false, description: `the request body is larger than ${limit} bytes`, close: true } as const;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return tooLarge;
  const chunks: Buffer[] = [];
  let size = 0;
  // destroyOnReturn false: leaving the loop early must not destroy the request, or no answer could be sent.
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return tooLarge;
    chunks.push(chunk);
  }
  const converted = formFromJson(Buffer.concat(chunks, size));
  if (!converted.ok) return { ok: false, description: converted.description, close: false };
  // Percent-encoding can triple a character's bytes: the provider's own limit applies to the form.
  if (Buffer.byteLength(converted.form) > limit) {
    return { ok: false, description: `the request body is larger than ${limit} bytes once written as a form`, close: false };
  }
  return { ok: true, request: requestWithForm(req, converted.form) };
}

/**
 * The request as the provider would have got it with a form body. oidc-provider (through Koa)
 * reads the method, URL, headers, HTTP version and socket of a request, and its body as a
 * stream (selective_body.js); the response stays the original one.
 */
function requestWithForm(req: IncomingMessage, form: string): IncomingMessage {
  const body = Buffer.from(form, 'utf8');
  const headers = { ...req.headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) };
  delete headers['transfer-encoding'];
  const replay = new Readable({ read() {} });
  replay.push(body);
  replay.push(null);
  return Object.assign(replay, {
    method: req.method,
    url: req.url,
    headers,
    rawHeaders: Object.entries(headers).flatMap(([name, value]) => (value === undefined ? [] : Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, value])),
    trailers: {},
    rawTrailers: [],
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
    complete: true,
    aborted: false,
  }) as unknown as IncomingMessage;
}

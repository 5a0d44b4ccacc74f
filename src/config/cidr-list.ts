import { z } from 'zod';

// An address list (auth.allowedIps, auth.registration.allowedIps) may be written in the config,
// or read from a file as it is published: `allowedIps: file:chatgpt-actions.json` takes OpenAI's
// list of ChatGPT Actions egress ranges as downloaded ({"prefixes": [{"ipv4Prefix": ...}]}, the
// shape cloud providers use too), a JSON array, or one address or CIDR per line (`#` comments).
// A `file:` entry inside a list is expanded the same way, so a list can mix both.

/** IPv4/IPv6 address with an optional prefix length; precise parsing lives in http/. */
export function isCidrLike(v: string): boolean {
  const [addr, bits, ...rest] = v.split('/');
  if (rest.length || !addr) return false;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  const max = v4 ? 32 : addr.includes(':') && /^[0-9a-fA-F:.]+$/.test(addr) ? 128 : 0;
  if (!max) return false;
  if (v4 && v4.slice(1).some((o) => Number(o) > 255)) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max);
}

export const cidr = z.string().refine(isCidrLike, 'must be an IP address or CIDR, e.g. 10.0.0.0/8 or ::1');

/** The entries of a list read from text; the text itself when it is not a list (the schema then names it). */
export function expandAddressList(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      return [text];
    }
    if (Array.isArray(parsed)) return parsed;
    const prefixes = (parsed as { prefixes?: unknown }).prefixes;
    if (!Array.isArray(prefixes)) return [text];
    return prefixes.map((p: unknown) => {
      const entry = p as { ipv4Prefix?: unknown; ipv6Prefix?: unknown } | null;
      return entry?.ipv4Prefix ?? entry?.ipv6Prefix ?? p;
    });
  }
  return trimmed
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((entry) => entry !== '');
}

/** Text that holds more than one entry, or a JSON document, rather than one address. */
const LIST_TEXT = /[\s,{[]/;

/**
 * An empty allowlist admits every address, so text (a file) that yields none is an error, not
 * an empty list: a truncated download or a file of comments must not open the gateway. An
 * empty list written in the config itself (`[]`) stays what it says.
 */
const EMPTY_TEXT = 'the address list read here holds no address (an empty list would let every address in); write [] in the config to allow all';

export const cidrList = z.preprocess((value, ctx) => {
  const expand = (text: string): unknown[] => {
    const entries = expandAddressList(text);
    if (entries.length === 0) ctx.addIssue({ code: 'custom', message: EMPTY_TEXT, input: text });
    return entries;
  };
  if (typeof value === 'string') return expand(value);
  if (Array.isArray(value)) return value.flatMap((entry: unknown) => (typeof entry === 'string' && (entry.trim() === '' || LIST_TEXT.test(entry.trim())) ? expand(entry) : [entry]));
  return value;
}, z.array(cidr));

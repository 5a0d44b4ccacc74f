import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerSettings {
  readonly level?: string;
  /** `json` (default) or `pretty` (one human line per event). */
  readonly format?: 'json' | 'pretty';
  /** Where lines go; stderr by default, because `connect` owns stdout for JSON-RPC. */
  readonly destination?: NodeJS.WritableStream;
}

// Paths whose values never reach a log line (DESIGN.md: secrets, tokens, codes, Authorization).
export const REDACTED_PATHS = [
  'authorization', '*.authorization', '*.*.authorization', 'headers.authorization', 'req.headers.authorization',
  'cookie', '*.cookie', '*.*.cookie', 'headers.cookie', 'req.headers.cookie', '*["set-cookie"]',
  'token', '*.token', 'accessToken', '*.accessToken', 'access_token', '*.access_token',
  'refreshToken', '*.refreshToken', 'refresh_token', '*.refresh_token', 'id_token', '*.id_token',
  'code', '*.code_verifier', 'code_verifier', 'clientSecret', '*.clientSecret', 'client_secret', '*.client_secret',
  'password', '*.password', 'secret', '*.secret', 'tokens', '*.tokens', 'env', '*.env',
];

const SECRET_KEYS: ReadonlySet<string> = new Set(['token', 'access_token', 'code', 'client_secret', 'refresh_token', 'state', 'key', 'api_key']);
// One `key=value` of a query (or fragment): after `?`, `&` or `#` (and after a stray second `?`,
// which a reader may take for a separator too), up to the next of them.
const PARAM = /([?&#])([^?&#=]*)=([^?&#]*)/g;

/**
 * Strips secret-looking query parameters from a URL before it is logged. A key counts by what
 * it decodes to, as a server reads it (`%74oken=` and `TOKEN=` are `token` too); the key stays
 * as written, its value becomes `[REDACTED]`.
 */
export function redactUrl(url: string): string {
  const question = url.indexOf('?');
  const hash = url.indexOf('#');
  const start = question === -1 ? hash : hash === -1 ? question : Math.min(question, hash);
  if (start === -1) return url;
  const tail = url.slice(start).replace(PARAM, (whole, separator: string, key: string) =>
    SECRET_KEYS.has(decodedKey(key).toLowerCase()) ? `${separator}${key}=[REDACTED]` : whole,
  );
  return url.slice(0, start) + tail;
}

/** A query key as URLSearchParams reads it (`+` is a space, bad `%` sequences stay as they are). */
function decodedKey(key: string): string {
  if (!key.includes('%') && !key.includes('+')) return key;
  return new URLSearchParams(`${key}=`).keys().next().value ?? key;
}

/**
 * A request path for the log when `auth.tokenInUrl` is on, whatever its status: a path token is
 * the second segment (`/{server}/{token}/mcp`), and a misspelt route (`/{server}/{token}/sse/`,
 * `/{server}/{token}`) or one refused before any route (a 413) still carries it. The second
 * non-empty segment becomes `[REDACTED]`. Under `/.well-known/{name}/` the same rule applies to
 * what follows the name instead: clients build those paths from the server's URL (RFC 9728's
 * `/.well-known/oauth-protected-resource/{server}/{token}/mcp`, RFC 8414's likewise), so the
 * token is the second segment of that suffix, and `{name}` is no token (`.well-known` is no
 * server name: config/server-name.ts). The query is left to redactUrl.
 */
export function redactPathToken(pathAndQuery: string, basePath = ''): string {
  const cut = pathAndQuery.search(/[?#]/);
  const path = cut === -1 ? pathAndQuery : pathAndQuery.slice(0, cut);
  const parts = path.split('/');
  const segments: number[] = [];
  for (let i = 0; i < parts.length; i++) if (parts[i] !== '') segments.push(i);
  const wellKnown = segments.length > 0 && isWellKnown(parts[segments[0]!]!);
  // The token's place among the non-empty segments: {server}/{token}, or .well-known/{name}/{server}/{token}.
  const at = wellKnown ? 3 : 1;
  const places = [at];
  // With publicUrl's path, the token may sit that much further on when what comes first looks
  // like that path in any case or encoding: discovery keeps it (`/.well-known/{name}/proxy/
  // {server}/{token}/mcp`), and a root request may spell it otherwise (`/PROXY/...`). Both go.
  const base = basePath.split('/').filter((b) => b !== '');
  const first = segments[at - 1];
  if (base.length > 0 && first !== undefined && looseSegment(parts[first]!) === base[0]!.toLowerCase()) places.push(at + base.length);
  for (const place of places) {
    const token = segments[place];
    if (token !== undefined) parts[token] = '[REDACTED]';
  }
  return parts.join('/') + (cut === -1 ? '' : pathAndQuery.slice(cut));
}

/** A segment decoded (when it decodes) and lower-cased, as a reader may fold it. */
function looseSegment(segment: string): string {
  try {
    return decodeURIComponent(segment).toLowerCase();
  } catch {
    return segment.toLowerCase();
  }
}

/** `.well-known` in any case or percent-encoding (a reader may fold both). */
function isWellKnown(segment: string): boolean {
  let decoded = segment;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    // A bad % sequence: compared as written.
  }
  return decoded.toLowerCase() === '.well-known';
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { name: 'gatehouse' },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  const destination = settings.destination ?? process.stderr;
  if (settings.format === 'pretty') return pino(options, prettyStream(destination));
  return pino(options, destination);
}

/** A dependency-free human format: `12:00:01 INFO  message key=value`. */
function prettyStream(out: NodeJS.WritableStream): NodeJS.WritableStream {
  const skip = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);
  return {
    write(line: string) {
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const time = typeof o.time === 'string' ? o.time.slice(11, 19) : '';
        const extra = Object.entries(o)
          .filter(([k]) => !skip.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        out.write(`${time} ${String(o.level).toUpperCase().padEnd(5)} ${typeof o.msg === 'string' ? o.msg : ''}${extra ? ` ${extra}` : ''}\n`);
      } catch {
        out.write(line);
      }
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

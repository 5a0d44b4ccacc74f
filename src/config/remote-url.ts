import { isIP } from 'node:net';

import { redactUrl } from '../observability/logger.js';

/**
 * True for names that can only mean this machine: `localhost`, 127.0.0.0/8, ::1 (also
 * IPv4-mapped). Takes a WHATWG `URL.hostname`, which has already normalised forms such as
 * `2130706433` or `0x7f.1` to dotted decimal and keeps IPv6 in brackets.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) {
    if (bare === '::1' || bare === '0:0:0:0:0:0:0:1') return true;
    // ::ffff:127.x.y.z, which URL writes as ::ffff:7fxx:yyzz
    const mapped = /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.exec(bare) ?? /^::ffff:127\.\d+\.\d+\.\d+$/.exec(bare);
    return mapped !== null;
  }
  return false;
}

export interface RemoteUrlOptions {
  /** Plain http to a host other than this machine is accepted. */
  readonly allowHttp?: boolean | undefined;
  /** How a person allows plain http where the URL came from: `--allow-http` on the command line, a key in the config. */
  readonly howToAllowHttp: string;
}

/**
 * DESIGN.md invariant: remote URLs must be https, except loopback, unless the user allows http.
 * Credentials in the URL are refused too: they would be logged and sent on every redirect;
 * static headers are the place for them. Why `raw` is refused (never echoing a secret), or
 * undefined. `config` (servers.NAME.url) and the remote link (`connect`) share it.
 */
export function remoteUrlProblem(raw: string, options: RemoteUrlOptions): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `not a valid URL: ${redactUrl(raw)}`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return `a remote MCP server URL must be https (or http to this machine), not ${url.protocol} (${redactUrl(raw)})`;
  }
  if (url.username !== '' || url.password !== '') {
    url.username = '';
    url.password = '';
    return `credentials in the URL are not accepted (${redactUrl(url.href)}): put them in the server's headers`;
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && options.allowHttp !== true) {
    return `refusing plain http to ${url.host} (${redactUrl(url.href)}): use https, or ${options.howToAllowHttp}`;
  }
  return undefined;
}

/** The host of a plain http URL that points at another machine, else undefined (https, loopback, or not a URL: config check names that). */
export function plainHttpElsewhere(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' && !isLoopbackHost(url.hostname) ? url.host : undefined;
  } catch {
    return undefined;
  }
}

// How a person allows plain http to another machine (serve-checks.ts's URL policy) in the
// source they wrote: a native file's `servers.NAME.allowHttp` (serve-checks' default), an
// environment-only setup's ALLOW_INSECURE_HTTP, and for a format with no such key, the native
// file `config migrate` writes from it.
import { formatPath } from './errors.js';
import type { NativeDocument } from './load.js';
import type { ConfigFormat } from './resolved.js';

/** What the source formats that have no `allowHttp` key call it; the native document they convert to has one. */
const WITHOUT_ALLOW_HTTP: Partial<Record<ConfigFormat, string>> = { 'claude-desktop': 'a Claude Desktop file', tbxark: 'a TBXark mcp-proxy file' };

/** How a person allows plain http to another machine in the source they wrote (serve-checks.ts; default: `servers.NAME.allowHttp`). */
export function allowHttpAdvice(native: NativeDocument): ((server: string) => string) | undefined {
  // An environment-only setup has no allowHttp key to set: its variable is ALLOW_INSECURE_HTTP.
  if (native.format === 'environment') return () => 'set ALLOW_INSECURE_HTTP=true';
  const format = WITHOUT_ALLOW_HTTP[native.format];
  if (format === undefined) return undefined;
  const file = shellWord(native.location ?? 'FILE');
  return (server) =>
    `convert the file (${format} has no allowHttp key): run \`gatehouse config migrate ${file} > gatehouse.yaml\`, ` +
    `then set ${formatPath(['servers', server, 'allowHttp'])}: true there`;
}

/** `word` as a shell reads it back: as it is when it holds no special character, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

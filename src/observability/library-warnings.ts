import type { Logger } from './logger.js';

// The MCP SDK warns with console.warn and a `[mcp-sdk] ` prefix (a refresh that failed, a
// credential it invalidates, a deprecated call), and has no logger option. On `serve` and
// `connect`, whose stderr is our log (JSON lines by default), those lines become log
// records; every other console.warn passes through untouched.

const SDK_PREFIX = '[mcp-sdk] ';

/**
 * Sends the SDK's console warnings to `logger` until the returned function is called.
 * console.warn is put back only if nobody replaced it meanwhile.
 */
export function routeSdkWarnings(logger: Logger): () => void {
  const original = console.warn;
  const routing: typeof console.warn = (...args: unknown[]) => {
    const first = args[0];
    if (typeof first === 'string' && first.startsWith(SDK_PREFIX)) logger.warn({ event: 'mcp_sdk' }, first.slice(SDK_PREFIX.length));
    else original.apply(console, args);
  };
  console.warn = routing;
  return () => {
    if (console.warn === routing) console.warn = original;
  };
}

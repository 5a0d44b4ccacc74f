import { readFileSync } from 'node:fs';

import { z } from 'zod';

import type { ConfigIssue } from '../config/index.js';

// The JSON config file of `gatehouse connect|login` (`--config FILE` or MCP_PROXY_CONFIG):
// our flat keys, or mcp-oauth2-proxy's nested file (seed 001) read as it documents itself.
// connect-options.ts merges it with the flags and the environment.

/**
 * The JSON config of `connect` (`--config FILE`): the flags' names in camelCase, plus
 * `headers` as an object. Any string may be an `env:NAME` / `file:PATH` reference (paths
 * relative to the file).
 */
export const ConnectFileSchema = z.strictObject({
  url: z.string().optional(),
  transport: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  allowHttp: z.boolean().optional(),
  clientId: z.string().optional(),
  clientSecret: z.string().optional(),
  clientMetadataUrl: z.string().optional(),
  privateKey: z.string().optional(),
  grant: z.string().optional(),
  scope: z.string().optional(),
  resource: z.string().optional(),
  callbackPort: z.union([z.number(), z.string()]).optional(),
  browserCommand: z.string().optional(),
  tokenStore: z.string().optional(),
  expectedIssuer: z.string().optional(),
  tokenUrl: z.string().optional(),
  authorizationUrl: z.string().optional(),
  audience: z.string().optional(),
  authStyle: z.string().optional(),
  traceFile: z.string().optional(),
  timeout: z.string().optional(),
  logLevel: z.string().optional(),
});
export type ConnectFile = z.infer<typeof ConnectFileSchema>;

/** A config file's keys (ours), and whether it was written in mcp-oauth2-proxy's nested shape. */
export interface ReadFile {
  readonly values: ConnectFile;
  readonly seedShape: boolean;
}

/** mcp-oauth2-proxy (seed 001): where its nested keys go among ours. */
const SEED_KEYS: Readonly<Record<string, Readonly<Record<string, keyof ConnectFile>>>> = {
  upstream: { url: 'url', timeoutMs: 'timeout' },
  oauth2: {
    grant: 'grant',
    clientId: 'clientId',
    clientSecret: 'clientSecret',
    scope: 'scope',
    tokenUrl: 'tokenUrl',
    authorizationUrl: 'authorizationUrl',
    callbackPort: 'callbackPort',
    audience: 'audience',
    authStyle: 'authStyle',
  },
  log: { level: 'logLevel' },
};

/**
 * Its keys for things Gatehouse does its own way: accepted, and named in a warning with what
 * happens instead (the value shown is the one that needs no warning).
 */
export const SEED_IGNORED: Readonly<Record<string, Readonly<Record<string, { env: string; why: string; quietWhen?: unknown }>>>> = {
  upstream: {
    openServerStream: { env: 'UPSTREAM_OPEN_SERVER_STREAM', why: 'the server stream is always opened (and given up with a warning when the server has none)', quietWhen: true },
    protocolVersion: { env: 'UPSTREAM_PROTOCOL_VERSION', why: "the desktop client's own initialize is forwarded, with its protocol version" },
  },
  oauth2: {
    refreshSkewSeconds: { env: 'OAUTH2_REFRESH_SKEW_SECONDS', why: 'tokens are refreshed a quarter of their lifetime (at most 60 s) before they expire' },
    extraParams: { env: 'OAUTH2_EXTRA_PARAMS', why: 'no extra parameters are sent' },
    authorizationCode: { env: 'OAUTH2_AUTHORIZATION_CODE', why: 'the browser login obtains its own code' },
    codeVerifier: { env: 'OAUTH2_CODE_VERIFIER', why: 'each login makes its own PKCE verifier' },
    refreshToken: { env: 'OAUTH2_REFRESH_TOKEN', why: 'run gatehouse login once; its refresh token is stored' },
    redirectUri: { env: 'OAUTH2_REDIRECT_URI', why: 'the redirect URI is http://127.0.0.1:<callback port>/callback' },
    interactive: { env: 'OAUTH2_INTERACTIVE', why: 'the browser login runs whenever no usable token is stored', quietWhen: true },
    callbackHost: { env: 'OAUTH2_CALLBACK_HOST', why: 'the callback listens on 127.0.0.1', quietWhen: '127.0.0.1' },
    callbackTimeoutSeconds: { env: 'OAUTH2_CALLBACK_TIMEOUT_SECONDS', why: 'a browser login may take 5 minutes' },
    tokenCacheDir: { env: 'OAUTH2_TOKEN_CACHE_DIR', why: 'tokens go to --token-store (the keychain, or ~/.config/gatehouse)' },
  },
  discovery: { enabled: { env: 'DISCOVERY_ENABLED', why: 'discovery runs unless tokenUrl is set', quietWhen: true } },
};

/**
 * mcp-oauth2-proxy's file `{ upstream: { url }, oauth2: { grant, clientId, ... }, log: { level },
 * allowInsecureHttp }` as our flat keys. Keys of our own shape may sit beside them.
 */
function flattenSeedFile(value: Record<string, unknown>, path: string, issues: ConfigIssue[], warnings: string[]): Record<string, unknown> {
  const flat: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  const put = (target: string, v: unknown, origin: string): void => {
    if (target in flat) issues.push({ path: `${path}: ${origin}`, message: `given twice (also as ${from[target]})` });
    flat[target] = typeof v === 'number' && target === 'timeout' ? String(v) : v; // timeoutMs: a bare number is milliseconds
    from[target] = origin;
  };
  for (const [key, v] of Object.entries(value)) {
    if (key === 'allowInsecureHttp') {
      put('allowHttp', v, key);
      continue;
    }
    const mapped = SEED_KEYS[key];
    const ignored = SEED_IGNORED[key];
    if (mapped === undefined && ignored === undefined) {
      put(key, v, key); // one of ours, or unknown: the schema decides
      continue;
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) {
      issues.push({ path: `${path}: ${key}`, message: 'must be an object' });
      continue;
    }
    for (const [inner, innerValue] of Object.entries(v as Record<string, unknown>)) {
      const target = mapped?.[inner];
      const skip = ignored?.[inner];
      if (target !== undefined) put(target, innerValue, `${key}.${inner}`);
      else if (skip !== undefined) {
        if (innerValue !== skip.quietWhen) warnings.push(`${path}: ${key}.${inner} has no effect: ${skip.why}`);
      } else issues.push({ path: `${path}: ${key}.${inner}`, message: 'unknown key' });
    }
  }
  return flat;
}

/** Reads and checks the JSON config; problems go to `issues`. */
export function readConnectFile(path: string, issues: ConfigIssue[], warnings: string[]): ReadFile {
  const none: ReadFile = { values: {}, seedShape: false };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    issues.push({ path: '--config', message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
    return none;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    issues.push({ path: '--config', message: `${path} is not JSON: ${error instanceof Error ? error.message : String(error)}` });
    return none;
  }
  const seedShape = !!value && typeof value === 'object' && !Array.isArray(value) && ('upstream' in value || 'oauth2' in value);
  if (seedShape) value = flattenSeedFile(value as Record<string, unknown>, path, issues, warnings);
  const parsed = ConnectFileSchema.safeParse(value);
  if (parsed.success) return { values: parsed.data, seedShape };
  const bad = new Set<string>();
  for (const issue of parsed.error.issues) {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
    for (const key of keys) {
      issues.push({ path: `${path}: ${key.map(String).join('.') || '(top level)'}`, message: issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message });
      if (key[0] !== undefined) bad.add(String(key[0]));
    }
  }
  // Keep the good keys, so that their own problems are reported in the same run.
  if (!value || typeof value !== 'object' || Array.isArray(value)) return none;
  const rest = ConnectFileSchema.safeParse(Object.fromEntries(Object.entries(value).filter(([k]) => !bad.has(k))));
  return { values: rest.success ? rest.data : {}, seedShape };
}

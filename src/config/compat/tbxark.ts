import { hashPassword } from '../../crypto/index.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { plainHttpElsewhere } from '../remote-url.js';
import { convertServerEntry, isRecord } from './claude-desktop.js';
import { renameServers } from './server-names.js';

// TBXark mcp-proxy: `{ "mcpProxy": { addr, baseURL, type, options }, "mcpServers": {...} }`.
// `options` (authTokens, toolFilter, oauth2) sit on the proxy (defaults) and on each server.
// Its older v1 keys, `"server": { addr, baseURL, globalAuthTokens }` and `"clients": { NAME:
// { type, config, authTokens } }`, are read the way mcp-proxy's load() (config.go) reads them,
// alone or beside the v2 keys: `server` stands in for a missing `mcpProxy`, `clients` for a
// missing or empty `mcpServers`. A key Gatehouse has no use for is dropped with a warning
// that names it.

type Doc = Record<string, unknown>;

export interface Converted {
  readonly doc: Doc;
  /** One line per key that was dropped or changed in meaning, each naming its path in the file. */
  readonly warnings: string[];
}

export function isTbxarkDocument(doc: Doc): boolean {
  if (isRecord(doc.mcpProxy)) return true;
  // The native format has none of `server`, `clients` and `mcpServers`.
  if ('servers' in doc) return false;
  return (
    isRecord(doc.clients) ||
    isV1Server(doc.server) ||
    (isRecord(doc.mcpServers) && Object.values(doc.mcpServers).some((s) => isRecord(s) && isRecord(s.options)))
  );
}

/** v1's `server` block: mcp-proxy builds its proxy from it when `mcpProxy` is missing. */
function isV1Server(value: unknown): value is Doc {
  return isRecord(value) && ['addr', 'baseURL', 'globalAuthTokens'].some((k) => k in value);
}

// What Gatehouse does instead, for keys it has no use for.
const WHY: Record<string, string> = {
  name: 'Gatehouse names itself to clients',
  version: 'Gatehouse names itself to clients',
  panicIfInvalid: 'Gatehouse never stops for a server that cannot start: it retries it, and /readyz reports it',
  logEnabled: 'Gatehouse logs one line per request at log.level debug',
  autoReconnect: 'Gatehouse always reconnects, with backoff from 250 ms to 30 s',
  reconnectInterval: 'Gatehouse always reconnects, with backoff from 250 ms to 30 s',
  templateDir: 'page templates live in <dataDir>/templates (gatehouse templates eject)',
  toolFilter: 'mcp-proxy applies toolFilter per server only',
  disabled: 'mcp-proxy applies disabled per server only',
  enabled: 'mcp-proxy applies enabled per server only',
  timeout: 'a timeout is for remote servers only',
};
const dropped = (path: string, key: string) => `${path}: not supported, dropped (${WHY[key] ?? 'Gatehouse has no such setting'})`;

const PROXY_KEYS = new Set(['baseURL', 'addr', 'type', 'options']);
const OPTION_KEYS = new Set(['authTokens', 'toolFilter', 'oauth2', 'disabled', 'enabled']);
const OAUTH2_KEYS = new Set(['enabled', 'users', 'persistenceDir', 'allowedIPs', 'tokenExpirationMinutes']);
// `type`, `transport` and `cwd` are the Claude Desktop spellings convertServerEntry honours too.
const SERVER_KEYS = new Set(['command', 'args', 'env', 'cwd', 'url', 'headers', 'timeout', 'type', 'transport', 'transportType', 'options']);
const SERVER_TYPES = new Set(['stdio', 'sse', 'http', 'streamable-http', 'streamableHttp']);

/** What guards one server name, over every key (`name`, `name/{token}`) that names it. */
interface Guard {
  /** The first key's path in the file. */
  readonly where: string;
  /** Its credentials, in file order: header tokens (its own authTokens, else the proxy's), or a path token where the key asks for no header. */
  readonly tokens: string[];
  /** A key naming it had neither: open to anyone in mcp-proxy (so here too). */
  open: boolean;
  /** Its tokens are not simply the proxy's defaults: written on the server itself. */
  explicit: boolean;
}

/** One server entry as mcp-proxy reads it, with its paths in the file for warnings. */
interface Entry {
  readonly key: string;
  readonly entry: unknown;
  /** Where its settings are (`mcpServers.NAME`, `clients.NAME.config`). */
  readonly where: string;
  /** Where the person wrote it, for the warnings about the server as a whole. */
  readonly origin: string;
}

export function fromTbxark(input: Doc): Converted {
  checkLists(input);
  const warnings: string[] = [];
  const { proxy, entries } = readFile(input, warnings);
  const proxyOptions = isRecord(proxy.options) ? proxy.options : {};
  for (const key of Object.keys(proxy)) if (!PROXY_KEYS.has(key)) warnings.push(dropped(`mcpProxy.${key}`, key));
  for (const key of Object.keys(proxyOptions)) {
    // mcp-proxy reads toolFilter, disabled and enabled per server only.
    if (!OPTION_KEYS.has(key) || key === 'toolFilter' || key === 'disabled' || key === 'enabled') warnings.push(dropped(`mcpProxy.options.${key}`, key));
  }
  const out: Doc = {};
  if (typeof proxy.addr === 'string' || typeof proxy.addr === 'number') {
    // Go's `:9090` means every interface.
    out.listen = typeof proxy.addr === 'string' && proxy.addr.startsWith(':') ? `0.0.0.0${proxy.addr}` : proxy.addr;
  }
  if (typeof proxy.baseURL === 'string') {
    const where = isRecord(input.mcpProxy) ? 'mcpProxy.baseURL' : 'server.baseURL';
    out.publicUrl = publicUrlOf(proxy.baseURL, where, warnings);
  }

  const defaultTokens = stringList(proxyOptions.authTokens);
  const oauth2 = isRecord(proxyOptions.oauth2) ? proxyOptions.oauth2 : undefined;
  const auth: Doc = {};
  let tokenInUrl = false;

  const servers: Doc = {};
  // Per server name: what guards it in mcp-proxy, and where its first key is in the file.
  const guards = new Map<string, Guard>();
  // `name/{token}` keys whose path segment guarded nothing in mcp-proxy, for a warning each.
  const unguardedPaths: Array<{ name: string; origin: string; segment: string }> = [];
  for (const { key, entry, where, origin } of entries) {
    // `name/{token}` keys put the token in the URL path for clients that cannot send headers.
    const [name = key, ...rest] = key.split('/');
    const pathToken = rest.join('/');
    const options = isRecord(entry) && isRecord(entry.options) ? entry.options : {};
    if (options.disabled === true) {
      warnings.push(`${where}: disabled in the mcp-proxy file, so left out`);
      continue;
    }
    // One mcp-proxy version switches a server off with `enabled: false` instead.
    if (options.enabled === false) {
      warnings.push(`${where}: switched off in the mcp-proxy file (options.enabled: false), so left out`);
      continue;
    }
    if (isRecord(entry)) {
      for (const k of Object.keys(entry)) if (!SERVER_KEYS.has(k)) warnings.push(dropped(`${where}.${k}`, k));
      if (entry.type !== undefined && !SERVER_TYPES.has(entry.type as string)) {
        warnings.push(`${where}.type: ${JSON.stringify(entry.type)} is not stdio, sse or streamable-http, so it is ignored`);
      }
    }
    for (const k of Object.keys(options)) if (!OPTION_KEYS.has(k) || k === 'oauth2') warnings.push(dropped(`${where}.options.${k}`, k));
    const server = convertServerEntry(entry);
    // mcp-proxy: a url without `transportType: streamable-http` is an SSE server.
    if (server.url !== undefined && server.transport === undefined) server.transport = 'sse';
    // mcp-proxy connects to plain http anywhere; Gatehouse only to this machine unless told.
    // The migrated server keeps working as it did, and the warning says what was allowed.
    const plainHost = typeof server.url === 'string' ? plainHttpElsewhere(server.url) : undefined;
    if (plainHost !== undefined) {
      server.allowHttp = true;
      warnings.push(`${where}.url: plain http to ${plainHost}, as mcp-proxy allowed: kept with allowHttp: true (anyone on the path can read and change the traffic; use https where the server has it)`);
    }
    const timeout = isRecord(entry) ? goDuration(entry.timeout) : undefined;
    if (timeout !== undefined && server.url !== undefined) server.timeout = timeout;
    else if (timeout !== undefined) warnings.push(dropped(`${where}.timeout`, 'timeout'));
    const filter = isRecord(options.toolFilter) ? options.toolFilter : undefined;
    // TBXark ignores a filter whose mode is missing or unknown; so do we, but say so.
    if (filter && (filter.mode === 'allow' || filter.mode === 'block')) server.tools = { [filter.mode]: stringList(filter.list) };
    else if (filter) warnings.push(`${where}.options.toolFilter: mode is neither allow nor block, so the filter is ignored (as mcp-proxy does)`);
    // mcp-proxy checks the Authorization header against the server's own authTokens, or the
    // proxy's when it has none (`nil`: an empty list is its own, and checks nothing). A
    // `name/{token}` key is a route with that same header check, and mcp-proxy lists every
    // route at /paths to anyone: the path is a secret only where no header token is asked.
    // There it is the credential here (auth.tokenInUrl); beside header tokens it adds
    // nothing, and the header tokens alone open the server at /NAME/mcp.
    const own = Array.isArray(options.authTokens) ? stringList(options.authTokens) : undefined;
    const header = own ?? defaultTokens;
    const pathGuards = pathToken !== '' && header.length === 0;
    const tokens = pathGuards ? [pathToken] : header;
    const first = guards.get(name);
    if (first && JSON.stringify(servers[name]) !== JSON.stringify(server)) {
      // One name, one server here: `demo/a` and `demo/b` are two routes to the same one.
      warnings.push(
        `${origin}: names server ${JSON.stringify(name)} as ${first.where} does, but describes another server; Gatehouse serves one server per name ` +
          `(the part before "/"), so this entry is left out${pathToken ? ' and its path token opens nothing' : ''}: give it a name of its own`,
      );
      continue;
    }
    if (pathGuards) tokenInUrl = true;
    else if (pathToken) unguardedPaths.push({ name, origin, segment: pathToken });
    const explicit = own !== undefined || pathGuards;
    if (!first) {
      servers[name] = server;
      guards.set(name, { where: origin, tokens: [...tokens], open: tokens.length === 0, explicit });
    } else {
      // The same server under another key: whatever opened one route opens it (mcp-proxy mounted each key).
      for (const t of tokens) if (!first.tokens.includes(t)) first.tokens.push(t);
      first.open ||= tokens.length === 0;
      first.explicit ||= explicit;
    }
  }

  if (oauth2?.enabled === true) {
    for (const key of Object.keys(oauth2)) if (!OAUTH2_KEYS.has(key)) warnings.push(dropped(`mcpProxy.options.oauth2.${key}`, key));
    auth.mode = 'oauth';
    const users: Doc = {};
    // TBXark keeps plain passwords; we keep only their scrypt hash.
    for (const [user, pw] of Object.entries(isRecord(oauth2.users) ? oauth2.users : {})) {
      if (typeof pw === 'string') users[user] = { passwordHash: hashPassword(pw) };
    }
    auth.users = users;
    if (Array.isArray(oauth2.allowedIPs)) auth.registration = { allowedIps: oauth2.allowedIPs };
    if (typeof oauth2.tokenExpirationMinutes === 'number') auth.accessTokenTtl = `${oauth2.tokenExpirationMinutes}m`;
    if (typeof oauth2.persistenceDir === 'string') out.dataDir = oauth2.persistenceDir;
  }
  const all = [...guards.values()];
  const anyOpen = all.some((g) => g.open);
  const anyGuarded = all.some((g) => !g.open);
  if (auth.mode === undefined) {
    // A server without authTokens is open in mcp-proxy, one with them is not. Beside guarded
    // servers that is auth.mode none with per-server tokens (http/static-tokens.ts): under
    // tokens mode an open server would take auth.tokens, or with none be reachable by nobody.
    auth.mode = anyGuarded && !anyOpen ? 'tokens' : 'none';
  }
  // Under none, auth.tokens count for nothing: each guarded server carries its tokens itself.
  const spelled = auth.mode === 'none';
  for (const [name, g] of guards) {
    if (!g.open && (g.explicit || spelled)) (servers[name] as Doc).tokens = g.tokens;
  }
  if (defaultTokens.length && !spelled) auth.tokens = defaultTokens;
  if (tokenInUrl) auth.tokenInUrl = true;
  out.auth = auth;
  // mcp-proxy takes any key as a route ("My Server", "memory.v2"); a name Gatehouse cannot
  // serve is renamed, with a warning naming the new route (server-names.ts, as for Claude Desktop).
  const renamed = renameServers(Object.entries(servers), (name) => guards.get(name)?.where ?? `mcpServers.${name}`);
  warnings.push(...renamed.warnings);
  const servedAs = new Map(Object.keys(servers).map((name, i) => [name, renamed.servers[i]![0]]));
  for (const { name, origin, segment } of unguardedPaths) {
    warnings.push(
      `${origin}: the path segment ${JSON.stringify(segment)} is not carried over (mcp-proxy asked for the Authorization header on that route too, ` +
        `so the path was no secret): the server is at /${servedAs.get(name) ?? name}/mcp, opened by its header token`,
    );
  }
  out.servers = Object.fromEntries(renamed.servers);
  return { doc: out, warnings };
}

/**
 * What mcp-proxy's load() serves from the file: `mcpProxy`, or the v1 `server` in its place
 * (addr, baseURL, `globalAuthTokens` the default authTokens); `mcpServers`, or when that is
 * missing or empty the v1 `clients`, each with its own `authTokens` plus the global ones. A
 * v1 key load() does not read beside the v2 one is named in a warning.
 */
function readFile(doc: Doc, warnings: string[]): { proxy: Doc; entries: Entry[] } {
  const v1 = isRecord(doc.server) ? doc.server : undefined;
  const servers = isRecord(doc.mcpServers) ? Object.entries(doc.mcpServers) : [];
  const clients = isRecord(doc.clients) ? Object.entries(doc.clients) : [];
  const fromClients = servers.length === 0 && clients.length > 0;
  if (!fromClients && clients.length) warnings.push('clients: not read beside mcpServers (as mcp-proxy does), so left out');
  let proxy: Doc = {};
  if (isRecord(doc.mcpProxy)) {
    proxy = doc.mcpProxy;
    // load() still appends server.globalAuthTokens to each client's tokens.
    for (const key of Object.keys(v1 ?? {})) {
      if (!(key === 'globalAuthTokens' && fromClients)) warnings.push(`server.${key}: not read beside mcpProxy (as mcp-proxy does), so dropped`);
    }
  } else if (v1) {
    for (const [key, value] of Object.entries(v1)) {
      if (key === 'baseURL' || key === 'addr') proxy[key] = value;
      else if (key !== 'globalAuthTokens') warnings.push(dropped(`server.${key}`, key));
    }
    if (Array.isArray(v1.globalAuthTokens)) proxy.options = { authTokens: v1.globalAuthTokens };
  }
  if (!fromClients) return { proxy, entries: servers.map(([key, entry]) => ({ key, entry, where: `mcpServers.${key}`, origin: `mcpServers.${key}` })) };
  return { proxy, entries: clientEntries(clients, stringList(v1?.globalAuthTokens), warnings) };
}

/**
 * baseURL as publicUrl. mcp-proxy serves each server at `path.Join(baseURL.Path, name)`, so its
 * path is read as Go's path.Clean reads it (no empty or `.` segment, `..` resolved); Gatehouse
 * then serves under that path (http/base-path.ts) as mcp-proxy did, and at the root for a
 * reverse proxy that strips it. A path that reads otherwise than written is said.
 */
function publicUrlOf(baseURL: string, where: string, warnings: string[]): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(.*)$/s.exec(baseURL.trim());
  if (!m) return baseURL.replace(/\/+$/, '');
  const [, origin, path, rest] = m as unknown as [string, string, string, string];
  const segments: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(s);
  }
  const cleaned = segments.length ? `/${segments.join('/')}` : '';
  if (cleaned !== path.replace(/\/+$/, '')) warnings.push(`${where}: its path ${JSON.stringify(path)} is read as ${JSON.stringify(cleaned || '/')}, as mcp-proxy reads it`);
  return `${origin}${cleaned}${rest}`;
}

/** v1 `clients` as v2 server entries, as load() adapts them. A client of an unknown type is left out (with a warning). */
function clientEntries(clients: Array<[string, unknown]>, global: string[], warnings: string[]): Entry[] {
  const entries: Entry[] = [];
  for (const [name, client] of clients) {
    const origin = `clients.${name}`;
    if (!isRecord(client)) {
      warnings.push(`${origin}: not an object, so left out`);
      continue;
    }
    const config = isRecord(client.config) ? client.config : {};
    const type = client.type;
    const entry: Doc = {};
    if (type === 'stdio') {
      for (const k of ['command', 'args', 'env'] as const) if (config[k] !== undefined) entry[k] = config[k];
    } else if (type === 'sse' || type === 'streamable' || type === 'streamable-http') {
      for (const k of ['url', 'headers'] as const) if (config[k] !== undefined) entry[k] = config[k];
      if (type !== 'sse') {
        entry.transportType = 'streamable-http';
        if (config.timeout !== undefined) entry.timeout = config.timeout;
      }
    } else {
      warnings.push(`${origin}.type: ${JSON.stringify(type)} is not stdio, sse or streamable-http, so the client is left out (as mcp-proxy does)`);
      continue;
    }
    for (const k of Object.keys(client)) {
      if (k !== 'type' && k !== 'config' && k !== 'authTokens') warnings.push(dropped(`${origin}.${k}`, k));
    }
    // Its own authTokens with the global ones appended; with neither (nil), the proxy's defaults.
    const own = Array.isArray(client.authTokens) ? stringList(client.authTokens) : undefined;
    const tokens = global.length ? [...(own ?? []), ...global] : own;
    if (tokens) entry.options = { authTokens: tokens };
    entries.push({ key: name, entry, where: `${origin}.config`, origin });
  }
  return entries;
}

/**
 * A Go time.Duration as mcp-proxy reads it from JSON: a number of nanoseconds. Returned in
 * Gatehouse's form (`30000ms`); anything else (a string such as `30s`) is passed on as written.
 */
function goDuration(value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return value;
  // 0 is Go's zero value: no timeout set. Gatehouse's default applies.
  if (value === 0) return undefined;
  return `${Math.max(1, Math.round(value / 1e6))}ms`;
}

/**
 * mcp-proxy reads authTokens, globalAuthTokens, toolFilter.list and oauth2.allowedIPs into Go's []string, and
 * refuses to start on a file where one is anything else (a string, a number in the list).
 * Filtering here would turn `"authTokens": "Secret"` into no token at all: an open gateway,
 * or a block list that blocks nothing. So such a file is a config error at the key's path,
 * whether or not the entry is served (mcp-proxy reads every one); null is Go's nil (absent).
 * `disabled` and `enabled` switch a server off, and oauth2.enabled turns the login on, so they must be true or false too.
 */
function checkLists(doc: Doc): void {
  const issues: ConfigIssue[] = [];
  const list = (value: unknown, path: string) => {
    if (value !== undefined && value !== null && !(Array.isArray(value) && value.every((x) => typeof x === 'string'))) {
      issues.push({ path, message: 'must be a list of strings, as mcp-proxy reads it' });
    }
  };
  const options = (value: unknown, path: string, server: boolean) => {
    if (!isRecord(value)) return;
    list(value.authTokens, `${path}.authTokens`);
    if (isRecord(value.toolFilter)) list(value.toolFilter.list, `${path}.toolFilter.list`);
    if (!server) return;
    for (const key of ['disabled', 'enabled'] as const) {
      const v = value[key];
      if (v !== undefined && v !== null && typeof v !== 'boolean') issues.push({ path: `${path}.${key}`, message: 'must be true or false, as mcp-proxy reads it' });
    }
  };
  const proxyOptions = isRecord(doc.mcpProxy) ? doc.mcpProxy.options : undefined;
  options(proxyOptions, 'mcpProxy.options', false);
  // `oauth2.enabled: "true"` read as not enabled would serve the gateway with no login at all,
  // and an allowedIPs that is not a list would let any address register.
  const oauth2 = isRecord(proxyOptions) ? proxyOptions.oauth2 : undefined;
  if (isRecord(oauth2)) {
    if (oauth2.enabled !== undefined && oauth2.enabled !== null && typeof oauth2.enabled !== 'boolean') {
      issues.push({ path: 'mcpProxy.options.oauth2.enabled', message: 'must be true or false, as mcp-proxy reads it' });
    }
    list(oauth2.allowedIPs, 'mcpProxy.options.oauth2.allowedIPs');
  }
  if (isRecord(doc.server)) list(doc.server.globalAuthTokens, 'server.globalAuthTokens');
  for (const [name, entry] of Object.entries(isRecord(doc.mcpServers) ? doc.mcpServers : {})) {
    if (isRecord(entry)) options(entry.options, `mcpServers.${name}.options`, true);
  }
  for (const [name, client] of Object.entries(isRecord(doc.clients) ? doc.clients : {})) {
    if (isRecord(client)) list(client.authTokens, `clients.${name}.authTokens`);
  }
  if (issues.length) throw new ConfigError(issues);
}

/** A list checkLists has let through: null (or absent) is the empty list. */
function stringList(v: unknown): string[] {
  return Array.isArray(v) ? (v as string[]) : [];
}

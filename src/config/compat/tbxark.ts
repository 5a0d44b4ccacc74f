import { hashPassword } from '../../crypto/index.js';
import { convertServerEntry, isRecord } from './claude-desktop.js';

// TBXark mcp-proxy: `{ "mcpProxy": { addr, baseURL, type, options }, "mcpServers": {...} }`.
// `options` (authTokens, toolFilter, oauth2) sit on the proxy (defaults) and on each server.

type Doc = Record<string, unknown>;

export function isTbxarkDocument(doc: Doc): boolean {
  return isRecord(doc.mcpProxy) || (isRecord(doc.mcpServers) && Object.values(doc.mcpServers).some((s) => isRecord(s) && isRecord(s.options)));
}

export function fromTbxark(doc: Doc): Doc {
  const proxy = isRecord(doc.mcpProxy) ? doc.mcpProxy : {};
  const proxyOptions = isRecord(proxy.options) ? proxy.options : {};
  const out: Doc = {};
  if (typeof proxy.addr === 'string' || typeof proxy.addr === 'number') {
    // Go's `:9090` means every interface.
    out.listen = typeof proxy.addr === 'string' && proxy.addr.startsWith(':') ? `0.0.0.0${proxy.addr}` : proxy.addr;
  }
  if (typeof proxy.baseURL === 'string') out.publicUrl = proxy.baseURL.replace(/\/+$/, '');

  const defaultTokens = stringList(proxyOptions.authTokens);
  const oauth2 = isRecord(proxyOptions.oauth2) ? proxyOptions.oauth2 : undefined;
  const auth: Doc = {};
  let tokenInUrl = false;

  const servers: Doc = {};
  for (const [key, entry] of Object.entries(isRecord(doc.mcpServers) ? doc.mcpServers : {})) {
    // `name/{token}` keys put the token in the URL path for clients that cannot send headers.
    const [name, ...rest] = key.split('/');
    const pathToken = rest.join('/');
    const server = convertServerEntry(entry);
    const options = isRecord(entry) && isRecord(entry.options) ? entry.options : {};
    if (isRecord(entry) && entry.timeout !== undefined) server.timeout = entry.timeout;
    const tokens = [...stringList(options.authTokens)];
    if (pathToken) {
      tokens.push(pathToken);
      tokenInUrl = true;
    }
    if (tokens.length) server.tokens = tokens;
    const filter = isRecord(options.toolFilter) ? options.toolFilter : undefined;
    // TBXark ignores a filter whose mode is missing or unknown; so do we.
    if (filter && (filter.mode === 'allow' || filter.mode === 'block')) server.tools = { [filter.mode]: stringList(filter.list) };
    servers[name ?? key] = server;
  }

  if (oauth2?.enabled === true) {
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
  } else {
    const anyServerTokens = Object.values(servers).some((s) => isRecord(s) && Array.isArray(s.tokens));
    auth.mode = defaultTokens.length || anyServerTokens ? 'tokens' : 'none';
  }
  if (defaultTokens.length) auth.tokens = defaultTokens;
  if (tokenInUrl) auth.tokenInUrl = true;
  out.auth = auth;
  out.servers = servers;
  return out;
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

// 2026-07-28 request headers (basic/transports/streamable-http, "Request Metadata";
// SEP-2243): Mcp-Method, Mcp-Name, and Mcp-Param-* mirrored from tool arguments whose
// input schema says `x-mcp-header`. Values that are not header-safe travel as
// `=?base64?<base64 of UTF-8>?=`. Shared by the inbound check (gateway) and the outbound
// adapter (upstream).

/** A tool argument mirrored into a header: its path inside `arguments`, and the header suffix. */
export interface ParamHeader {
  readonly path: readonly string[];
  readonly header: string;
}

const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SENTINEL = /^=\?base64\?(.*)\?=$/s;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `x-mcp-header` declarations reachable through `properties` chains of a tool's input schema. */
export function scanParamHeaders(schema: unknown): ParamHeader[] {
  const found: ParamHeader[] = [];
  const visit = (node: unknown, path: string[]): void => {
    if (!isObject(node)) return;
    const header = node['x-mcp-header'];
    if (path.length > 0 && typeof header === 'string' && HEADER_TOKEN.test(header)) found.push({ path, header });
    if (isObject(node.properties)) for (const [key, child] of Object.entries(node.properties)) visit(child, [...path, key]);
  };
  visit(schema, []);
  return found;
}

/** A header-safe value as is; anything else as `=?base64?...?=`. */
export function encodeHeaderValue(value: string): string {
  const plain = value.length > 0 && value === value.trim() && /^[\t\x20-\x7e]*$/.test(value) && !(value.startsWith('=?base64?') && value.endsWith('?='));
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The value a header carries; undefined when its base64 form is malformed. */
export function decodeHeaderValue(value: string): string | undefined {
  const m = SENTINEL.exec(value.trim());
  if (!m) return value.trim();
  const b64 = m[1]!;
  if (!BASE64.test(b64)) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  // Reject bytes that are not UTF-8 (they decode to U+FFFD).
  return text.includes('\uFFFD') ? undefined : text;
}

/** The text form of an argument at `path`, when it is a string, a finite number or a boolean. */
export function argumentText(args: unknown, path: readonly string[]): string | undefined {
  let value: unknown = args;
  for (const key of path) value = isObject(value) ? value[key] : undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) return String(value);
  return undefined;
}

/** Which body field Mcp-Name mirrors, per method. */
export function nameFieldOf(method: string): 'name' | 'uri' | undefined {
  if (method === 'tools/call' || method === 'prompts/get') return 'name';
  if (method === 'resources/read') return 'uri';
  return undefined;
}

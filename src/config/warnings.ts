import { isIP } from 'node:net';

/** What configWarnings reads: a ResolvedConfig has it, and so does a converted document once parsed. */
export interface WarnedConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /** allowedIps: `auth.allowedIps`, the addresses that may reach the gateway at all (http/edge.ts); unset or empty, every one. */
  readonly auth: { readonly mode: string; readonly allowedIps?: readonly string[] | undefined; readonly tokens?: readonly string[] | undefined };
  /** With their own `tokens`: under `auth.mode: none` those still need one (http/static-tokens.ts). Unknown: every server counts as open. */
  readonly servers?: readonly { readonly name: string; readonly tokens?: readonly string[] | undefined }[] | undefined;
}

/**
 * What is valid but probably not meant, one message each, for `config check`, `config migrate`
 * and `serve` to say alike (the conversion's own warnings are `ResolvedConfig.warnings`, apart).
 *
 * - `auth.mode: none` on an address other hosts can reach, where anyone who reaches the port
 *   uses every tool of the servers without `tokens` of their own (a server with its own tokens
 *   still needs one, http/static-tokens.ts); with `auth.allowedIps`, anyone at an address it
 *   admits. Still a warning then: an address is not a credential (a shared network, a NAT, a
 *   proxy in trustProxy hands it to whoever is behind it). Not said when every server has
 *   tokens of its own: nothing is open then.
 * - `auth.tokens` under `auth.mode: none`: CONTRACT.md has them "accepted in every mode but
 *   none", so they open nothing, and whoever wrote them probably believes the servers locked.
 */
export function configWarnings(config: WarnedConfig): string[] {
  const warnings: string[] = [];
  if (config.auth.mode !== 'none') return warnings;
  const servers = config.servers;
  const open = servers?.filter((s) => !s.tokens?.length).map((s) => s.name);
  const guarded = servers?.filter((s) => s.tokens?.length).map((s) => s.name) ?? [];
  // Only some servers are open: the warnings name them (and say the others need their tokens).
  const which =
    open && guarded.length
      ? `the servers without tokens of their own (${open.map((n) => `servers.${n}`).join(', ')}; not ${guarded.map((n) => `servers.${n}`).join(', ')}, ` +
        `which ${guarded.length === 1 ? 'needs one of its tokens' : 'need one of their tokens'})`
      : undefined;
  if (!isLoopbackListen(config.listen.host) && (open === undefined || open.length > 0)) {
    const allowed = config.auth.allowedIps ?? [];
    const tools = which ? `every tool of ${which}` : 'every tool';
    const who = allowed.length
      ? `anyone at an address auth.allowedIps admits (${allowed.join(', ')}) can use ${tools}, with no credential ` +
        '(an address is not one: everyone behind a shared network, NAT or trusted proxy has it)'
      : `anyone who reaches the port can use ${tools}, with no credential`;
    warnings.push(
      `auth.mode is none and listen is ${formatListen(config.listen)}, which other machines can reach: ${who}; ` +
        `listen on 127.0.0.1, ${which ? 'give those servers tokens, ' : ''}or set auth.mode to oauth or tokens`,
    );
  }
  if (config.auth.tokens?.length) {
    const reach =
      open?.length === 0
        ? 'they open nothing (every server has tokens of its own, and needs one of them)'
        : which
          ? `${which} are open to anyone who reaches the port`
          : 'every server is open to anyone who reaches the port';
    warnings.push(
      `auth.tokens is set but auth.mode is none, so those tokens are not checked: ${reach}; ` +
        'set auth.mode to tokens to require them (a server with tokens of its own takes those instead)',
    );
  }
  return warnings;
}

/** `localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped): only this machine can connect. */
export function isLoopbackListen(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^(?:0:){7}1$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
  return false;
}

function formatListen({ host, port }: WarnedConfig['listen']): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

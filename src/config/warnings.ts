import { isIP } from 'node:net';

/** What configWarnings reads: a ResolvedConfig has it, and so does a converted document once parsed. */
export interface WarnedConfig {
  readonly listen: { readonly host: string; readonly port: number };
  /** allowedIps: `auth.allowedIps`, the addresses that may reach the gateway at all (http/edge.ts); unset or empty, every one. */
  readonly auth: { readonly mode: string; readonly allowedIps?: readonly string[] | undefined };
}

/**
 * What is valid but probably not meant, one message each, for `config check`, `config migrate`
 * and `serve` to say alike (the conversion's own warnings are `ResolvedConfig.warnings`, apart).
 * Today: `auth.mode: none` on an address other hosts can reach, where anyone who reaches the
 * port uses every tool; with `auth.allowedIps`, anyone at an address it admits (the servers
 * have no allowlist of their own). Still a warning then: an address is not a credential (a
 * shared network, a NAT, a proxy in trustProxy hands it to whoever is behind it).
 */
export function configWarnings(config: WarnedConfig): string[] {
  const warnings: string[] = [];
  if (config.auth.mode === 'none' && !isLoopbackListen(config.listen.host)) {
    const allowed = config.auth.allowedIps ?? [];
    const who = allowed.length
      ? `anyone at an address auth.allowedIps admits (${allowed.join(', ')}) can use every tool, with no credential ` +
        '(an address is not one: everyone behind a shared network, NAT or trusted proxy has it)'
      : 'anyone who reaches the port can use every tool, with no credential';
    warnings.push(
      `auth.mode is none and listen is ${formatListen(config.listen)}, which other machines can reach: ${who}; ` +
        'listen on 127.0.0.1, or set auth.mode to oauth or tokens',
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

import { isIP } from 'node:net';

/** What configWarnings reads: a ResolvedConfig has it, and so does a converted document once parsed. */
export interface WarnedConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly auth: { readonly mode: string };
}

/**
 * What is valid but probably not meant, one message each, for `config check`, `config migrate`
 * and `serve` to say alike (the conversion's own warnings are `ResolvedConfig.warnings`, apart).
 * Today: `auth.mode: none` on an address other hosts can reach, where anyone who reaches the
 * port uses every tool.
 */
export function configWarnings(config: WarnedConfig): string[] {
  const warnings: string[] = [];
  if (config.auth.mode === 'none' && !isLoopbackListen(config.listen.host)) {
    warnings.push(
      `auth.mode is none and listen is ${formatListen(config.listen)}, which other machines can reach: ` +
        'anyone who reaches the port can use every tool, with no credential; ' +
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

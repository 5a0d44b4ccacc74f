import { BlockList, isIP } from 'node:net';

/** A set of IPv4/IPv6 CIDRs; IPv4-mapped IPv6 addresses (::ffff:1.2.3.4) match their IPv4 form. */
export class IpSet {
  readonly #list = new BlockList();
  /** Answers for recently seen addresses: checking builds objects, and a caller's address repeats. */
  readonly #seen = new Map<string, boolean>();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [addr, bits] = cidr.split('/');
      const family = isIP(addr ?? '');
      if (!family) throw new Error(`not an IP address or CIDR: ${cidr}`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.#list.addAddress(addr!, type);
      else this.#list.addSubnet(addr!, Number(bits), type);
    }
    this.size = cidrs.length;
  }

  has(ip: string | undefined): boolean {
    if (!ip) return false;
    const known = this.#seen.get(ip);
    if (known !== undefined) return known;
    const plain = unmapV4(ip);
    const family = isIP(plain);
    const answer = family !== 0 && this.#list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    if (this.#seen.size >= 4096) this.#seen.clear();
    this.#seen.set(ip, answer);
    return answer;
  }
}

/** `::ffff:10.0.0.1` -> `10.0.0.1`; other addresses unchanged. Zone ids are dropped. */
export function unmapV4(ip: string): string {
  const noZone = ip.split('%')[0]!;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(noZone);
  return m ? m[1]! : noZone;
}

export function isLoopback(ip: string | undefined): boolean {
  if (!ip) return false;
  const plain = unmapV4(ip);
  return plain === '::1' || /^127\./.test(plain);
}

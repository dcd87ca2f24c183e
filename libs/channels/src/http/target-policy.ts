import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { ValidationFailed } from '@herald/domain';

/** Addresses a webhook may never reach (docs/contract.md §6.6), unless HERALD_ALLOW_PRIVATE_TARGETS is set. */
const RULES: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'CGNAT'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  // Documentation ranges (RFC 5737, 3849) are never public endpoints, but networks do use them inside.
  ['192.0.2.0', 24, 'ipv4', 'reserved'],
  ['198.51.100.0', 24, 'ipv4', 'reserved'],
  ['203.0.113.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  // IPv4-compatible addresses (deprecated): some stacks still route ::a.b.c.d to a.b.c.d.
  ['::', 96, 'ipv6', 'reserved'],
  ['64:ff9b:1::', 48, 'ipv6', 'private'],
  ['2001:db8::', 32, 'ipv6', 'reserved'],
  ['fc00::', 7, 'ipv6', 'private'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['fec0::', 10, 'ipv6', 'private'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const lists = RULES.map(([net, prefix, family, rule]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, rule };
});

/** The rule an address breaks, or null when it is a public address. IPv4 inside IPv6 is judged as IPv4. */
export function forbiddenAddressRule(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, rule } of lists) if (list.check(address, type)) return rule;
  const embedded = family === 6 ? embeddedIPv4(address) : null;
  return embedded ? forbiddenAddressRule(embedded) : null;
}

/**
 * The IPv4 address that an IPv6 address carries and that the network may deliver to: IPv4-mapped
 * (`::ffff:0:0/96`, and the IPv4-translated `::ffff:0:0:0/96`), NAT64 (`64:ff9b::/96`), 6to4
 * (`2002::/16`, which a 6to4 relay sends to the embedded address) and Teredo (`2001::/32`, which a
 * Teredo relay sends to the client's address: the last 32 bits, inverted).
 */
function embeddedIPv4(address: string): string | null {
  const h = ipv6Hextets(address);
  if (!h) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && h[5] === 0xffff) return v4(h[6], h[7]);
  if (zero(0, 4) && h[4] === 0xffff && h[5] === 0) return v4(h[6], h[7]);
  if (h[0] === 0x64 && h[1] === 0xff9b && zero(2, 6)) return v4(h[6], h[7]);
  if (h[0] === 0x2002) return v4(h[1], h[2]);
  if (h[0] === 0x2001 && h[1] === 0) return v4(h[6] ^ 0xffff, h[7] ^ 0xffff);
  return null;
}

/** The eight 16-bit groups of an IPv6 address (with `::` and a trailing dotted quad expanded). */
function ipv6Hextets(address: string): number[] | null {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  return [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right].map((x) => parseInt(x, 16));
}

/** Thrown when a target breaks the policy; names the host and the rule, never the URL's secret parts. */
export class TargetRejected extends Error {
  constructor(
    readonly host: string,
    readonly rule: string,
  ) {
    super(`target ${host} is not allowed: ${rule}`);
    this.name = 'TargetRejected';
  }
}

/**
 * A host allow-list (docs/contract.md §6.6): exact hosts, or `.domain` for the domain and its subdomains.
 * `extraHosts` (HERALD_EXTRA_ALLOWED_HOSTS) use the same syntax.
 */
export function checkUrlAgainstAllowList(raw: string, channel: string, allowed: readonly string[] | null, extraHosts: readonly string[], field = 'url'): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationFailed([{ field, message: 'url is not a valid absolute URL' }]);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ValidationFailed([{ field, message: `url scheme "${url.protocol.replace(':', '')}" is not allowed: use http or https` }]);
  }
  if (url.username || url.password) {
    throw new ValidationFailed([{ field, message: `host ${url.hostname}: credentials in the URL are not allowed` }]);
  }
  const host = url.hostname.toLowerCase();
  if (allowed === null || hostMatches(host, extraHosts)) return url;
  if (!hostMatches(host, allowed)) {
    throw new ValidationFailed([{ field, message: `host ${host} is not a ${channel} webhook host (allowed: ${allowed.join(', ')})` }]);
  }
  return url;
}

export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    const pattern = p.toLowerCase();
    return pattern.startsWith('.') ? h === pattern.slice(1) || h.endsWith(pattern) : h === pattern;
  });
}

/** Resolves a host name to every address it has (the system resolver unless one is provided, e.g. by a test). */
export type HostResolver = (hostname: string, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

export const systemResolver: HostResolver = (hostname, callback) => dnsLookup(hostname, { all: true }, callback);

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A connection's `lookup` that refuses a host resolving to any address the policy forbids (the
 * error has code `EHERALDTARGET`). The connection uses exactly the addresses vetted here, so DNS
 * rebinding cannot slip past it.
 */
export function vettedLookup(resolve: HostResolver, allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolve(hostname, (err, addresses) => {
      if (err) return callback(err, []);
      if (!addresses.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (!allowPrivate) {
        for (const { address } of addresses) {
          const rule = forbiddenAddressRule(address);
          if (rule) return callback(Object.assign(new TargetRejected(hostname, `resolves to a ${rule} address`), { code: 'EHERALDTARGET' }), []);
        }
      }
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

/** Checks a target's host before any connection: IP literals never reach the DNS hook. Throws TargetRejected. */
export function assertLiteralTargetAllowed(url: URL, allowPrivate: boolean): void {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (allowPrivate || isIP(host) === 0) return;
  const rule = forbiddenAddressRule(host);
  if (rule) throw new TargetRejected(host, `is a ${rule} address`);
}

import { BlockList, isIP } from 'node:net';
import { ValidationFailed } from '@herald/domain';

/** Addresses a webhook may never reach (SPEC §6.6), unless HERALD_ALLOW_PRIVATE_TARGETS is set. */
const RULES: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'CGNAT'],
  ['127.0.0.0', 8, 'ipv4', 'loopback'],
  ['169.254.0.0', 16, 'ipv4', 'link-local'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'reserved'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'reserved'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['::1', 128, 'ipv6', 'loopback'],
  ['fc00::', 7, 'ipv6', 'private'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const lists = RULES.map(([net, prefix, family, rule]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { list, rule };
});

/** The rule an address breaks, or null when it is a public address. IPv4-mapped IPv6 is checked as IPv4. */
export function forbiddenAddressRule(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { list, rule } of lists) if (list.check(address, type)) return rule;
  // NAT64 (64:ff9b::/96) embeds an IPv4 address; judge it by that address.
  const dotted = /^64:ff9b::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return forbiddenAddressRule(dotted[1]);
  const hex = /^64:ff9b::(?:ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
    return forbiddenAddressRule(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
  }
  return null;
}

/** Thrown when a target breaks the policy; names the host and the rule, never the URL's secret parts. */
export class TargetRejected extends Error {
  constructor(readonly host: string, readonly rule: string) {
    super(`target ${host} is not allowed: ${rule}`);
    this.name = 'TargetRejected';
  }
}

/**
 * A host allow-list (SPEC §6.6): exact hosts, or `.domain` for the domain and its subdomains.
 * `extraHosts` (HERALD_EXTRA_ALLOWED_HOSTS) use the same syntax.
 */
export function checkUrlAgainstAllowList(
  raw: string,
  channel: string,
  allowed: readonly string[] | null,
  extraHosts: readonly string[],
  field = 'url',
): URL {
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

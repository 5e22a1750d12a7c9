// Classifies an IP address for the SSRF guard: public, loopback, or in another special-purpose (non-public) range.
import { isIPv4, isIPv6 } from 'node:net';
import { ValidationError } from '../errors.js';

/** `loopback` is split out so named loopback hosts (tests, the demo) can be let through and nothing else. */
export type AddressKind = 'public' | 'loopback' | 'non-public';

export interface AddressClass {
  readonly address: string;
  readonly family: 4 | 6;
  readonly kind: AddressKind;
  /** The matching range and its purpose, e.g. `10.0.0.0/8 (private)`; undefined for public addresses. */
  readonly range: string | undefined;
}

interface Range {
  readonly base: bigint;
  readonly prefix: number;
  readonly label: string;
  readonly loopback: boolean;
}

function range(family: 4 | 6, cidr: string, purpose: string): Range {
  const [base = '', prefix = ''] = cidr.split('/');
  const value = family === 4 ? ipv4Value(base) : ipv6Value(base);
  return {
    base: value,
    prefix: Number(prefix),
    label: `${cidr} (${purpose})`,
    loopback: purpose === 'loopback',
  };
}

// RFC 6890 / IANA special-purpose registries; the first match names the range, so narrow ranges come first.
const IPV4_RANGES: readonly Range[] = [
  range(4, '0.0.0.0/8', 'this network'),
  range(4, '10.0.0.0/8', 'private'),
  range(4, '100.64.0.0/10', 'shared address space'),
  range(4, '127.0.0.0/8', 'loopback'),
  range(4, '169.254.0.0/16', 'link-local'),
  range(4, '172.16.0.0/12', 'private'),
  range(4, '192.0.0.0/24', 'IETF protocol assignments'),
  range(4, '192.0.2.0/24', 'documentation'),
  range(4, '192.88.99.0/24', '6to4 relay anycast'),
  range(4, '192.168.0.0/16', 'private'),
  range(4, '198.18.0.0/15', 'benchmarking'),
  range(4, '198.51.100.0/24', 'documentation'),
  range(4, '203.0.113.0/24', 'documentation'),
  range(4, '224.0.0.0/4', 'multicast'),
  range(4, '255.255.255.255/32', 'broadcast'),
  range(4, '240.0.0.0/4', 'reserved'),
];

const IPV4_MAPPED = range(6, '::ffff:0:0/96', 'IPv4-mapped');
const IPV6_RANGES: readonly Range[] = [
  range(6, '::1/128', 'loopback'),
  range(6, '::/128', 'unspecified'),
  range(6, '::/96', 'IPv4-compatible'),
  range(6, '64:ff9b::/96', 'NAT64'),
  range(6, '64:ff9b:1::/48', 'local NAT64'),
  range(6, '100::/64', 'discard-only'),
  range(6, '2001:db8::/32', 'documentation'),
  range(6, '2001::/23', 'IETF protocol assignments'),
  range(6, '2002::/16', '6to4'),
  range(6, '3fff::/20', 'documentation'),
  range(6, '5f00::/16', 'SRv6 SIDs'),
  range(6, 'fc00::/7', 'unique local'),
  range(6, 'fe80::/10', 'link-local'),
  range(6, 'fec0::/10', 'site-local'),
  range(6, 'ff00::/8', 'multicast'),
];
// Everything outside 2000::/3 is unallocated or special today, so it is refused even without a named range.
const IPV6_GLOBAL_UNICAST = range(6, '2000::/3', 'global unicast');

function inRange(value: bigint, bits: number, r: Range): boolean {
  const shift = BigInt(bits - r.prefix);
  return value >> shift === r.base >> shift;
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

/** Expands any valid IPv6 text form (`::`, an embedded dotted quad, a `%zone`) into its 128-bit value. */
function ipv6Value(address: string): bigint {
  let text = address.split('%')[0] ?? '';
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = ipv4Value(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros: string[] = Array.from({ length: 8 - headGroups.length - restGroups.length }, () => '0');
  const groups = rest === undefined ? headGroups : [...headGroups, ...zeros, ...restGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function classifyIpv4(address: string, value: bigint, via?: string): AddressClass {
  const match = IPV4_RANGES.find((r) => inRange(value, 32, r));
  if (match === undefined)
    return { address, family: via === undefined ? 4 : 6, kind: 'public', range: undefined };
  return {
    address,
    family: via === undefined ? 4 : 6,
    kind: match.loopback ? 'loopback' : 'non-public',
    range: via === undefined ? match.label : `${match.label} via ${via}`,
  };
}

/** Throws a ValidationError for anything that is not an IPv4 or IPv6 address (hostnames included). */
export function classifyAddress(address: string): AddressClass {
  if (isIPv4(address)) return classifyIpv4(address, ipv4Value(address));
  if (!isIPv6(address)) throw new ValidationError(`not an IP address: ${JSON.stringify(address)}`);
  const value = ipv6Value(address);
  // an IPv4-mapped address reaches the IPv4 host it embeds, so it is judged as that address
  if (inRange(value, 128, IPV4_MAPPED)) return classifyIpv4(address, value & 0xffffffffn, IPV4_MAPPED.label);
  const match = IPV6_RANGES.find((r) => inRange(value, 128, r));
  if (match !== undefined) {
    return { address, family: 6, kind: match.loopback ? 'loopback' : 'non-public', range: match.label };
  }
  if (!inRange(value, 128, IPV6_GLOBAL_UNICAST)) {
    return { address, family: 6, kind: 'non-public', range: 'outside 2000::/3 (not global unicast)' };
  }
  return { address, family: 6, kind: 'public', range: undefined };
}

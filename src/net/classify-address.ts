import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * What an IP address is, for egress decisions: `public` addresses are reachable by steps; every
 * other category is refused unless the operator allows it (SPEC §7b).
 */
export const ADDRESS_CATEGORIES = [
  'public',
  'loopback',
  'private',
  'link-local',
  'unique-local',
  'multicast',
  'unspecified',
  'broadcast',
  'shared',
  'benchmarking',
  'documentation',
  'reserved',
] as const;
/** One of {@link ADDRESS_CATEGORIES}. */
export type AddressCategory = (typeof ADDRESS_CATEGORIES)[number];

/** How a refusal names each category: "resolves to 10.0.0.1, a private address". */
export const CATEGORY_DESCRIPTIONS: Readonly<Record<AddressCategory, string>> = {
  public: 'a public address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  'unique-local': 'a unique-local address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  shared: 'a shared (carrier-grade NAT) address',
  benchmarking: 'a benchmarking address',
  documentation: 'a documentation address',
  reserved: 'a reserved address',
};

/** The category of an address, and the IPv4 address it stands for when it is an IPv6 form of one. */
export type AddressClass = {
  category: AddressCategory;
  /** For IPv4-mapped, IPv4-compatible, NAT64, 6to4 and Teredo addresses: the IPv4 address inside. */
  embeddedIPv4?: string;
};

type Range = readonly [cidr: string, category: AddressCategory];

// IANA's IPv4 Special-Purpose Address Registry, less the entries that are globally reachable.
// The broadcast address comes before 240/4, which holds it: the first match wins.
const IPV4_RANGES: readonly Range[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'shared'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'reserved'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', 'reserved'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
];

// IANA's IPv6 Special-Purpose Address Registry. Forms that carry an IPv4 address are handled
// before this table; whatever is outside global unicast (2000::/3) is reserved.
const IPV6_RANGES: readonly Range[] = [
  ['64:ff9b:1::/48', 'private'],
  ['100::/64', 'reserved'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['2001:10::/28', 'reserved'],
  ['2001:20::/28', 'reserved'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['ff00::/8', 'multicast'],
];

type ParsedRange = { range: [ipaddr.IPv4 | ipaddr.IPv6, number]; category: AddressCategory };
const parseRanges = (ranges: readonly Range[]): ParsedRange[] =>
  ranges.map(([cidr, category]) => ({ range: ipaddr.parseCIDR(cidr), category }));
const IPV4_TABLE = parseRanges(IPV4_RANGES);
const IPV6_TABLE = parseRanges(IPV6_RANGES);

const IPV4_MAPPED = ipaddr.IPv6.parseCIDR('::ffff:0:0/96');
const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');
const NAT64 = ipaddr.IPv6.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.IPv6.parseCIDR('2002::/16');
const TEREDO = ipaddr.IPv6.parseCIDR('2001::/32');
const GLOBAL_UNICAST = ipaddr.IPv6.parseCIDR('2000::/3');

/**
 * Classifies an IP address (as `net.isIP` accepts it: dotted-quad IPv4 or IPv6 text). IPv6 forms
 * that embed an IPv4 address (IPv4-mapped `::ffff:127.0.0.1`, IPv4-compatible `::127.0.0.1`,
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo `2001::/32`) take the category of the IPv4
 * address they lead to.
 * @throws TypeError when `address` is not an IP address (host names are resolved first)
 * @example
 * ```ts
 * classifyAddress('::ffff:169.254.169.254'); // { category: 'link-local', embeddedIPv4: '169.254.169.254' }
 * ```
 */
export function classifyAddress(address: string): AddressClass {
  if (net.isIP(address) === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return { category: classifyIPv4(parsed as ipaddr.IPv4) };
  const v6 = parsed as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) return { category: classifyIPv4(embedded), embeddedIPv4: embedded.toString() };
  return { category: classifyIPv6(v6) };
}

/**
 * The address a connection to `address` actually reaches, in one spelling: IPv4-mapped and
 * IPv4-compatible IPv6 addresses become their IPv4 address, IPv6 is compressed and lowercase.
 * Used to compare addresses (`::ffff:7f00:1` and `127.0.0.1` are the same socket).
 * @throws TypeError when `address` is not an IP address
 */
export function canonicalAddress(address: string): string {
  if (net.isIP(address) === 0) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (isLoopbackOrUnspecifiedV6(v6)) return v6.toString();
  if (v6.match(IPV4_MAPPED) || v6.match(IPV4_COMPATIBLE)) return lastFourBytes(v6).toString();
  return v6.toString();
}

function classifyIPv4(address: ipaddr.IPv4): AddressCategory {
  return IPV4_TABLE.find(({ range }) => address.match(range))?.category ?? 'public';
}

function classifyIPv6(address: ipaddr.IPv6): AddressCategory {
  const words = address.parts;
  if (words.every((word) => word === 0)) return 'unspecified';
  if (isLoopbackOrUnspecifiedV6(address)) return 'loopback';
  const found = IPV6_TABLE.find(({ range }) => address.match(range));
  if (found) return found.category;
  return address.match(GLOBAL_UNICAST) ? 'public' : 'reserved';
}

/** `::` and `::1` sit inside the IPv4-compatible range but are IPv6's own. */
function isLoopbackOrUnspecifiedV6(address: ipaddr.IPv6): boolean {
  const words = address.parts;
  return words.slice(0, 7).every((word) => word === 0) && (words[7] === 0 || words[7] === 1);
}

function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (isLoopbackOrUnspecifiedV6(address)) return undefined;
  if (address.match(IPV4_MAPPED) || address.match(IPV4_COMPATIBLE) || address.match(NAT64)) return lastFourBytes(address);
  const words = address.parts;
  if (address.match(SIX_TO_FOUR)) return fromWords(words[1]!, words[2]!);
  // Teredo keeps the client's address in the last 32 bits, every bit inverted (RFC 4380 §4).
  if (address.match(TEREDO)) return fromWords(~words[6]! & 0xffff, ~words[7]! & 0xffff);
  return undefined;
}

function lastFourBytes(address: ipaddr.IPv6): ipaddr.IPv4 {
  const words = address.parts;
  return fromWords(words[6]!, words[7]!);
}

function fromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

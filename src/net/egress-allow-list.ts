import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { canonicalAddress } from './classify-address';

/**
 * The operator's `TRELLIS_HTTP_ALLOW`: what steps may reach although it is loopback, private,
 * link-local… (SPEC §7b). Public addresses need no entry; Trellis's own infrastructure stays
 * out of reach whatever this says.
 */
export type EgressAllowList = Readonly<{
  /** The entries as written (trimmed), for messages and the start-up banner. */
  entries: readonly string[];
  /** Host names allowed whatever address they resolve to: lowercase, no trailing dot. */
  hosts: readonly string[];
  /** `*.corp.example` entries as `.corp.example`: any name below it (not the name itself). */
  hostSuffixes: readonly string[];
  /** Address ranges, `address/prefix`; a single address is a /32 or /128. */
  ranges: readonly string[];
}>;

/** An allow-list, or every entry that cannot be read and why. */
export type AllowListParse = { allowList: EgressAllowList; errors: [] } | { allowList: undefined; errors: string[] };

/**
 * Reads a comma-separated allow-list: host names (`localhost`, `api.corp.example`), `*.suffix`
 * wildcards, IP addresses (`127.0.0.1`, `::1`, `[::1]`) and CIDRs (`10.0.0.0/8`, `fd00::/8`).
 * Empty entries are ignored, so an empty text is an empty list.
 * @returns the list, or one message per bad entry (never both)
 * @example
 * ```ts
 * parseEgressAllowList('localhost, 10.1.0.0/16, *.svc.cluster.local');
 * ```
 */
export function parseEgressAllowList(text: string): AllowListParse {
  const entries = text.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  const hosts: string[] = [];
  const hostSuffixes: string[] = [];
  const ranges: string[] = [];
  const errors: string[] = [];
  for (const entry of entries) {
    const read = readEntry(entry);
    if ('error' in read) errors.push(`${JSON.stringify(entry)}: ${read.error}`);
    else if (read.kind === 'range') ranges.push(read.value);
    else if (read.kind === 'suffix') hostSuffixes.push(read.value);
    else hosts.push(read.value);
  }
  if (errors.length > 0) return { allowList: undefined, errors };
  return { allowList: Object.freeze({ entries: Object.freeze(entries), hosts: Object.freeze(hosts), hostSuffixes: Object.freeze(hostSuffixes), ranges: Object.freeze(ranges) }), errors: [] };
}

/** Whether the list names `hostname` (a URL's host name, not an IP address) or a wildcard above it. */
export function allowsHost(allowList: EgressAllowList, hostname: string): boolean {
  const name = normaliseHostName(hostname);
  return allowList.hosts.includes(name) || allowList.hostSuffixes.some((suffix) => name.endsWith(suffix));
}

/** Whether an address falls in one of the list's ranges (an IPv4-mapped IPv6 address counts as its IPv4 address). */
export function allowsAddress(allowList: EgressAllowList, address: string): boolean {
  const parsed = ipaddr.parse(canonicalAddress(address).replace(/%.*$/, ''));
  return allowList.ranges.some((range) => {
    const cidr = ipaddr.parseCIDR(range);
    return cidr[0].kind() === parsed.kind() && parsed.match(cidr);
  });
}

/** Lowercase, without the trailing dot that makes a name absolute (`localhost.` is `localhost`). */
export function normaliseHostName(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

type Entry = { kind: 'range' | 'host' | 'suffix'; value: string } | { error: string };

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function readEntry(entry: string): Entry {
  if (entry.includes('://')) return { error: 'write a host name, an IP address or a CIDR, not a URL' };
  if (entry.includes('/')) return readCidr(entry);
  const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry;
  if (net.isIP(bare) !== 0) {
    const canonical = canonicalAddress(bare);
    return { kind: 'range', value: `${canonical}/${net.isIPv4(canonical) ? 32 : 128}` };
  }
  if (/^\[.*\]:\d+$/.test(entry) || /^[^:]+:\d+$/.test(entry)) {
    return { error: 'entries are hosts, addresses or CIDRs, without a port: an entry allows every port' };
  }
  if (entry.includes(':')) return { error: 'not a valid IPv6 address' };
  const wildcard = entry.startsWith('*.');
  const name = wildcard ? entry.slice(2) : entry;
  if (name.includes('*')) return { error: 'a wildcard may only be a leading "*." (as in *.corp.example)' };
  let hostname: string;
  try {
    hostname = new URL(`http://${name}/`).hostname;
  } catch {
    return { error: 'not a valid host name, IP address or CIDR' };
  }
  // WHATWG URL reads 127.1, 2130706433 and 0x7f.0.0.1 as 127.0.0.1: ask for the plain spelling.
  if (net.isIP(hostname) !== 0) return { error: `write this address as ${hostname}` };
  const normalised = normaliseHostName(hostname);
  if (normalised === '' || !normalised.split('.').every((label) => LABEL.test(label))) {
    return { error: 'not a valid host name, IP address or CIDR' };
  }
  if (wildcard) {
    if (!normalised.includes('.')) return { error: 'a wildcard needs at least two labels after "*." (as in *.corp.example), not a top-level domain' };
    return { kind: 'suffix', value: `.${normalised}` };
  }
  return { kind: 'host', value: normalised };
}

function readCidr(entry: string): Entry {
  const [address = '', prefix = ''] = entry.split('/');
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = net.isIP(bare);
  if (family === 0) return { error: `"${address}" is not an IP address (write IPv4 as four decimal numbers, a.b.c.d)` };
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return { error: `the prefix length must be a number from 0 to ${max}` };
  const canonical = canonicalAddress(bare);
  // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
  const bits = net.isIPv4(canonical) && family === 6 ? Math.max(0, Number(prefix) - 96) : Number(prefix);
  return { kind: 'range', value: `${canonical}/${bits}` };
}

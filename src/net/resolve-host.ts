import dns from 'node:dns/promises';
import net from 'node:net';

/** Resolves a host name to every address a connection to it could use. */
export type HostResolver = (hostname: string) => Promise<string[]>;

/**
 * The system resolver (`getaddrinfo`, as Node's own connections use: `/etc/hosts`, then DNS), every
 * address in the order the system gives them. An IP address resolves to itself.
 * @throws the resolver's error (`ENOTFOUND`…) when the name does not resolve
 */
export const resolveHost: HostResolver = async (hostname) => {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (net.isIP(bare) !== 0) return [bare];
  const found = await dns.lookup(bare, { all: true, verbatim: true });
  return found.map((entry) => entry.address);
};

import os from 'node:os';
import { canonicalAddress, classifyAddress } from './classify-address';
import { resolveHost, type HostResolver } from './resolve-host';

/** A service of Trellis's own (Temporal, its UI, PostgreSQL, the API) that steps may never reach. */
export type InfrastructureEndpoint = {
  /** What it is, for logs (never shown to tenants). */
  name: string;
  /** A host name or IP address; a wildcard (`0.0.0.0`, `::`) or loopback means "this machine". */
  host: string;
  port: number;
};

type Resolved = { addresses: Set<string>; local: boolean; at: number };

/** How long resolved addresses and the machine's interface addresses are trusted. @default 30 s */
const DEFAULT_TTL_MS = 30_000;

/**
 * The endpoints of Trellis's own infrastructure, compared by resolved address and port (SPEC
 * §7b). An endpoint on this machine (its host is loopback, a wildcard or one of this machine's
 * interface addresses) is matched on every local address with its port: a service listening on
 * `0.0.0.0:5432` answers on `127.0.0.1`, `::1`, `0.0.0.0` and the machine's LAN address alike.
 *
 * Host names are resolved when added and again after `ttlMs`, in the background; a name that does
 * not resolve protects nothing until it does.
 */
export class InfrastructureEndpoints {
  private readonly endpoints: Array<{ endpoint: InfrastructureEndpoint; resolved?: Resolved; resolving?: Promise<void> }> = [];
  private interfaces: { addresses: Set<string>; at: number } | undefined;
  private readonly resolve: HostResolver;
  private readonly ttlMs: number;
  private changes = 0;

  constructor(options: { resolve?: HostResolver; ttlMs?: number } = {}) {
    this.resolve = options.resolve ?? resolveHost;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
  }

  /** Adds an endpoint (port 0 means "not listening": ignored). Safe to call at any time. */
  add(endpoint: InfrastructureEndpoint): void {
    if (!Number.isInteger(endpoint.port) || endpoint.port <= 0) return;
    const entry: (typeof this.endpoints)[number] = { endpoint: Object.freeze({ ...endpoint }) };
    this.endpoints.push(entry);
    this.changes++;
    this.refresh(entry);
  }

  /** Grows whenever what this set matches may have changed (an endpoint added, a name resolved anew). */
  get version(): number {
    return this.changes;
  }

  /** Every endpoint added, in order. */
  list(): InfrastructureEndpoint[] {
    return this.endpoints.map(({ endpoint }) => endpoint);
  }

  /**
   * The endpoint `address:port` reaches, if any. Waits for names never resolved yet; refreshes
   * stale ones in the background.
   */
  async match(address: string, port: number): Promise<InfrastructureEndpoint | undefined> {
    const target = canonicalAddress(address);
    const candidates = this.endpoints.filter(({ endpoint }) => endpoint.port === port);
    if (candidates.length === 0) return undefined;
    const targetIsLocal = this.isLocal(target);
    for (const entry of candidates) {
      if (!entry.resolved) {
        this.refresh(entry);
        await entry.resolving;
      } else if (Date.now() - entry.resolved.at > this.ttlMs) this.refresh(entry);
      const resolved = entry.resolved;
      if (!resolved) continue;
      if (resolved.addresses.has(target) || (resolved.local && targetIsLocal)) return entry.endpoint;
    }
    return undefined;
  }

  /** Whether an address is this machine's: loopback, unspecified (`0.0.0.0` connects here) or an interface's. */
  isLocal(address: string): boolean {
    const canonical = canonicalAddress(address);
    const { category } = classifyAddress(canonical);
    if (category === 'loopback' || category === 'unspecified') return true;
    return this.interfaceAddresses().has(canonical.replace(/%.*$/, ''));
  }

  private interfaceAddresses(): Set<string> {
    if (!this.interfaces || Date.now() - this.interfaces.at > this.ttlMs) {
      const addresses = new Set<string>();
      for (const list of Object.values(os.networkInterfaces())) {
        for (const entry of list ?? []) addresses.add(canonicalAddress(entry.address.replace(/%.*$/, '')));
      }
      this.interfaces = { addresses, at: Date.now() };
    }
    return this.interfaces.addresses;
  }

  private refresh(entry: (typeof this.endpoints)[number]): void {
    if (entry.resolving) return;
    const { host } = entry.endpoint;
    entry.resolving = this.resolve(host)
      .then(
        (found) => {
          const addresses = new Set(found.map((address) => canonicalAddress(address)));
          const before = entry.resolved?.addresses;
          if (!before || before.size !== addresses.size || [...addresses].some((address) => !before.has(address))) this.changes++;
          entry.resolved = { addresses, local: [...addresses].some((address) => this.isLocal(address)), at: Date.now() };
        },
        () => {
          // Keep what was known; a name that never resolved protects nothing until it does
          // (asked again after the TTL).
          entry.resolved = { addresses: entry.resolved?.addresses ?? new Set(), local: entry.resolved?.local ?? false, at: Date.now() };
        },
      )
      .finally(() => {
        entry.resolving = undefined;
      });
  }
}

/**
 * The endpoint of a `host:port` address (`127.0.0.1:7233`, `[::1]:7233`, `temporal:7233`).
 * @returns `undefined` when it names no port
 */
export function endpointOfAddress(name: string, address: string): InfrastructureEndpoint | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address.trim());
  if (!match) return undefined;
  return { name, host: match[1] ?? match[2]!, port: Number(match[3]) };
}

/**
 * The endpoint of a URL (`postgres://u:p@db:5432/x`, `http://localhost:8233`), its port defaulting
 * to `defaultPort` (else the scheme's).
 * @returns `undefined` for a URL without a host (a Unix socket) or that does not parse
 */
export function endpointOfUrl(name: string, url: string, defaultPort?: number): InfrastructureEndpoint | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return undefined;
  const schemePort = parsed.protocol === 'https:' ? 443 : parsed.protocol === 'http:' ? 80 : undefined;
  const port = parsed.port ? Number(parsed.port) : (defaultPort ?? schemePort);
  return port === undefined ? undefined : { name, host: decodeURIComponent(host), port };
}

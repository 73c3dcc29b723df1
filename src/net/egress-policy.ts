import net from 'node:net';
import { classifyAddress } from './classify-address';
import { allowsAddress, allowsHost, type EgressAllowList } from './egress-allow-list';
import { EgressDeniedError } from './egress-denied-error';
import { InfrastructureEndpoints } from './infrastructure-endpoints';
import { resolveHost, type HostResolver } from './resolve-host';

/** What an {@link EgressPolicy} is made of. */
export type EgressPolicyOptions = {
  /**
   * `TRELLIS_HTTP_ALLOW`. `undefined` (the variable is unset) means: nothing beyond public
   * addresses, and loopback when {@link loopbackByDefault} says so. Once set, it is the whole
   * list: an empty one allows nothing but public addresses, even in keyless local mode.
   */
  allowList?: EgressAllowList;
  /** Whether loopback is allowed while `allowList` is unset (keyless local mode). @default never */
  loopbackByDefault?: () => Promise<boolean>;
  /** Trellis's own services, never reachable whatever the allow-list says. @default none */
  infrastructure?: InfrastructureEndpoints;
  /** @default the system resolver */
  resolve?: HostResolver;
};

/**
 * Decides which addresses a step may connect to (SPEC §7b): public addresses, plus what the
 * operator allows, never Trellis's own infrastructure. {@link addressesFor} resolves a host and
 * checks every address it could connect to; the client then connects to those addresses only
 * (see `createGuardedFetch`), so a name that resolves differently a moment later (DNS
 * rebinding) changes nothing.
 */
export class EgressPolicy {
  readonly infrastructure: InfrastructureEndpoints;
  private readonly allowList: EgressAllowList | undefined;
  private readonly loopbackByDefault: () => Promise<boolean>;
  private readonly resolve: HostResolver;

  constructor(options: EgressPolicyOptions = {}) {
    this.allowList = options.allowList;
    this.loopbackByDefault = options.loopbackByDefault ?? (async () => false);
    this.infrastructure = options.infrastructure ?? new InfrastructureEndpoints();
    this.resolve = options.resolve ?? resolveHost;
  }

  /**
   * Resolves `host` (a URL's host name or IP address, IPv6 with or without brackets) and checks
   * every address it gave for `port`.
   * @returns the addresses, all allowed, in the resolver's order
   * @throws EgressDeniedError when any of them is refused; the resolver's error when it fails
   */
  async addressesFor(host: string, port: number): Promise<string[]> {
    const hostname = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const addresses = await this.resolve(hostname);
    if (addresses.length === 0) throw Object.assign(new Error(`${hostname} did not resolve to any address`), { code: 'ENOTFOUND' });
    for (const address of addresses) await this.check(hostname, address, port);
    return addresses;
  }

  /**
   * Checks one address `host` resolved to, for `port`.
   * @throws EgressDeniedError
   */
  async check(host: string, address: string, port: number): Promise<void> {
    if (await this.infrastructure.match(address, port)) throw new EgressDeniedError({ reason: 'infrastructure', host, address, port });
    const namedHost = net.isIP(host) === 0;
    if (namedHost && this.allowList && allowsHost(this.allowList, host)) return;
    const { category, embeddedIPv4 } = classifyAddress(address);
    if (category === 'public') return;
    if (this.allowList) {
      if (allowsAddress(this.allowList, address)) return;
    } else if (category === 'loopback' && (await this.loopbackByDefault())) {
      return;
    }
    throw new EgressDeniedError({ reason: 'address', host, address, port, category, embeddedIPv4 });
  }

  /**
   * Changes whenever a decision this policy made may no longer hold: keyless local mode began or
   * ended, or the infrastructure changed. A client that keeps connections open must not reuse
   * one opened under another generation (it was checked under other rules).
   */
  async generation(): Promise<string> {
    const loopback = this.allowList ? false : await this.loopbackByDefault();
    return `${loopback}:${this.infrastructure.version}`;
  }

  /** One line for the start-up banner: what steps may reach besides public addresses. */
  async describe(): Promise<string> {
    if (this.allowList) {
      const entries = this.allowList.entries.length > 0 ? this.allowList.entries.join(', ') : 'nothing';
      return `outbound http: public addresses, and ${entries} (TRELLIS_HTTP_ALLOW)`;
    }
    if (await this.loopbackByDefault()) return 'outbound http: loopback allowed (keyless local mode); set TRELLIS_HTTP_ALLOW to change';
    return 'outbound http: public addresses only; set TRELLIS_HTTP_ALLOW to allow others';
  }
}

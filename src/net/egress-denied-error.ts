import { CATEGORY_DESCRIPTIONS, type AddressCategory } from './classify-address';

/** Why a step may not connect somewhere. */
export const EGRESS_DENIAL_REASONS = ['address', 'infrastructure'] as const;
/** One of {@link EGRESS_DENIAL_REASONS}. */
export type EgressDenialReason = (typeof EGRESS_DENIAL_REASONS)[number];

/** What was refused. */
export type EgressDenial = {
  reason: EgressDenialReason;
  /** The host as the URL names it (a name or an address). */
  host: string;
  /** The address it resolved to that was refused. */
  address: string;
  port: number;
  /** For `reason: 'address'`: what kind of address it is. */
  category?: AddressCategory;
  /** For an IPv6 address that carries an IPv4 one (`::ffff:a9fe:a9fe`): that address. */
  embeddedIPv4?: string;
  /** What was being requested, e.g. `POST http://127.0.0.1:7233/api` (set by the client that knows it). */
  request?: string;
};

/**
 * A step tried to reach an address the egress policy refuses (SPEC §7b). Never retried: the same
 * request would be refused again. Its message names the request, the address and what to do,
 * and nothing else (a step's error reaches the tenant, history and the audit trail): which
 * service of Trellis sits on a port is not said.
 * @example "POST http://127.0.0.1:7233/x resolves to 127.0.0.1:7233, which is part of Trellis's own infrastructure: steps can never reach it"
 */
export class EgressDeniedError extends Error implements EgressDenial {
  override readonly name = 'EgressDenied';
  readonly code = 'EGRESS_DENIED';
  /** Custom steps' errors with `retryable: false` are not retried. */
  readonly retryable = false;
  readonly reason: EgressDenialReason;
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly category?: AddressCategory;
  readonly embeddedIPv4?: string;
  readonly request?: string;

  constructor(denial: EgressDenial) {
    super(`${denial.request ?? denial.host} ${describeDenial(denial)}`);
    this.reason = denial.reason;
    this.host = denial.host;
    this.address = denial.address;
    this.port = denial.port;
    this.category = denial.category;
    this.embeddedIPv4 = denial.embeddedIPv4;
    this.request = denial.request;
  }

  /** The same refusal, its message naming the request (`POST http://host/path`) instead of the host. */
  forRequest(request: string): EgressDeniedError {
    return new EgressDeniedError({ ...this.denial(), request });
  }

  private denial(): EgressDenial {
    const { reason, host, address, port, category, embeddedIPv4 } = this;
    return { reason, host, address, port, category, embeddedIPv4 };
  }
}

function describeDenial({ reason, address, port, category, embeddedIPv4 }: EgressDenial): string {
  if (reason === 'infrastructure') {
    const endpoint = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    return `resolves to ${endpoint}, which is part of Trellis's own infrastructure: steps can never reach it`;
  }
  const shown = embeddedIPv4 ? `${address} (${embeddedIPv4})` : address;
  return `resolves to ${shown}, ${CATEGORY_DESCRIPTIONS[category ?? 'reserved']}; allow it with TRELLIS_HTTP_ALLOW`;
}

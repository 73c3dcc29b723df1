import { CATEGORY_DESCRIPTIONS, type AddressCategory } from './classify-address';

/** Why a step may not connect somewhere. */
export const EGRESS_DENIAL_REASONS = ['address', 'infrastructure'] as const;
/** One of {@link EGRESS_DENIAL_REASONS}. */
export type EgressDenialReason = (typeof EGRESS_DENIAL_REASONS)[number];

/**
 * A step tried to reach an address the egress policy refuses (SPEC §7b). Never retried: the same
 * request would be refused again. Its message names the request, the address and what to do,
 * and nothing else (a step's error reaches the tenant, history and the audit trail): which
 * service of Trellis sits on a port is not said.
 */
export class EgressDeniedError extends Error {
  override readonly name = 'EgressDenied';
  readonly code = 'EGRESS_DENIED';
  /** Custom steps' errors with `retryable: false` are not retried. */
  readonly retryable = false;

  constructor(
    readonly reason: EgressDenialReason,
    /** The host as the URL names it (a name or an address). */
    readonly host: string,
    /** The address it resolved to that was refused. */
    readonly address: string,
    readonly port: number,
    /** For `reason: 'address'`: what kind of address it is. */
    readonly category?: AddressCategory,
    /** What was being requested, e.g. `POST http://127.0.0.1:7233/api` (set by the client that knows it). */
    readonly request?: string,
  ) {
    super(`${request ?? host} ${EgressDeniedError.detail(reason, address, port, category)}`);
  }

  /** The same refusal, its message naming the request (`POST http://host/path`) instead of the host. */
  forRequest(request: string): EgressDeniedError {
    return new EgressDeniedError(this.reason, this.host, this.address, this.port, this.category, request);
  }

  private static detail(reason: EgressDenialReason, address: string, port: number, category: AddressCategory | undefined): string {
    const shown = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
    if (reason === 'infrastructure') return `resolves to ${shown}, which is part of Trellis's own infrastructure: steps can never reach it`;
    return `resolves to ${address}, ${CATEGORY_DESCRIPTIONS[category ?? 'reserved']}; allow it with TRELLIS_HTTP_ALLOW`;
  }
}

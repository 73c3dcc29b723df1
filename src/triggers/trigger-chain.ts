import { createHmac, hkdfSync } from 'node:crypto';
import type { ChainLink } from '../../interpreter/run-types';
import { unstorableReason } from '../../definition/storable-json';
import { BadUserInputError, TrellisError } from '../errors';

export type { ChainLink } from '../../interpreter/run-types';

/** The header that carries a chain: sent by every `http` step, read by every entry point. */
export const CHAIN_HEADER = 'Trellis-Chain';

/** Longest `Trellis-Chain` value read: far more than the chain limit's worth of links. */
export const MAX_CHAIN_HEADER_CHARS = 16 * 1024;

/** Longest event id a chain link (and an event) may carry. */
export const MAX_EVENT_ID_CHARS = 200;

/** The chain limit unless configured otherwise (`TRELLIS_TRIGGER_CHAIN_LIMIT`). */
export const DEFAULT_CHAIN_LIMIT = 8;

const CHAIN_KEY_INFO = 'trellis trigger chain v1';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DEFINITION_ID = /^[A-Za-z0-9_-]{22}$/;

/**
 * A trigger refused to start a run: the chain of runs that led to the request already holds the
 * definition it would run (a loop), or is as deep as the limit. `lastRunId` is the run the chain
 * names last, where the refusal is recorded when it is the tenant's own.
 */
export class ChainRefusedError extends TrellisError {
  constructor(
    message: string,
    readonly lastRunId: string | undefined,
  ) {
    super('CONFLICT', message);
    this.name = 'ChainRefusedError';
  }
}

/**
 * The chain of runs and events that led to a request (SPEC §6, §7: loop prevention). Every `http`
 * step sends `Trellis-Chain: <its run's chain and the run itself>`; every entry point (webhooks,
 * `POST /events`, GraphQL `startRun` and `publishEvent`) reads it, and a run whose definition the
 * chain already holds, or that would make the chain deeper than the limit, is not started.
 *
 * The header is the base64url of the JSON array of links (see {@link ChainLink}). A run's link
 * names its definition by an HMAC of `<tenant>\n<definition>` under a key derived from
 * `TRELLIS_SECRET_KEY`, so the header tells the services steps call neither the tenant nor its
 * definitions, and every process of one deployment computes the same value. Nothing in a chain
 * is trusted beyond loop detection: whoever sends a request may send any chain, and a shorter
 * one than the truth only removes a safety net the sender's own tenant would want.
 */
export class TriggerChains {
  private readonly keys: Buffer[];

  /**
   * @param secretKey `TRELLIS_SECRET_KEY`
   * @param previousKeys earlier keys: links made under them are still recognised
   * @param limit runs a chain may hold; a run that would be one more is refused
   */
  constructor(
    secretKey: Buffer,
    previousKeys: readonly Buffer[] = [],
    readonly limit: number = DEFAULT_CHAIN_LIMIT,
  ) {
    this.keys = [secretKey, ...previousKeys].map((key) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), CHAIN_KEY_INFO, 32)));
  }

  /** The link of a run of `definition` of `tenantId`. */
  linkOf(tenantId: string, definition: string, runId: string): ChainLink {
    return { d: this.definitionIds(tenantId, definition)[0]!, r: runId };
  }

  /** The `Trellis-Chain` value that carries `chain`. */
  encode(chain: readonly ChainLink[]): string {
    return Buffer.from(JSON.stringify(chain)).toString('base64url');
  }

  /**
   * Reads a `Trellis-Chain` header; no header (or an empty one) is the empty chain.
   * @throws BadUserInputError naming what is wrong with it
   */
  parse(header: string | readonly string[] | undefined): ChainLink[] {
    if (header === undefined) return [];
    if (typeof header !== 'string') throw invalid('it was sent more than once');
    const text = header.trim();
    if (text === '') return [];
    if (text.length > MAX_CHAIN_HEADER_CHARS) throw invalid(`it is longer than ${MAX_CHAIN_HEADER_CHARS} characters`);
    if (!/^[A-Za-z0-9_-]+={0,2}$/.test(text)) throw invalid('it is not base64url');
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    } catch {
      throw invalid('it does not decode to JSON');
    }
    if (!Array.isArray(value)) throw invalid('it does not decode to an array of links');
    return value.map((item, index) => readLink(item, index));
  }

  /** How many runs `chain` holds (events do not count). */
  depth(chain: readonly ChainLink[]): number {
    return chain.filter((link) => 'r' in link).length;
  }

  /**
   * Why a run of `definition` (of `tenantId`) may not be started by a request that carries
   * `chain`, or undefined when it may: the chain already holds that definition (a loop), or it
   * already holds {@link limit} runs.
   */
  refusal(chain: readonly ChainLink[], tenantId: string, definition: string): string | undefined {
    const ids = new Set(this.definitionIds(tenantId, definition));
    if (chain.some((link) => 'd' in link && ids.has(link.d))) {
      return `the request comes from a chain of runs that already holds "${definition}" (a loop: a run of "${definition}" led to this request); a chain may hold a definition once`;
    }
    const depth = this.depth(chain);
    if (depth >= this.limit) {
      return `the request comes from a chain of ${depth} runs, the limit is ${this.limit} (TRELLIS_TRIGGER_CHAIN_LIMIT): one more run would make it deeper`;
    }
    return undefined;
  }

  /**
   * @throws ChainRefusedError when {@link refusal} gives a reason
   */
  check(chain: readonly ChainLink[], tenantId: string, definition: string): void {
    const reason = this.refusal(chain, tenantId, definition);
    if (reason !== undefined) throw new ChainRefusedError(`run of "${definition}" refused: ${reason}`, lastRunId(chain));
  }

  /** Whether `link` is a run of `definition` of `tenantId` (under the current or a previous key). */
  isRunOf(link: ChainLink, tenantId: string, definition: string): boolean {
    return 'd' in link && this.definitionIds(tenantId, definition).includes(link.d);
  }

  private definitionIds(tenantId: string, definition: string): string[] {
    return this.keys.map((key) => createHmac('sha256', key).update(`${tenantId}\n${definition}`).digest().subarray(0, 16).toString('base64url'));
  }
}

/** The id of the run `chain` names last (the one whose request this is), if it names one. */
export function lastRunId(chain: readonly ChainLink[]): string | undefined {
  for (let index = chain.length - 1; index >= 0; index -= 1) {
    const link = chain[index]!;
    if ('r' in link) return link.r;
  }
  return undefined;
}

function readLink(item: unknown, index: number): ChainLink {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw invalid(`link ${index} is not an object`);
  const keys = Object.keys(item).sort().join(',');
  const { d, r, e } = item as Record<string, unknown>;
  if (keys === 'd,r') {
    if (typeof d !== 'string' || !DEFINITION_ID.test(d)) throw invalid(`link ${index} has no valid "d" (a definition's 22-character id)`);
    if (typeof r !== 'string' || !UUID.test(r)) throw invalid(`link ${index} has no valid "r" (a run id)`);
    return { d, r };
  }
  if (keys === 'e') {
    if (typeof e !== 'string' || e.length === 0 || e.length > MAX_EVENT_ID_CHARS || unstorableReason(e) !== undefined) {
      throw invalid(`link ${index} has no valid "e" (an event id of 1 to ${MAX_EVENT_ID_CHARS} characters)`);
    }
    return { e };
  }
  throw invalid(`link ${index} must be {"d", "r"} (a run) or {"e"} (an event)`);
}

function invalid(why: string): BadUserInputError {
  return new BadUserInputError(`invalid ${CHAIN_HEADER} header: ${why}`, [{ path: `/${CHAIN_HEADER}`, message: why }]);
}

import { RateLimitedError } from '../errors';

/**
 * What one tenant may set up: each webhook, trigger and schedule is work Trellis does on every
 * delivery, event or fire, so their numbers are bounded. An event of one type starts at most as
 * many runs as there are triggers of that type.
 */
export const TRIGGER_LIMITS = Object.freeze({
  webhooksPerTenant: 1000,
  triggersPerTenant: 1000,
  triggersPerEventType: 100,
  schedulesPerTenant: 1000,
  /** Largest event payload, in bytes of JSON. */
  eventPayloadBytes: 256 * 1024,
  /** Longest `Idempotency-Key` a webhook delivery may carry. */
  idempotencyKeyChars: 255,
});

/** Event types: a letter or digit, then letters, digits and `_ . : / -`, at most 128 characters (`order.created`). */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

/**
 * @throws RateLimitedError when the tenant already has `max` of `what`
 */
export function checkCount(count: number, max: number, what: string, tenantId: string): void {
  if (count < max) return;
  throw new RateLimitedError(`tenant "${tenantId}" has ${count} ${what}, the limit is ${max}: delete some first`, { name: what.replace(/ /g, ''), max, actual: count });
}

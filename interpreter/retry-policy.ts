import { isCancellation, patched, sleep } from '@temporalio/workflow';
import type { RetryPolicy, StepDefaults } from '../definition/definition-schema';
import { parseDuration } from '../definition/duration';
import { toErrorInfo } from './step-failure';
import type { ErrorInfo } from './run-types';

/** Used when neither the step nor the definition's `defaults` set a retry policy. */
export const DEFAULT_RETRY: Required<RetryPolicy> = { maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '1m' };

/** A step's or action's policy: its own fields over `defaults.retry` over {@link DEFAULT_RETRY}. */
export function effectivePolicy(defaults: StepDefaults | undefined, own: RetryPolicy | undefined): Required<RetryPolicy> {
  return { ...DEFAULT_RETRY, ...defaults?.retry, ...own };
}

/** Milliseconds to wait after failed attempt number `attempt` (1-based). */
export function backoff(policy: Required<RetryPolicy>, attempt: number): number {
  const initial = parseDuration(policy.initialInterval) ?? 1000;
  const max = parseDuration(policy.maxInterval) ?? 60_000;
  return Math.min(max, Math.round(initial * policy.backoffCoefficient ** (attempt - 1)));
}

/**
 * Milliseconds to wait after failed attempt number `attempt`: the backoff, or longer when the
 * target said how long to wait (an HTTP `Retry-After`, as the http activity reports it in
 * `details.retryAfterMs`).
 */
export function retryDelay(policy: Required<RetryPolicy>, attempt: number, error: ErrorInfo): number {
  const delay = backoff(policy, attempt);
  const retryAfter = (error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  // Runs that retried before Retry-After was honoured replay their recorded backoff.
  if (typeof retryAfter !== 'number' || retryAfter <= delay || !patched('trellis-retry-after')) return delay;
  return retryAfter;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or `policy.maxAttempts` is
 * spent, waiting the backoff on a durable timer between attempts. For actions whose attempts are
 * not audited one by one (compensations, `map` items); a step's own attempts are audited by the
 * graph runner.
 * @throws the last attempt's error, as {@link ErrorInfo} wrapped by `fail`; cancellation as is.
 */
export async function withPolicy<T>(
  policy: Required<RetryPolicy>,
  attempt: (n: number) => Promise<T>,
  fail: (info: ErrorInfo, attempts: number) => Error,
  /** Names the backoff timers in Temporal's UI (a step id: ids and names only, never data). */
  what?: string,
): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const info = toErrorInfo(err);
      if (info.retryable === false || n >= policy.maxAttempts) throw fail({ ...info, retryable: false }, n);
      await sleep(retryDelay(policy, n, info), what === undefined ? undefined : { summary: `${what}: backoff after attempt ${n}` });
    }
  }
}

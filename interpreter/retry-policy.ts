import type { RetryPolicy, StepDefaults } from '../definition/definition-schema';

export { backoff } from './attempt-decisions';

/** Used when neither the step nor the definition's `defaults` set a retry policy. */
export const DEFAULT_RETRY: Required<RetryPolicy> = { maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '1m' };

/** A step's or action's policy: its own fields over `defaults.retry` over {@link DEFAULT_RETRY}. */
export function effectivePolicy(defaults: StepDefaults | undefined, own: RetryPolicy | undefined): Required<RetryPolicy> {
  return { ...DEFAULT_RETRY, ...defaults?.retry, ...own };
}

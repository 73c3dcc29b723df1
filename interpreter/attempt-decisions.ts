import type { OnErrorMode, RetryPolicy } from '../definition/definition-schema';
import { parseDuration } from '../definition/duration';
import type { StepTraits } from '../definition/step-traits';
import type { RunStatus, StepStatus } from '../definition/step-types';
import type { ErrorInfo } from './run-types';

/**
 * The attempt, retry and audit decisions of the interpreter, as pure functions of what happened:
 * no Temporal API, no clock, no I/O, so they are unit-tested without servers
 * (test/unit/attempt-decisions.test.ts) and every path that runs an action decides alike.
 */

/** How many attempts a step or action gets, and the policy its backoff follows. */
export type AttemptRules = { policy: Required<RetryPolicy>; maxAttempts: number };

/** The rules of a step or action of a type with `traits`: its policy's attempts if the type retries, else one. */
export function attemptRules(traits: Pick<StepTraits, 'retries'>, policy: Required<RetryPolicy>): AttemptRules {
  return { policy, maxAttempts: traits.retries ? policy.maxAttempts : 1 };
}

/**
 * The rules of an action (a `compensate` action, a `map` step's `do`): its own `retry` is
 * honoured whatever its type, so a `workflow` action whose child run failed for a reason worth
 * retrying (terminated, timed out) starts a new child run. A `workflow` STEP runs once
 * ({@link attemptRules}): its `retry` is not one of its options.
 */
export function actionRules(policy: Required<RetryPolicy>): AttemptRules {
  return { policy, maxAttempts: policy.maxAttempts };
}

/** Milliseconds to wait after failed attempt number `attempt` (1-based): exponential, capped at `maxInterval`. */
export function backoff(policy: Required<RetryPolicy>, attempt: number): number {
  const initial = parseDuration(policy.initialInterval) ?? 1000;
  const max = parseDuration(policy.maxInterval) ?? 60_000;
  return Math.min(max, Math.round(initial * policy.backoffCoefficient ** (attempt - 1)));
}

/**
 * Milliseconds to wait after failed attempt number `attempt`: the backoff, or longer when the
 * target said how long to wait (an HTTP `Retry-After`, reported by the http activity in
 * `details.retryAfterMs`) and `honoursRetryAfter()` says this run honours it. It is asked only
 * when the answer matters: the interpreter passes `patched('trellis-retry-after')`, whose marker
 * must be recorded exactly where it was.
 */
export function retryDelay(policy: Required<RetryPolicy>, attempt: number, error: ErrorInfo, honoursRetryAfter: () => boolean): number {
  const delay = backoff(policy, attempt);
  const retryAfter = (error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  if (typeof retryAfter !== 'number' || retryAfter <= delay || !honoursRetryAfter()) return delay;
  return retryAfter;
}

/** What follows a failed attempt: whether it is retried and after how long, and the STEP_FAILED event that says so. */
export type FailedAttempt = {
  retry: boolean;
  /** 0 when not retried. */
  delayMs: number;
  /** The step's status after the attempt: still RUNNING while it retries. */
  stepStatus: Extract<StepStatus, 'RUNNING' | 'FAILED'>;
  /** The attempt's error as audited: `retryable` says whether THIS failure is retried. */
  error: ErrorInfo;
  message: string;
};

/**
 * Decides what follows failed attempt number `attempt` with `error`: a retry when the error is
 * retryable and attempts are left, else the end of the step or action.
 */
export function failedAttempt(rules: AttemptRules, attempt: number, error: ErrorInfo, honoursRetryAfter: () => boolean): FailedAttempt {
  const { policy, maxAttempts } = rules;
  const retry = error.retryable !== false && attempt < maxAttempts;
  const delayMs = retry ? retryDelay(policy, attempt, error, honoursRetryAfter) : 0;
  return {
    retry,
    delayMs,
    stepStatus: retry ? 'RUNNING' : 'FAILED',
    error: { ...error, retryable: retry },
    message: retry
      ? `attempt ${attempt} of ${maxAttempts} failed; retrying in ${delayMs} ms`
      : `attempt ${attempt} of ${maxAttempts} failed for good${error.retryable === false ? ' (not retryable)' : ''}`,
  };
}

/**
 * The error of an attempt whose input could not be resolved: never retried, as expressions are
 * deterministic and would fail the same way again.
 */
export function unresolvableInput(attempt: number, error: ErrorInfo): FailedAttempt {
  const final: ErrorInfo = { ...error, retryable: false };
  return { retry: false, delayMs: 0, stepStatus: 'FAILED', error: final, message: `attempt ${attempt} failed for good: ${final.message}` };
}

/** What a step's guard `if` decides: run it, skip it, or fail it (anything but a boolean is an error of the definition). */
export function guardDecision(guard: unknown): 'run' | 'skip' | 'not-boolean' {
  if (typeof guard !== 'boolean') return 'not-boolean';
  return guard ? 'run' : 'skip';
}

/** Whether a step that failed for good stops its graph (`onError: "fail"`, the default) or lets it go on. */
export function failureStopsGraph(onError: OnErrorMode | undefined): boolean {
  return (onError ?? 'fail') === 'fail';
}

/** Why a running step was cancelled, as its STEP_FAILED (CANCELLED) event says. */
export function cancellationReason(failedStepId: string | undefined, stopReason: string | undefined): string {
  return failedStepId !== undefined ? `cancelled because step "${failedStepId}" failed` : (stopReason ?? 'cancelled with the run');
}

/** How a roll-back ended: nothing to compensate, everything compensated, or not everything. */
export type RollBack = 'nothing' | 'compensated' | 'incomplete';

/** Whether a run that is ending must compensate first: some succeeded step has a `compensate` action. */
export function mustCompensate(compensationOrder: readonly string[]): boolean {
  return compensationOrder.length > 0;
}

/** The roll-back's outcome from whether each compensation succeeded, in the order they ran. */
export function rollBackOutcome(compensated: readonly boolean[]): RollBack {
  if (compensated.length === 0) return 'nothing';
  return compensated.every(Boolean) ? 'compensated' : 'incomplete';
}

/** The status of a run whose step failed for good, once rolled back: COMPENSATED only when every compensation succeeded. */
export function failedRunStatus(rollBack: RollBack): Extract<RunStatus, 'FAILED' | 'COMPENSATED'> {
  return rollBack === 'compensated' ? 'COMPENSATED' : 'FAILED';
}

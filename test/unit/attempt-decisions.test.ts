import type { RetryPolicy } from '../../definition/definition-schema';
import { CUSTOM_STEP_TRAITS, STEP_TRAITS } from '../../definition/step-traits';
import {
  actionRules,
  attemptRules,
  backoff,
  cancellationReason,
  failedAttempt,
  failedRunStatus,
  failureStopsGraph,
  guardDecision,
  mustCompensate,
  retryDelay,
  rollBackOutcome,
  unresolvableInput,
} from '../../interpreter/attempt-decisions';
import { DEFAULT_RETRY } from '../../interpreter/retry-policy';

const policy: Required<RetryPolicy> = { maxAttempts: 3, initialInterval: '1s', backoffCoefficient: 2, maxInterval: '3s' };
const retryable = { message: 'HTTP 503', type: 'HttpError', retryable: true };
const never = (): boolean => {
  throw new Error('Retry-After was asked about when it could not matter');
};

describe('attemptRules', () => {
  it('gives types that retry their policy\'s attempts and every other type one attempt', () => {
    expect(attemptRules(STEP_TRAITS.http, policy).maxAttempts).toBe(3);
    expect(attemptRules(CUSTOM_STEP_TRAITS, policy).maxAttempts).toBe(3);
    for (const type of ['transform', 'condition', 'delay', 'workflow', 'wait', 'map'] as const) {
      expect(attemptRules(STEP_TRAITS[type], policy)).toEqual({ policy, maxAttempts: 1 });
    }
  });
});

describe('actionRules', () => {
  it('gives a compensation or map action its own policy\'s attempts whatever its type', () => {
    expect(actionRules(policy)).toEqual({ policy, maxAttempts: 3 });
    expect(failedAttempt(actionRules(policy), 1, retryable, never).retry).toBe(true);
  });
});

describe('backoff and retryDelay', () => {
  it('doubles the wait after each attempt up to maxInterval', () => {
    expect([1, 2, 3, 4].map((attempt) => backoff(policy, attempt))).toEqual([1000, 2000, 3000, 3000]);
    expect(backoff(DEFAULT_RETRY, 1)).toBe(1000);
  });

  it('waits as long as Retry-After asks when that is longer than the backoff and the run honours it', () => {
    const throttled = { ...retryable, details: { retryAfterMs: 5000 } };
    expect(retryDelay(policy, 1, throttled, () => true)).toBe(5000);
    expect(retryDelay(policy, 1, throttled, () => false)).toBe(1000);
  });

  it('does not ask whether Retry-After is honoured when it is absent or shorter than the backoff', () => {
    expect(retryDelay(policy, 2, retryable, never)).toBe(2000);
    expect(retryDelay(policy, 2, { ...retryable, details: { retryAfterMs: 10 } }, never)).toBe(2000);
  });
});

describe('failedAttempt', () => {
  const rules = { policy, maxAttempts: 3 };

  it('retries a retryable failure while attempts are left, with the step still RUNNING', () => {
    expect(failedAttempt(rules, 1, retryable, never)).toEqual({
      retry: true,
      delayMs: 1000,
      stepStatus: 'RUNNING',
      error: retryable,
      message: 'attempt 1 of 3 failed; retrying in 1000 ms',
    });
  });

  it('fails for good on the last attempt and says the error is no longer retried', () => {
    expect(failedAttempt(rules, 3, retryable, never)).toEqual({
      retry: false,
      delayMs: 0,
      stepStatus: 'FAILED',
      error: { ...retryable, retryable: false },
      message: 'attempt 3 of 3 failed for good',
    });
  });

  it('fails for good at once on a non-retryable error and says why', () => {
    const decision = failedAttempt(rules, 1, { message: 'HTTP 400', retryable: false }, never);
    expect(decision.retry).toBe(false);
    expect(decision.message).toBe('attempt 1 of 3 failed for good (not retryable)');
  });

  it('retries an error that does not say whether it is retryable', () => {
    expect(failedAttempt(rules, 2, { message: 'socket hang up' }, never).retry).toBe(true);
  });

  it('never retries a step type that runs once, whatever its error', () => {
    const decision = failedAttempt(attemptRules(STEP_TRAITS.workflow, policy), 1, retryable, never);
    expect(decision).toMatchObject({ retry: false, stepStatus: 'FAILED', message: 'attempt 1 of 1 failed for good' });
  });
});

describe('unresolvableInput', () => {
  it('fails the attempt for good: an expression would fail the same way again', () => {
    expect(unresolvableInput(2, { message: 'boom', type: 'ExpressionError', retryable: true })).toEqual({
      retry: false,
      delayMs: 0,
      stepStatus: 'FAILED',
      error: { message: 'boom', type: 'ExpressionError', retryable: false },
      message: 'attempt 2 failed for good: boom',
    });
  });
});

describe('guardDecision', () => {
  it('runs the step on true, skips it on false and fails it on anything else', () => {
    expect(guardDecision(true)).toBe('run');
    expect(guardDecision(false)).toBe('skip');
    for (const value of [null, undefined, 0, 'false', {}, []]) expect(guardDecision(value)).toBe('not-boolean');
  });
});

describe('failureStopsGraph', () => {
  it('stops the graph unless the step says onError "continue"', () => {
    expect(failureStopsGraph(undefined)).toBe(true);
    expect(failureStopsGraph('fail')).toBe(true);
    expect(failureStopsGraph('continue')).toBe(false);
  });
});

describe('cancellationReason', () => {
  it('names the step whose failure cancelled the step, else why the graph stopped', () => {
    expect(cancellationReason('charge', 'cancelled: timeout')).toBe('cancelled because step "charge" failed');
    expect(cancellationReason(undefined, 'cancelled: the run exceeded its timeout of 2s')).toBe('cancelled: the run exceeded its timeout of 2s');
    expect(cancellationReason(undefined, undefined)).toBe('cancelled with the run');
  });
});

describe('roll-back decisions', () => {
  it('compensates only when some succeeded step has a compensation', () => {
    expect(mustCompensate([])).toBe(false);
    expect(mustCompensate(['charge'])).toBe(true);
  });

  it('ends COMPENSATED only when every compensation succeeded', () => {
    expect(rollBackOutcome([])).toBe('nothing');
    expect(rollBackOutcome([true, true])).toBe('compensated');
    expect(rollBackOutcome([true, false, true])).toBe('incomplete');
    expect(failedRunStatus('compensated')).toBe('COMPENSATED');
    expect(failedRunStatus('incomplete')).toBe('FAILED');
    expect(failedRunStatus('nothing')).toBe('FAILED');
  });
});

import { isCancellation, patched, sleep } from '@temporalio/workflow';
import type { CustomStepCall } from '../activities/custom-step.activity';
import type { CodeStepCall } from './code-step';
import type { HttpRequest } from '../activities/http.activity';
import { failedAttempt, type AttemptRules, type FailedAttempt } from './attempt-decisions';
import type { ErrorInfo } from './run-types';
import type { StepActions } from './step-actions';
import { toErrorInfo } from './step-failure';

/**
 * One action beyond the workflow itself, resolved and ready to run: what {@link StepActions.run}
 * performs for a step, a compensation or a `map` item alike.
 */
export type ActionCall =
  | {
      type: 'http';
      request: HttpRequest;
      /** The step's or action's own `timeout`; the definition's `defaults.timeout`, then 30 s, when absent. */
      timeout: string | undefined;
      /** Names it in Temporal's UI (ids and names only, never data): `charge`, `charge (compensate)`, `items[3]`. */
      what: string;
      /** The step's or action's `"local": true`: run as a local activity (see `localHttpActivity`). */
      local?: boolean;
    }
  | {
      type: 'workflow';
      reference: { definition: string; version?: number | 'latest' };
      input: unknown;
      /** The step (or `step[index]`, `step:compensate`) starting the child run, recorded in its trigger. */
      what: string;
    }
  | { type: 'custom'; call: Omit<CustomStepCall, 'tenantId' | 'runId'>; timeout: string | undefined; what: string }
  | { type: 'code'; call: Omit<CodeStepCall, 'tenantId' | 'runId'>; timeout: string | undefined; what: string };

/** How the attempts of one step, compensation or `map` item are run and reported. */
export type AttemptOptions = {
  rules: AttemptRules;
  /** Names the backoff timers in Temporal's UI (ids and names only, never data). */
  what: string;
  /**
   * Audits a failed attempt before anything else happens (a step's STEP_FAILED); compensations
   * and `map` items are audited as a whole by their caller, not per attempt.
   */
  failed?: (decision: FailedAttempt, attempt: number) => Promise<void>;
  /** The error that ends the attempts, from the last attempt's error and how many ran. */
  fail: (info: ErrorInfo, attempts: number) => Error;
};

/**
 * Thrown by an attempt that has already settled its step for good and reported it (its input
 * could not be resolved): {@link runAttempts} rethrows `failure` as it is, deciding nothing.
 */
export class SettledFailure extends Error {
  constructor(readonly failure: Error) {
    super(failure.message);
  }
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or `rules.maxAttempts` are
 * spent, waiting the backoff on a durable timer between attempts. The one retry loop of the
 * interpreter: every step, compensation and `map` item goes through it, so they follow the same
 * rules (see {@link failedAttempt}).
 * @throws `options.fail(...)` of the last attempt's error; a cancellation as it is.
 */
export async function runAttempts<T>(options: AttemptOptions, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (isCancellation(err)) throw err;
      if (err instanceof SettledFailure) throw err.failure;
      const info = toErrorInfo(err);
      // Runs that retried before Retry-After was honoured replay their recorded backoff.
      const decision = failedAttempt(options.rules, n, info, () => patched('trellis-retry-after'));
      if (options.failed) await options.failed(decision, n);
      if (!decision.retry) throw options.fail(info, n);
      await sleep(decision.delayMs, { summary: `${options.what}: backoff after attempt ${n}` });
    }
  }
}

/**
 * Runs an action by {@link runAttempts}: each attempt is one {@link StepActions.run} of `call`.
 * What compensations and `map` items run; a step's attempts also resolve and audit its input,
 * so the graph runner calls {@link runAttempts} with `StepActions.run` inside its attempts.
 */
export function runAction(actions: Pick<StepActions, 'run'>, call: ActionCall, options: AttemptOptions): Promise<unknown> {
  return runAttempts(options, () => actions.run(call));
}

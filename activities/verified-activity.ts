import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { UnverifiedRunError, type ExecutionRef, type RunVerifier, type VerifiedRun } from '../src/runs/run-verifier';

/** `type` of the non-retryable failure an activity of a run Trellis did not start fails with. */
export const UNVERIFIED_RUN_FAILURE = 'UnverifiedRun';

/**
 * The Temporal execution the current activity runs for, from its own context: workflow input can
 * name any tenant or run, but not change which execution scheduled the activity.
 * @throws a non-retryable failure for an activity no workflow scheduled
 */
export function currentExecution(): ExecutionRef {
  const info = Context.current().info;
  if (!info.workflowExecution || !info.workflowType) {
    throw ApplicationFailure.nonRetryable(`activity ${info.activityType} was not scheduled by a workflow: Trellis acts only for its own runs`, UNVERIFIED_RUN_FAILURE);
  }
  return { ...info.workflowExecution, workflowType: info.workflowType };
}

/**
 * Turns a refusal of the {@link RunVerifier} into a non-retryable failure (retrying cannot make a
 * forged run genuine); database and Temporal errors stay retryable.
 */
export async function verifyOrFail<T>(verification: () => Promise<T>): Promise<T> {
  try {
    return await verification();
  } catch (err) {
    if (err instanceof UnverifiedRunError) throw ApplicationFailure.nonRetryable(`refused: ${err.message}`, UNVERIFIED_RUN_FAILURE);
    throw err;
  }
}

/**
 * Wraps an activity that acts for a tenant: it runs only once its execution is verified to be a
 * run Trellis started, of the tenant (and run) its input names; it gets that run as it is recorded.
 */
export function verifiedActivity<I, R>(
  verifier: RunVerifier,
  activity: (input: I, run: VerifiedRun) => Promise<R>,
  claimOf: (input: I) => { tenantId: string | undefined; runId?: string },
) {
  return async (input: I): Promise<R> => {
    const execution = currentExecution();
    const run = await verifyOrFail(() => verifier.verify(execution, claimOf(input)));
    return activity(input, run);
  };
}

import type { RunRow } from '../db/database';
import { OUTSIDE_END_TYPES } from './run-reconciler';

/**
 * How a run that is not RUNNING stands, as the predicate of a sentence about it ("run 3f0c… was
 * terminated in Temporal at …"), for the answers of control mutations that cannot act on it.
 * @param finalMessage the message of the run's last event (RUN_CANCELLED says who cancelled it and why)
 */
export function describeRunState(run: Pick<RunRow, 'status' | 'finished_at' | 'error'>, finalMessage?: string): string {
  const at = run.finished_at ? ` at ${run.finished_at.toISOString()}` : '';
  const error = (run.error ?? undefined) as { message?: string; type?: string; details?: { identity?: string | null; reason?: string | null } } | undefined;
  switch (run.status) {
    case 'COMPENSATING':
      return 'is rolling back (COMPENSATING) after a failure, a cancellation or its timeout';
    case 'COMPLETED':
      return `completed${at}`;
    case 'FAILED':
      return `failed${at}${error?.message ? ` (${error.message})` : ''}`;
    case 'COMPENSATED':
      return `failed and was rolled back (COMPENSATED)${at}${error?.message ? ` (${error.message})` : ''}`;
    case 'TIMED_OUT':
      return `timed out${at} (${error?.message ?? 'its definition\'s timeout expired'})`;
    case 'CANCELLED':
      return `was already cancelled${at}${finalMessage ? ` (${finalMessage})` : ''}`;
    case 'TERMINATED': {
      if (error?.type === OUTSIDE_END_TYPES.timedOut) return `ended outside Trellis${at}: its workflow execution timed out in Temporal`;
      if (error?.type === OUTSIDE_END_TYPES.deleted) return `ended outside Trellis${at}: its workflow was deleted from Temporal`;
      const by = error?.details?.identity ? `by ${JSON.stringify(error.details.identity)}` : '';
      const reason = error?.details?.reason ? `${by ? ': ' : ''}${error.details.reason}` : '';
      return `was terminated in Temporal${at}${by || reason ? ` (${by}${reason})` : ''}`;
    }
    default:
      return `is ${run.status}`;
  }
}

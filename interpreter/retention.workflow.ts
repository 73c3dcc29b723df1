import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { deleteExpiredRows } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  // PostgreSQL away or a deadlock: try again, for a while; the next scheduled run goes on anyway.
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Batches one execution runs before it continues as new, keeping its history short. */
const BATCHES_PER_EXECUTION = 1_000;

/** Rows the retention job deleted, by table; `batches` counts the statements that deleted some. */
export type RetentionSummary = { batches: number; deleted: Record<string, number> };

/**
 * The retention job, started by the Temporal Schedule Trellis registers (see
 * `registerRetentionSchedule`): deletes finished runs older than the worker's
 * `TRELLIS_RETENTION_DAYS`, one bounded batch per activity, until a batch finds nothing. Each
 * batch is an activity of its own, so the Temporal UI shows how the job went.
 */
export async function trellisRetention(carried?: RetentionSummary): Promise<RetentionSummary> {
  const summary: RetentionSummary = carried ?? { batches: 0, deleted: {} };
  for (let batches = 0; batches < BATCHES_PER_EXECUTION; batches++) {
    const batch = await deleteExpiredRows();
    if (batch.deleted === 0) return summary;
    summary.batches += 1;
    summary.deleted[batch.table] = (summary.deleted[batch.table] ?? 0) + batch.deleted;
  }
  return continueAsNew<typeof trellisRetention>(summary);
}

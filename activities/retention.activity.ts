import type { Kysely } from 'kysely';
import type { Database } from '../src/db/database';
import { deleteExpiredBatch, type RetentionBatch } from '../src/db/retention.repository';

/** What the retention activity acts on: the worker's own configuration, never workflow input. */
export type RetentionSettings = { days: number; batchSize: number };

const DAY_MS = 86_400_000;

/**
 * The retention job's one activity: deletes one bounded batch of rows of runs that finished more
 * than `settings.days` days ago (see {@link deleteExpiredBatch}). It takes no input: anyone who
 * reaches Temporal can start the retention workflow, so what is deleted (the cutoff, the batch
 * size) comes from the worker's configuration alone, and with retention off nothing is.
 */
export function createRetentionActivities(db: Kysely<Database>, settings: RetentionSettings) {
  return {
    async deleteExpiredRows(): Promise<RetentionBatch> {
      if (settings.days <= 0) return { table: 'runs', deleted: 0 };
      return deleteExpiredBatch(db, new Date(Date.now() - settings.days * DAY_MS), settings.batchSize);
    },
  };
}

import type { Kysely } from 'kysely';

/**
 * What `retryRun` and `testRun` need on a run: the sub-workflow versions it pinned (a retry pins
 * the same ones), the plan a retry follows, and the unsaved definition a test run runs.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('runs')
    .addColumn('pinned_versions', 'jsonb') // {"send-invoice@latest": 3}; null for runs started before
    .addColumn('retry_plan', 'jsonb') // {fromStep, reused, rerun} of a run started by retryRun
    .addColumn('spec', 'json') // the definition of a testRun (version 0), which is not saved
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('pinned_versions').dropColumn('retry_plan').dropColumn('spec').execute();
}

import { type Kysely } from 'kysely';

/**
 * Resets in Temporal: `runs.reset_count` is how many resets the run has taken (see
 * run-resets.ts). Audit events written by the execution a reset started carry it in their
 * `event_key`, so the steps a reset runs again are recorded again instead of being taken for
 * repeats of the first time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('reset_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').dropColumn('reset_count').execute();
}

import type { Kysely } from 'kysely';

/**
 * A snapshot of each step's resolved input (its latest attempt's, capped like output snapshots),
 * so dashboards can show what a step was called with. The audit trail keeps only its hash.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // json, not jsonb: jsonb refuses the escape \u0000, which strings in an input may hold, and a
  // refused write would hold the run back (the audit sink retries without limit).
  await db.schema.alterTable('run_steps').addColumn('input', 'json').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('run_steps').dropColumn('input').execute();
}

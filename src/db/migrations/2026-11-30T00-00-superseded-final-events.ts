import type { Kysely } from 'kysely';

/**
 * Also: `run_steps.items_total` / `items_done`, a map step's progress.
 *
 * A final event (RUN_COMPLETED, RUN_FAILED, RUN_CANCELLED) written by a workflow task that was
 * then aborted and redone is kept, flagged `superseded`: the redone task's own events follow it,
 * and its own final event ends the trail (see recordAuditEvents).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('superseded', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
  // A map step's progress: items in all and finished, recorded per batch workflow (not per item).
  await db.schema.alterTable('run_steps').addColumn('items_total', 'integer').addColumn('items_done', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('run_steps').dropColumn('items_total').dropColumn('items_done').execute();
  await db.schema.alterTable('audit_events').dropColumn('superseded').execute();
}

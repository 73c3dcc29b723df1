import type { Kysely } from 'kysely';

/**
 * A final event (RUN_COMPLETED, RUN_FAILED, RUN_CANCELLED) written by a workflow task that was
 * then aborted and redone is kept, flagged `superseded`: the redone task's own events follow it,
 * and its own final event ends the trail (see recordAuditEvents).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('superseded', 'boolean', (c) => c.notNull().defaultTo(false)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').dropColumn('superseded').execute();
}

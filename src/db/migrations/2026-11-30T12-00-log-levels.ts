import { sql, type Kysely } from 'kysely';
import { LOG_LEVELS } from '../../../definition/log-levels';

/**
 * Leveled run logs: a LOG audit event carries its line's `level` (null on every other event).
 * `audit_events_logs_idx` serves `Run.logs` and the level filter of `runEvents`: a run's lines of
 * some levels, in seq order, without reading its other events. Row-level security is unchanged:
 * the policy on `audit_events` covers the new column.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('audit_events')
    .addColumn('level', 'text', (column) => column.check(sql`level in (${sql.join(LOG_LEVELS.map((level) => sql.lit(level)))})`))
    .execute();
  await sql`create index audit_events_logs_idx on audit_events (run_id, level, seq) where level is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index audit_events_logs_idx`.execute(db);
  await db.schema.alterTable('audit_events').dropColumn('level').execute();
}

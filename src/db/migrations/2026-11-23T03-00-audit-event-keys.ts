import { sql, type Kysely } from 'kysely';

/**
 * Audit events are de-duplicated by what they record (`event_key`, see eventKey in
 * audit.repository.ts: type, step, attempt, and whether a STEP_FAILED is a cancellation), and their `seq` is assigned by the database. A worker that dies in the middle of a
 * workflow task has already written some of that task's events; the worker that redoes the task
 * may see more history and emit the same events in another order. Keyed by `seq`, a redone event
 * could land on a number an aborted one had taken; keyed by what it records, it is written once.
 * Existing rows get their key; repeats of a key (written by that failure mode) keep their seq as
 * a suffix, so the unique index holds.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('event_key', 'text').execute();
  await sql`
    update audit_events a set event_key = k.key || case when k.n > 1 then '#' || a.seq else '' end
    from (
      select run_id, seq,
             type || ':' || coalesce(step_id, '') || ':' || coalesce(attempt::text, '') || ':' || variant as key,
             row_number() over (partition by run_id, type, step_id, attempt, variant order by seq) as n
      from (
        select *, case when type = 'STEP_FAILED' and error->>'type' = 'Cancelled' then 'cancelled' else '' end as variant
        from audit_events
      ) e
    ) k
    where a.run_id = k.run_id and a.seq = k.seq`.execute(db);
  await db.schema.alterTable('audit_events').alterColumn('event_key', (c) => c.setNotNull()).execute();
  await db.schema.createIndex('audit_events_event_key_uq').unique().on('audit_events').columns(['run_id', 'event_key']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_event_key_uq').execute();
  await db.schema.alterTable('audit_events').dropColumn('event_key').execute();
}
